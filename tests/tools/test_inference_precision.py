"""tools/test.py and tools/predict.py infer as the config trains:
channels_last and bfloat16 autocast (cpu_fast), float32 on request."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from custom_modules.models.unet_head import UNetHead
from custom_modules.optim import autocast_optim_wrapper as aw
from custom_modules.tools import inference, predict
from custom_modules.tools import test as test_tool
from benchmarks.lib import throughput as tp
from custom_modules.common.errors import UserError
from benchmarks.lib.step_cost import adamw_for, bare_batch, bare_step

import helpers

CONFIG = 'configs/pets/cpu_fast.py'  # ChannelsLastHook + bfloat16 autocast

#: Pixels whose class may differ between float32 and bfloat16 inference.
MAX_DISAGREEING = 0.01


@pytest.fixture
def native_bf16(monkeypatch):
    """bfloat16 counts as native, so the tests do not depend on the CPU."""
    monkeypatch.setattr(aw, 'native_autocast', lambda dtype, device: True)


def _cfg(**extra):
    return Config(dict(custom_hooks=[dict(type='ChannelsLastHook')],
                       optim_wrapper=dict(type='AutocastOptimWrapper',
                                          dtype='bfloat16'),
                       test_cfg=dict(type='TestLoop'), **extra))


def test_precision_follows_training(native_bf16, monkeypatch):
    assert inference.inference_precision(_cfg(), 'cpu') == \
        (True, torch.bfloat16)
    assert inference.inference_precision(
        _cfg(inference_precision='float32'), 'cpu') == (False, None)
    with pytest.raises(UserError, match='inference_precision'):
        inference.inference_precision(_cfg(inference_precision='bf16'),
                                      'cpu')
    plain = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    assert inference.inference_precision(plain, 'cpu') == (False, None)
    monkeypatch.setattr(aw, 'native_autocast', lambda dtype, device: False)
    assert inference.inference_precision(_cfg(), 'cpu') == (True, None)


def test_runner_config_autocasts_the_test_loop(native_bf16):
    cfg = _cfg()
    inference.runner_inference_precision(cfg, 'cpu')
    assert cfg.test_cfg == dict(type='TestLoop', fp16=True)
    assert [h['type'] for h in cfg.custom_hooks] == ['ChannelsLastHook']
    off = _cfg(inference_precision='float32')
    inference.runner_inference_precision(off, 'cpu')
    assert 'fp16' not in off.test_cfg and off.custom_hooks == []
    # mmengine's test loop autocasts to float16 on CUDA: not bfloat16
    cuda = _cfg()
    inference.runner_inference_precision(cuda, 'cuda')
    assert 'fp16' not in cuda.test_cfg


@pytest.fixture(scope='module')
def trained(tiny_pets, tmp_path_factory):
    """The tiny cpu_fast model after 40 bare bfloat16 steps on one batch
    (random weights give near-ties everywhere), as a checkpoint."""
    torch.manual_seed(0)
    cfg = tp.prepared_config(CONFIG, str(tiny_pets),
                             cfg_options=helpers.TINY_RESNET18_UNET)
    cfg.train_dataloader.batch_size = 4
    batch = bare_batch(cfg, channels_last=True)
    optimizer = adamw_for(cfg, batch.model)
    for _ in range(40):
        bare_step(batch, optimizer, torch.bfloat16)
    path = tmp_path_factory.mktemp('precision') / 'tiny.pth'
    torch.save(dict(state_dict=batch.model.state_dict()), path)
    return cfg, str(path)


@pytest.mark.parametrize('tta', [False, True])
def test_bf16_channels_last_predicts_as_float32(trained, tiny_pets, tta):
    """Same class on all but MAX_DISAGREEING of the pixels of the 4 val
    photos (64x64 and back at full size), plain and with flip TTA."""
    cfg, ckpt = trained
    pipeline = predict.inference_pipeline(cfg)
    fp32 = inference.load_model(cfg, ckpt, tta=tta, device='cpu')
    fast = inference.load_model(cfg, ckpt, tta=tta, device='cpu',
                                channels_last=True)
    conv = fast.get_submodule('module.backbone.conv1' if tta else
                              'backbone.conv1')
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    photos = sorted((tiny_pets / 'img' / 'val').glob('*.jpg'))
    same = total = 0
    for photo in photos:
        a = predict.predict_photo(fp32, pipeline, str(photo))
        b = predict.predict_photo(fast, pipeline, str(photo), torch.bfloat16)
        assert a.shape == b.shape
        same += int((a == b).sum())
        total += a.size
    assert len(np.unique(a)) > 1  # the model predicts more than one class
    assert same / total >= 1 - MAX_DISAGREEING


@pytest.fixture
def head_outputs(monkeypatch):
    """(dtype, channels_last?) of every decode head output."""
    seen = []
    forward = UNetHead.forward

    def spy(self, inputs):
        out = forward(self, inputs)
        seen.append((out.dtype, out.is_contiguous(
            memory_format=torch.channels_last)))
        return out

    monkeypatch.setattr(UNetHead, 'forward', spy)
    return seen


@pytest.mark.parametrize('options, expected', [
    ([], (torch.bfloat16, True)),
    (['inference_precision=float32'], (torch.float32, False))])
def test_predict_tool_infers_as_trained(trained, tiny_pets, tmp_path,
                                        native_bf16, head_outputs, options,
                                        expected, capsys):
    _, ckpt = trained
    photo = sorted((tiny_pets / 'img' / 'val').glob('*.jpg'))[0]
    assert predict.main([CONFIG, ckpt, str(photo), '--out', str(tmp_path),
                         '--device', 'cpu', '--cfg-options',
                         *helpers.TINY_RESNET18_UNET, *options]) == 0
    assert head_outputs == [expected]
    assert (tmp_path / 'masks' / f'{photo.stem}.png').is_file()
    out = capsys.readouterr().out
    assert ('inference: bfloat16 autocast, channels_last' in out) == \
        (not options)


@pytest.mark.parametrize('options, expected', [
    ([], (torch.bfloat16, True)),
    (['inference_precision=float32'], (torch.float32, False))])
def test_test_tool_infers_as_trained(trained, tiny_pets, tmp_path,
                                     native_bf16, head_outputs, options,
                                     expected, capfd):
    _, ckpt = trained
    assert test_tool.main([CONFIG, ckpt, '--data-root', str(tiny_pets),
                           '--work-dir', str(tmp_path), '--no-clearml',
                           '--cfg-options', *helpers.TINY_RESNET18_UNET,
                           *options]) == 0
    assert head_outputs and set(head_outputs) == {expected}
    out = capfd.readouterr()
    said = 'bfloat16 autocast, channels_last' if not options else 'float32'
    header = [line for line in (out.out + out.err).splitlines()
              if 'precision' in line and said in line]
    assert len(header) == 1 and 'inference:' not in out.out + out.err
    results = json.loads((tmp_path / 'test_results.json').read_text())
    assert results
