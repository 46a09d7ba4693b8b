# AdamW with linear warm-up then poly decay, 4000 iterations of batch 8
# (~160 epochs of the 198 training images); validation every 250.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=200),
    dict(type='PolyLR', eta_min=1e-6, power=0.9, by_epoch=False, begin=200,
         end=4000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4000, val_interval=250)
# ValLossLoop: ValLoop that also logs the training loss on the val images
# (val/loss beside train/loss).
val_cfg = dict(type='ValLossLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # every 10 iterations, and at least every 15 s (first line at iteration 1)
    logger=dict(type='ProgressLoggerHook', interval=10, max_seconds=15,
                log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250,
                    max_keep_ckpts=2, save_best='mJaccard', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=True, interval=10))
# Early stopping on val mJaccard, off by default. `patience` counts
# validations without an improvement of at least `min_delta` (mJaccard
# points); tools/train.py turns this into mmengine's EarlyStoppingHook.
# Enable: --cfg-options early_stopping.enable=True early_stopping.patience=4
early_stopping = dict(enable=False, monitor='mJaccard', rule='greater',
                      patience=5, min_delta=0.1)
