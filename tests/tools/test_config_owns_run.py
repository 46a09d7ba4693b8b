"""The configs carry the whole run: a plain ``Runner.from_cfg(cfg).train()``
(mmseg's ``tools/train.py``, ``mim train mmseg``) gets the NaN guard, the
interrupt guard and early stopping as ``tools/train.py`` does, and a child
config that sets ``custom_hooks`` keeps them."""
from pathlib import Path

import pytest
import torch
from helpers import TINY_RESNET18_UNET, mmseg_style_config
from mmengine.config import Config

from custom_modules.hooks.run_guards import NonFiniteLossError
from custom_modules.tools import test as test_tool
from custom_modules.tools import train
from helpers import SHIPPED_CONFIGS  # noqa: E402

CONFIG = 'configs/pets/resnet18_unet.py'
CONFIGS = SHIPPED_CONFIGS
#: default_hooks key -> type every config declares
PROJECT_HOOKS = {'train_metrics': 'TrainMetricsHook', 'curves': 'CurvesHook',
                 'non_finite_loss': 'NonFiniteLossHook',
                 'early_stopping': 'OptionalEarlyStoppingHook',
                 'interrupt': 'InterruptHook',
                 'test_outputs': 'TestOutputsHook'}




def hook_types(runner) -> list:
    return [type(h).__name__ for h in runner.hooks]


def test_plain_runner_stops_on_a_nan_loss(tiny_pets, tmp_path,
                                          own_signal_handlers):
    """std 0 in the preprocessor: inf inputs, NaN loss at iteration 1."""
    from mmengine.runner import Runner
    cfg = mmseg_style_config(tiny_pets, tmp_path / 'run', 3,
                             'model.data_preprocessor.std=[0,0,0]')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith('loss is not finite at iteration 1 (loss=nan')
    assert 'no checkpoint was saved before it' in message
    assert 'optim_wrapper.optimizer.lr' in message
    assert not list((tmp_path / 'run').glob('*.pth'))
    types = hook_types(runner)
    assert types.count('NonFiniteLossHook') == types.count('InterruptHook') \
        == 1
    assert types[-1] == 'InterruptHook'  # its after_run comes last


@pytest.mark.parametrize('enable,iters', [(True, 4), (False, 8)])
def test_plain_runner_stops_early_when_a_key_says_so(
        tiny_pets, tmp_path, own_signal_handlers, enable, iters):
    """Validation every 2 of 8 iterations; an improvement of 1000 points is
    never reached, so with patience 1 the second validation (4) stops it."""
    from mmengine.runner import Runner
    cfg = mmseg_style_config(
        tiny_pets, tmp_path / 'run', 8, 'train_cfg.val_interval=2',
        f'default_hooks.early_stopping.enable={enable}',
        'default_hooks.early_stopping.patience=1',
        'default_hooks.early_stopping.min_delta=1000')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == iters
    assert runner.train_loop.stop_training is enable
    assert hook_types(runner).count('OptionalEarlyStoppingHook') == 1


def test_plain_runner_test_writes_the_results_files(tiny_pets, tmp_path):
    """``runner.test()`` with nothing of tools/test.py: the base runtime's
    TestOutputsHook writes test_results.json and per_image.csv."""
    import json

    from mmengine.runner import Runner
    cfg = mmseg_style_config(tiny_pets, tmp_path / 'run', 1)
    runner = Runner.from_cfg(cfg)
    runner.test()
    results = json.loads((tmp_path / 'run' / 'test_results.json').read_text())
    assert 0 <= results['metrics']['mJaccard'] <= 100
    rows = (tmp_path / 'run' / 'per_image.csv').read_text().splitlines()
    assert len(rows) == 1 + 4  # header + the 4 tiny val images
    assert not (tmp_path / 'run' / 'worst.png').exists()  # worst=0: off


@pytest.mark.parametrize('path', CONFIGS)
def test_every_config_declares_the_project_hooks(path):
    cfg = Config.fromfile(path)
    assert {k: (cfg.default_hooks[k] or {}).get('type')
            for k in PROJECT_HOOKS} == PROJECT_HOOKS
    assert cfg.default_hooks.early_stopping.enable is False
    assert cfg.custom_hooks == []  # left for the user's own hooks
    assert 'early_stopping' not in cfg  # the old top-level switch


