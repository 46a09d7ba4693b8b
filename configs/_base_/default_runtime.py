default_scope = 'mmseg'
custom_imports = dict(imports=['custom_modules.plugins'], allow_failed_imports=False)
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
# Every hook the project's runs need is a named entry of `default_hooks`: a
# dict, so a child config changes or adds one key and keeps the others
# (a child's `custom_hooks` list would replace the base's). Any Runner built
# from these configs has them: tools/train.py, mmseg's tools/train.py,
# `mim train mmseg`, Runner.from_cfg(cfg).train(). `custom_hooks` is left
# for your own hooks.
default_hooks = dict(
    # Each step reuses the memory the last one freed instead of faulting
    # fresh pages in (glibc malloc; docs/benchmarks.md, page faults).
    retain_freed_memory=dict(type='RetainFreedMemoryHook'),
    timer=dict(type='IterTimerHook'),
    # every 10 iterations, and at least every 15 s (first line at iteration 1)
    logger=dict(type='ProgressLoggerHook', interval=10, max_seconds=15,
                log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # at each validation of schedules/pets_4k.py (every 250 iterations);
    # written atomically (temporary file, then rename: a run killed while
    # saving leaves the previous file) by the file backend 'atomic_local'
    # that custom_modules.plugins registers; a remote out_dir needs that
    # store's backend_args instead
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250,
                    max_keep_ckpts=2, save_best='mJaccard', rule='greater',
                    backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=True, interval=10),
    # Learning curves: train mJaccard/mDice from the batches of every 4th
    # iteration, and at the end of training curves.png + run_summary.json in
    # the work dir.
    train_metrics=dict(type='TrainMetricsHook', sample_every=4),
    curves=dict(type='CurvesHook'),
    # A NaN/inf loss stops the run before anything of that iteration is
    # saved; Ctrl-C/SIGTERM save a checkpoint and stop (resume with --resume).
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # Early stopping on val mJaccard, off by default. `patience` counts
    # validations without an improvement of at least `min_delta` (mJaccard
    # points). Enable: --cfg-options default_hooks.early_stopping.enable=True
    #   default_hooks.early_stopping.patience=4
    early_stopping=dict(type='OptionalEarlyStoppingHook', enable=False,
                        monitor='mJaccard', rule='greater', patience=5,
                        min_delta=0.1),
    interrupt=dict(type='InterruptHook'),
    # A resumed run never deletes or resumes from files outside its work
    # dir: what it needs from another folder is copied in (one log line).
    run_files_in_work_dir=dict(type='RunFilesInWorkDirHook'),
    # Test runs write test_results.json and per_image.csv to the work dir;
    # tools/test.py maps --out, --show-dir, --worst and --tta ('_tta' file
    # names) onto this entry.
    test_outputs=dict(type='TestOutputsHook'),
    # The val confusion matrix (pixels, % of each true class) on the
    # ClearML task at every validation.
    confusion_matrix=dict(type='ConfusionMatrixHook'),
)
custom_hooks = []
log_processor = dict(by_epoch=False, log_with_hierarchy=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42, deterministic=False)
# `tools/test.py --tta` wraps the model in this.
tta_model = dict(type='FlipTTA')
