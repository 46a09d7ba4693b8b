# DeepLabV3+ with a ResNet-50-D8 encoder (ImageNet: open-mmlab://resnet50_v1c).
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
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
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=3, norm_cfg=norm_cfg,
                     loss_decode=dict(_delete_=True, type='CEDiceLoss')),
    auxiliary_head=dict(num_classes=3, norm_cfg=norm_cfg,
                        loss_decode=dict(_delete_=True, type='CEDiceLoss',
                                         loss_weight=0.4)))
