# UNet decoder (ResNetUNetHead) on a ResNet-34 encoder
# (ImageNet: torchvision://resnet34).
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    '../_base_/datasets/pets.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pets_4k.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    # mmseg's EncoderDecoder (fg_vote=None), with class ids taken from
    # class-innermost CPU logits (the same ids, faster)
    type='VotingEncoderDecoder',
    # mmseg's SegDataPreProcessor, training batches normalized at once
    data_preprocessor=dict(type='FastSegDataPreProcessor', size=(256, 256)),
    pretrained=None,
    backbone=dict(
        type='ResNet', depth=34, norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet34')),
    neck=None,
    decode_head=dict(
        _delete_=True, type='ResNetUNetHead', in_channels=(64, 128, 256, 512),
        decoder_channels=(256, 128, 64, 32, 16), num_classes=3,
        dropout_ratio=0.0, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CEDiceLoss')))
