default_scope = 'mmseg'
custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# ClearML: one task per run (project below, task = work dir name); offline
# when no server is configured. `tools/train.py --no-clearml` drops it.
vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='PetsClearMLVisBackend', project='pets-segmentation'),
]
visualizer = dict(
    type='PetsVisualizer', vis_backends=vis_backends, name='visualizer',
    alpha=0.5)
# Learning curves: train mJaccard/mDice from the training batches, and at the
# end of training curves.png + run_summary.json in the work dir.
custom_hooks = [
    dict(type='TrainMetricsHook'),
    dict(type='CurvesHook'),
]
log_processor = dict(by_epoch=False, log_with_hierarchy=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42, deterministic=False)
# `tools/test.py --tta` wraps the model in this.
tta_model = dict(type='FlipTTA')
