# mmseg's UNet S5-D16 with an FCN head, trained from scratch (no ImageNet
# weights exist for it).
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
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
                                         loss_weight=0.4)),
    test_cfg=dict(_delete_=True, mode='whole'))
