"""FLOPs of a training step and the matmul peak (benchmarks/throughput.py)."""
import ast
import importlib.util

import pytest
import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.lib import step_cost
from benchmarks.lib import throughput as tp

import helpers


def test_conv_flops_counted_by_hand():
    """Conv 3->8, 3x3, on 2 images 16x16: 2*N*Cout*H*W*Cin*k*k FLOPs
    forward; backward adds the weight gradient (same count) and, when the
    input needs one, the input gradient (same count again); no bias."""
    conv = nn.Conv2d(3, 8, 3, padding=1)
    x = torch.randn(2, 3, 16, 16)
    forward = 2 * 2 * 8 * 16 * 16 * 3 * 3 * 3
    assert step_cost.count_flops(lambda: conv(x)) == forward
    assert step_cost.count_flops(
        lambda: conv(x).sum().backward()) == 2 * forward
    x.requires_grad_()
    assert step_cost.count_flops(
        lambda: conv(x).sum().backward()) == 3 * forward


def test_depthwise_conv_gradients_cost_what_its_forward_costs():
    """Depthwise 16 channels, 5x5: torch's own formula counts the weight
    gradient as if the convolution were dense (16x too much)."""
    conv = nn.Conv2d(16, 16, 5, padding=2, groups=16, bias=False)
    x = torch.randn(2, 16, 16, 16, requires_grad=True)
    forward = 2 * 2 * 16 * 16 * 16 * 1 * 5 * 5
    assert step_cost.count_flops(lambda: conv(x)) == forward
    assert step_cost.count_flops(
        lambda: conv(x).sum().backward()) == 3 * forward


def test_linear_flops_counted_by_hand():
    lin = nn.Linear(5, 7)
    x = torch.randn(4, 5)
    assert step_cost.count_flops(
        lambda: lin(x).sum().backward()) == 2 * (2 * 4 * 5 * 7)


def _tiny_cfg(tiny_pets, tmp_path, batch):
    cfg = tp.prepared_config('configs/pets/cpu_fast.py', str(tiny_pets),
                             work_dir=str(tmp_path))
    for key, value in (a.split('=', 1) for a in helpers.TINY_RESNET18_UNET):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        cfg.merge_from_dict({key: value})
    cfg.train_dataloader.batch_size = batch
    return cfg


def test_train_step_flops_are_per_image_forward_and_backward(tiny_pets,
                                                             tmp_path):
    one = step_cost.train_step_flops(_tiny_cfg(tiny_pets, tmp_path, 1))
    two = step_cost.train_step_flops(_tiny_cfg(tiny_pets, tmp_path, 2))
    assert one == two > 0  # per image, whatever the batch
    batch = step_cost.bare_batch(_tiny_cfg(tiny_pets, tmp_path, 2))
    forward = step_cost.count_flops(lambda: step_cost.bare_loss(batch)) / 2
    # backward: weight gradients everywhere, input gradients but for the
    # first convolution, so between 2x and 3x the forward pass
    assert 2 * forward < one < 3 * forward


class _MatmulDtypes(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.dtypes = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.__name__.startswith('mm'):
            self.dtypes |= {a.dtype for a in args if torch.is_tensor(a)}
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_matmul_gflops_in_the_requested_dtype(dtype):
    with _MatmulDtypes() as seen:
        gflops = step_cost.matmul_gflops(dtype, size=64, min_seconds=0)
    assert gflops > 0
    assert seen.dtypes == {dtype}


def test_train_dtype_follows_the_autocast_wrapper(monkeypatch):
    from mmengine.config import Config
    from custom_modules.optim import autocast_optim_wrapper as aw
    cfg = Config(dict(optim_wrapper=dict(type='AutocastOptimWrapper',
                                         dtype='bfloat16')))
    monkeypatch.setattr(aw, 'native_autocast', lambda dtype, device: True)
    assert step_cost.train_dtype(cfg) == torch.bfloat16
    monkeypatch.setattr(aw, 'native_autocast', lambda dtype, device: False)
    assert step_cost.train_dtype(cfg) == torch.float32
    cfg.optim_wrapper.type = 'OptimWrapper'
    monkeypatch.setattr(aw, 'native_autocast', lambda dtype, device: True)
    assert step_cost.train_dtype(cfg) == torch.float32


def test_profile_lists_the_top_operators(tiny_pets, tmp_path, capsys):
    """``benchmarks/throughput.py --profile``: a table per config, nothing
    measured or written."""
    spec = importlib.util.spec_from_file_location(
        'throughput_script', helpers.REPO / 'benchmarks' / 'throughput.py')
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out_json = tmp_path / 'throughput.json'
    assert script.main(['configs/pets/cpu_fast.py', '--data-root',
                        str(tiny_pets), '--profile', '--profile-steps', '1',
                        '--json', str(out_json), '--cfg-options',
                        *helpers.TINY_RESNET18_UNET]) == 0
    assert not out_json.exists()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == 'configs/pets/cpu_fast.py: 1 bare training steps, ' \
        'batch 8'
    seps = [i for i, ln in enumerate(lines) if ln.startswith('---')]
    assert 'Self CPU' in lines[seps[0] + 1]  # header, then the operators
    rows = lines[seps[1] + 1:seps[2]]
    assert len(rows) == 15
    assert any('conv' in row for row in rows)


def test_block_options_reach_the_measurement(monkeypatch, tmp_path):
    """``--block N --blocks M``: the measured row comes from blocks of N
    iterations, M per side (the script's child mode, as each config runs)."""
    spec = importlib.util.spec_from_file_location(
        'throughput_script', helpers.REPO / 'benchmarks' / 'throughput.py')
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from benchmarks.lib import throughput as tp
    seen = {}
    monkeypatch.setattr(tp, 'prepared_config', lambda *a, **kw: 'cfg')
    monkeypatch.setattr(tp, 'measure_config', lambda cfg, **kw: (
        seen.update(kw), dict(block=kw['block'], rounds=kw['blocks']))[1])
    out_json = tmp_path / 'row.json'
    assert script.main(['--one', 'configs/pets/cpu_fast.py', '--json',
                        str(out_json), '--block', '2', '--blocks', '20']) == 0
    assert seen == dict(block=2, blocks=20)
    assert '"rounds": 20' in out_json.read_text()
    seen.clear()
    assert script.main(['--one', 'configs/pets/cpu_fast.py', '--json',
                        str(out_json)]) == 0
    assert seen == dict(block=8, blocks=5)  # the documented default