def test_a_child_config_with_custom_hooks_keeps_the_project_hooks(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(
        f"_base_ = ['{Path(CONFIG).resolve()}']\n"
        "custom_hooks = [dict(type='EMAHook')]\n"
        "default_hooks = dict(early_stopping=dict(enable=True))\n")
    cfg = Config.fromfile(str(child))
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook']
    for key, kind in PROJECT_HOOKS.items():
        assert cfg.default_hooks[key]['type'] == kind
    assert cfg.default_hooks.early_stopping.enable is True
    assert cfg.default_hooks.early_stopping.patience == 5
    channels_last = Config.fromfile('configs/pets/cpu_fast.py').default_hooks
    assert channels_last.channels_last.type == 'ChannelsLastHook'
    assert set(PROJECT_HOOKS) <= set(channels_last)


def test_train_tool_runs_the_same_hooks_once(tiny_pets, tmp_path):
    """tools/train.py adds nothing the config already has..."""
    args = train.build_parser().parse_args(
        [CONFIG, '--data-root', str(tiny_pets), '--pretrained', 'none',
         '--no-clearml', '--work-dir', str(tmp_path / 'run')])
    cfg = train.prepare_config(args)
    declared = Config.fromfile(CONFIG).default_hooks
    assert {k: h['type'] for k, h in cfg.default_hooks.items() if h} == \
        {k: h['type'] for k, h in declared.items() if h}
    assert cfg.custom_hooks == []


def test_train_tool_names_missing_guards_and_adds_nothing(tiny_pets, tmp_path,
                                                         capsys):
    """...and a config that does not inherit default_runtime.py keeps its own
    hooks: the tool names the missing guards in one line instead of
    declaring them a second time."""
    child = tmp_path / 'bare.py'
    child.write_text(
        f"_base_ = ['{Path(CONFIG).resolve()}']\n"
        "default_hooks = dict(_delete_=True, timer=dict(type='IterTimerHook'))\n")
    args = train.build_parser().parse_args(
        [str(child), '--data-root', str(tiny_pets), '--pretrained', 'none',
         '--no-clearml', '--work-dir', str(tmp_path / 'run')])
    hooks = train.prepare_config(args).default_hooks
    assert {k: h['type'] for k, h in hooks.items()} == {'timer': 'IterTimerHook'}
    warning = capsys.readouterr().out.strip().splitlines()
    assert len(warning) == 1 and 'bare.py' in warning[0]
    assert 'NonFiniteLossHook or InterruptHook' in warning[0]


def test_old_early_stopping_key_is_refused_with_its_new_place(tmp_path):
    from custom_modules.common.errors import UserError
    child = tmp_path / 'old.py'
    child.write_text(f"_base_ = ['{Path(CONFIG).resolve()}']\n"
                     "early_stopping = dict(enable=True, patience=4)\n")
    args = train.build_parser().parse_args(
        [str(child), '--pretrained', 'none', '--no-clearml',
         '--work-dir', str(tmp_path / 'run')])
    with pytest.raises(UserError, match='set default_hooks.early_stopping'):
        train.prepare_config(args)


def test_test_tool_runner_loads_nothing_over_the_checkpoint(
        tmp_path, own_signal_handlers):
    """tools/test.py loads the checkpoint itself; a config's ``load_from``
    or ``resume`` (which would pick the work dir's last checkpoint) does not
    replace those weights when the test starts."""
    from mmengine.runner import Runner

    from custom_modules.common.weights import load_weights
    tested, other = tmp_path / 'tested.pth', tmp_path / 'other.pth'
    torch.save({'state_dict': {}}, tested)  # checked before the run
    (tmp_path / 'run').mkdir()
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(other))
    args = test_tool.build_parser().parse_args(
        [CONFIG, str(tested), '--no-clearml', '--work-dir',
         str(tmp_path / 'run'), '--cfg-options', *TINY_RESNET18_UNET,
         f'load_from={other}', 'resume=True'])
    runner = Runner.from_cfg(test_tool.prepare_config(args))
    state = runner.model.state_dict()
    torch.save({'state_dict': {k: torch.zeros_like(v)
                               for k, v in state.items()}}, tested)
    torch.save({'state_dict': {k: torch.ones_like(v)
                               for k, v in state.items()},
                'meta': dict(iter=1, epoch=0)}, other)
    load_weights(runner.model, str(tested))
    runner.load_or_resume()  # what runner.test() does before testing
    weights = [v for v in runner.model.state_dict().values()
               if v.is_floating_point()]
    assert weights and all(float(v.abs().sum()) == 0 for v in weights)
