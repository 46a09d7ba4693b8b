"""Config loading faults (issue 28): an option below a ``None`` value, a
config with a syntax error (in itself or in a ``_base_``), a file that is
not a config."""
import pytest
import torch
from helpers import (REPO, TINY_RESNET18_UNET, assert_one_line_error,
                     run_tool, tiny_cfg_options)
from mmengine.optim import build_optim_wrapper

from custom_modules.common.errors import UserError
from custom_modules.tools.config import load_config, parse_cfg_options


def test_clip_grad_option_over_none_builds_a_clipping_wrapper():
    """The base sets ``clip_grad=None``; the NaN guard suggests
    ``--cfg-options optim_wrapper.clip_grad.max_norm=1.0`` (was a TypeError
    traceback from mmengine's merge into None)."""
    cfg = load_config('configs/pets/cpu_fast.py', parse_cfg_options(
        ['optim_wrapper.clip_grad.max_norm=1.0']))
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'  # rest kept
    model = torch.nn.Linear(4, 1)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert wrapper.clip_grad_kwargs == dict(max_norm=1.0)
    # and it clips: a huge gradient leaves with norm 1
    model.weight.grad = torch.full_like(model.weight, 1e6)
    model.bias.grad = torch.full_like(model.bias, 1e6)
    wrapper._clip_grad()
    norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert float(norm) == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_option_is_accepted_by_tools_train(tiny_pets, tmp_path):
    """Pasted as the NaN guard prints it, through tools/train.py."""
    proc = run_tool(
        'train.py', 'configs/pets/resnet18_unet.py', '--data-root', tiny_pets,
        '--work-dir', tmp_path / 'w', '--pretrained', 'none', '--no-clearml',
        '--cfg-options', *TINY_RESNET18_UNET, *tiny_cfg_options(1),
        'optim_wrapper.clip_grad.max_norm=1.0',
        env={'OMP_NUM_THREADS': '1'}, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize('where', ['config', 'base'])
def test_syntax_error_names_the_file_and_line(tmp_path, where):
    bad = _write(tmp_path / 'bad.py', 'x = 1\n\ny = (\nz = 3\n')
    path = bad
    if where == 'base':
        path = _write(tmp_path / 'child.py', "_base_ = ['./bad.py']\nw = 2\n")
    with pytest.raises(UserError) as err:
        load_config(str(path))
    message = str(err.value)
    assert message.startswith(f'{bad}:3: ')
    assert "'(' was never closed" in message
    assert message.endswith('; fix the config')
    assert '<unknown>' not in message


def test_syntax_error_is_one_line_through_tools_train(tmp_path):
    bad = _write(tmp_path / 'bad.py',
                 f"_base_ = ['{REPO}/configs/pets/cpu_fast.py']\n"
                 "model = dict(\n")
    proc = run_tool('train.py', bad, '--no-clearml', check=False)
    assert_one_line_error(proc, f'error: {bad}:2: ', 'fix the config')


def test_a_file_that_is_not_a_config_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r'^README\.md: not a config file '
                       r'\(\.py, \.yml, \.yaml or \.json\)'):
        load_config('README.md')
    proc = run_tool('train.py', 'README.md', '--no-clearml', check=False)
    assert_one_line_error(proc, 'error: README.md: not a config file')
