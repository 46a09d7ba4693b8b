"""ResNetUNetHead: full-resolution logits from ResNet stage outputs."""
import pytest
import torch
from mmseg.registry import MODELS

import custom_modules  # noqa: F401


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
