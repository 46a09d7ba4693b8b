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
# The hooks (checkpoint every 250 iterations, at each validation, early
# stopping) are in ../default_runtime.py.
