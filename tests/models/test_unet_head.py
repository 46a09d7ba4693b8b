"""UNetHead (and its ResNet name ResNetUNetHead): full-resolution logits
from multi-scale encoder features."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

import custom_modules.plugins  # noqa: F401  (compat + registration)


@pytest.mark.parametrize('depth,channels', [
    (18, (64, 128, 256, 512)), (34, (64, 128, 256, 512)),
    (50, (256, 512, 1024, 2048))])
def test_full_resolution_output_on_resnet(depth, channels):
    backbone = MODELS.build(dict(type='ResNet', depth=depth, init_cfg=None))
    head = MODELS.build(dict(type='ResNetUNetHead', in_channels=channels,
                             decoder_channels=(32, 16, 16, 8, 8),
                             num_classes=3,
                             loss_decode=dict(type='CEDiceLoss')))
    x = torch.randn(2, 3, 64, 96)
    feats = backbone(x)
    assert [f.shape[1] for f in feats] == list(channels)
    logits = head(list(feats))
    assert logits.shape == (2, 3, 64, 96)


def test_every_skip_connection_reaches_the_output():
    head = MODELS.build(dict(type='ResNetUNetHead',
                             in_channels=(4, 8, 16, 32),
                             decoder_channels=(8, 8, 8, 4), num_classes=3,
                             loss_decode=dict(type='CEDiceLoss')))
    feats = [torch.randn(1, c, 32 // 2 ** i, 32 // 2 ** i, requires_grad=True)
             for i, c in enumerate((4, 8, 16, 32))]
    out = head(feats)
    assert out.shape == (1, 3, 64, 64)  # 3 skip blocks + 1 upsampling block
    out.sum().backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_classifier_keeps_pytorch_default_init():
    """mmseg's Normal(std=0.01) on conv_seg stalled from-scratch training
    (one pet class never learned); the head keeps PyTorch's default."""
    head = MODELS.build(dict(type='ResNetUNetHead',
                             in_channels=(64, 128, 256, 512), num_classes=3))
    head.init_weights()
    fan_in = head.conv_seg.weight[0].numel()  # 16 channels, 1x1
    # kaiming_uniform(a=sqrt(5)): uniform(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    expected = (3 * fan_in) ** -0.5
    assert abs(head.conv_seg.weight.std().item() - expected) < 0.3 * expected


def test_five_stage_encoder_skips_at_strides_2_to_16():
    """EfficientNet-Lite0: features at strides 2..32, four skip blocks and
    one plain upsampling block back to the input size."""
    backbone = MODELS.build(dict(type='EfficientNetLite')).eval()
    head = MODELS.build(dict(type='UNetHead',
                             in_channels=(16, 24, 40, 112, 320),
                             decoder_channels=(32, 16, 16, 8, 8),
                             num_classes=3)).eval()
    x = torch.randn(1, 3, 64, 96)
    assert head(list(backbone(x))).shape == (1, 3, 64, 96)
    assert [b.conv1.conv.in_channels for b in head.blocks] == \
        [320 + 112, 32 + 40, 16 + 24, 16 + 16, 8]


def test_too_few_decoder_blocks_is_refused():
    with pytest.raises(ValueError, match='needs at least 4 decoder_channels'):
        MODELS.build(dict(type='UNetHead', in_channels=(8, 8, 8, 8, 8),
                          decoder_channels=(8, 8, 8), num_classes=3))
    with pytest.raises(ValueError, match='use UNetHead'):
        MODELS.build(dict(type='ResNetUNetHead', in_channels=(8, 8, 8, 8, 8),
                          num_classes=3))


def test_four_blocks_on_lite0_stop_at_stride_2_and_predict_full_size():
    """The CPU recipe's head: no full-resolution block, so the logits sit at
    stride 2 and the segmentor resizes them back to the input size."""
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(type='EfficientNetLite'),
        decode_head=dict(type='UNetHead', in_channels=(16, 24, 40, 112, 320),
                         decoder_channels=(32, 16, 16, 8), num_classes=3),
        test_cfg=ConfigDict(mode='whole'))).eval()
    x = torch.randn(1, 3, 64, 96)
    assert model.decode_head(list(model.backbone(x))).shape == (1, 3, 32, 48)
    meta = dict(img_shape=(64, 96), ori_shape=(64, 96), pad_shape=(64, 96),
                padding_size=[0, 0, 0, 0])
    assert model.inference(x, [meta]).shape == (1, 3, 64, 96)
