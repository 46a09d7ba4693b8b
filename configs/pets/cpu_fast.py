# CPU recipe: the ResNet-18 UNet trained at 192x192 for ~30 minutes on two
# CPU cores from scratch. Measured choices and results: docs/benchmarks.md.
# With internet, start from ImageNet weights instead: drop
# `--pretrained none` (the backbone keeps torchvision://resnet18).
#   python tools/train.py configs/pets/cpu_fast.py --pretrained none
_base_ = ['./resnet18_unet.py']
crop_size = (192, 192)
model = dict(
    # every photo shows one kind of pet: its foreground takes one class
    type='VotingEncoderDecoder', fg_vote=dict(mode='image'),
    data_preprocessor=dict(size=crop_size))

# Photos are decoded once per worker and kept in memory; they are shrunk to
# 192 before the costly colour jitter.
train_pipeline = [
    dict(type='CachedLoadImageFromFile'),
    dict(type='CachedLoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='FastRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FastPhotoMetricDistortion'),
    dict(type='FastPackSegInputs'),
]
# Validation (every val_interval while training) reads the same photos
# again and again: cached. A test reads each photo once, and keeps mmseg's
# loader names, which mmseg.apis.init_model/inference_model and
# MMSegInferencer look up by name (to drop the mask loading and to feed
# arrays): the same arrays, either way.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),  # full-size masks: scored at 256
    dict(type='FastPackSegInputs'),
]
val_pipeline = [
    dict(type='CachedLoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='CachedLoadAnnotations'),
    dict(type='FastPackSegInputs'),
]
# One worker at most: without a GPU every worker takes its CPU time from
# the training step. tools/train.py and tools/test.py cap the workers at
# the CPUs torch's threads leave free, so on 2 cores the images load in
# the training process (docs/benchmarks.md, data-loader workers).
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))

# Convolutions in channels_last (ChannelsLastHook, in default_hooks below)
# and forward passes in bfloat16 where the CPU has it natively
# (AVX512-BF16 / AMX; float32 elsewhere, weights and optimizer state
# always): 2.1x together here (docs/benchmarks.md).
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16',
                     optimizer=dict(lr=2e-3, weight_decay=1e-2))

# One-cycle AdamW: 3100 iterations of batch 8 took 30 min on 2 AVX512-BF16
# cores (1.8x that in float32); benchmarks/budget.py fits the schedule to
# any budget on your machine.
param_scheduler = [
    dict(type='OneCycleLR', eta_max=2e-3, total_steps=3100, pct_start=0.1,
         by_epoch=False, begin=0, end=3100),
]
train_cfg = dict(max_iters=3100, val_interval=620)
default_hooks = dict(checkpoint=dict(interval=1550),
                     channels_last=dict(type='ChannelsLastHook'))
