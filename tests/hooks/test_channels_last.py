"""ChannelsLastHook: the model's convolutions in NHWC, same outputs."""
from types import SimpleNamespace

import torch
from helpers import tiny_segmentor

from custom_modules.hooks import ChannelsLastHook, uses_channels_last
from custom_modules.tools.config import load_config


def tiny_unet():
    return tiny_segmentor(size=32).eval()


def test_hook_converts_weights_in_place_and_keeps_outputs():
    model, reference = tiny_unet(), tiny_unet()
    params = list(model.parameters())
    x = torch.randn(2, 3, 32, 32)
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        c.weight.is_contiguous(memory_format=torch.channels_last)
        for c in convs)
    assert not model.backbone.conv1.weight.is_contiguous()
    assert list(model.parameters()) == params  # optimizer keeps its params
    with torch.no_grad():
        feats = model.extract_feat(x)
        out = model._forward(x)
        expected = reference._forward(x)
    # an NCHW input comes out of the first convolution in NHWC
    assert feats[0].is_contiguous(memory_format=torch.channels_last)
    assert not feats[0].is_contiguous()
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_uses_channels_last_reads_default_and_custom_hooks():
    assert uses_channels_last(load_config('configs/pets/cpu_fast.py'))
    assert uses_channels_last(load_config('configs/pets/cpu_pretrained.py'))
    assert not uses_channels_last(load_config('configs/pets/resnet18_unet.py'))
    from mmengine.config import Config
    assert uses_channels_last(Config(dict(
        custom_hooks=[dict(type='ChannelsLastHook')])))
    assert not uses_channels_last(Config(dict(
        default_hooks=dict(checkpoint=None), custom_hooks=[])))
