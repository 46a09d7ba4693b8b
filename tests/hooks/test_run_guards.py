"""NonFiniteLossHook and InterruptHook on a stand-in runner (the tools'
behaviour end to end is in tests/tools/test_train_cli_errors.py and
tests/tools/test_interrupt_resume.py)."""
import os
import signal
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from custom_modules.hooks.run_guards import (InterruptHook, NonFiniteLossError,
                                             NonFiniteLossHook,
                                             STOP_REASON_KEY,
                                             TrainingInterrupted,
                                             missing_run_guards)


class _Runner(SimpleNamespace):
    def __init__(self, tmp_path, it=6):
        hub = MessageHub.get_instance(f'guards_{id(self)}')
        super().__init__(iter=it, epoch=0, work_dir=str(tmp_path), hooks=[],
                         message_hub=hub, saved=[],
                         train_loop=SimpleNamespace(stop_training=False),
                         visualizer=SimpleNamespace(close=lambda: None))

    def save_checkpoint(self, out_dir, name, **kwargs):
        self.saved.append((name, kwargs['meta']['iter']))


def test_only_a_non_finite_loss_stops(tmp_path):
    """A finite loss goes on, whatever other outputs hold (a NaN accuracy
    is no loss); the same hook stops at a NaN loss term."""
    runner = _Runner(tmp_path)
    hook = NonFiniteLossHook()
    hook.after_train_iter(runner, 0, outputs={
        'loss': torch.tensor(0.7), 'acc': float('nan')})
    assert runner.saved == []
    with pytest.raises(NonFiniteLossError, match='decode.loss_dice=nan'):
        hook.after_train_iter(runner, 0, outputs={
            'loss': torch.tensor(0.7),
            'decode.loss_dice': torch.tensor(float('nan'))})
    assert runner.saved == []  # nothing of the broken iteration is saved


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_loss_names_iteration_terms_and_last_checkpoint(
        tmp_path, value):
    runner = _Runner(tmp_path, it=11)
    runner.message_hub.update_info('last_ckpt', '/w/iter_10.pth')
    with pytest.raises(NonFiniteLossError) as err:
        NonFiniteLossHook().after_train_iter(runner, 0, outputs={
            'loss': torch.tensor(value), 'decode.loss_ce': torch.tensor(0.5)})
    msg = str(err.value)
    assert f'at iteration 12 (loss={value})' in msg
    assert 'last good checkpoint: /w/iter_10.pth' in msg
    assert 'optim_wrapper.optimizer.lr' in msg and err.value.exit_code == 2


def test_non_finite_loss_before_any_checkpoint(tmp_path):
    with pytest.raises(NonFiniteLossError, match='no checkpoint was saved'):
        NonFiniteLossHook().after_train_iter(
            _Runner(tmp_path), 0, outputs={'loss': torch.tensor(float('nan'))})


def test_nan_hook_runs_before_the_checkpoint_hook():
    from mmengine.hooks import CheckpointHook, LoggerHook
    from mmengine.runner.priority import get_priority
    nan = get_priority(NonFiniteLossHook.priority)
    assert nan < get_priority(LoggerHook.priority)
    assert nan < get_priority(CheckpointHook.priority)
    assert get_priority(InterruptHook.priority) > \
        get_priority(CheckpointHook.priority)


@pytest.fixture
def previous_sigterm():
    """A recording SIGTERM handler in place of the default one."""
    seen = []
    old = signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
    yield seen
    signal.signal(signal.SIGTERM, old)


def test_sigterm_during_training_saves_and_stops(tmp_path, previous_sigterm):
    runner = _Runner(tmp_path, it=6)
    hook = InterruptHook()
    hook.before_train(runner)
    hook.after_train_iter(runner, 0)
    assert runner.saved == [] and not runner.train_loop.stop_training
    assert runner.message_hub.get_info(STOP_REASON_KEY) is None
    os.kill(os.getpid(), signal.SIGTERM)
    assert previous_sigterm == []  # caught, training goes on...
    hook.after_train_iter(runner, 0)  # ...to the end of the iteration
    assert runner.saved == [('iter_7.pth', 7)]
    assert runner.train_loop.stop_training
    assert runner.message_hub.get_info(STOP_REASON_KEY) == 'SIGTERM'
    # a resumed run does not inherit the reason from the checkpoint
    assert STOP_REASON_KEY not in runner.message_hub.state_dict()[
        'runtime_info']
    with pytest.raises(TrainingInterrupted) as err:
        hook.after_run(runner)
    assert err.value.exit_code == 128 + signal.SIGTERM
    assert err.value.label == 'interrupted'
    assert str(err.value).startswith(
        f'SIGTERM at iteration 7; saved {tmp_path}/iter_7.pth')
    os.kill(os.getpid(), signal.SIGTERM)  # handlers are restored
    assert previous_sigterm == [signal.SIGTERM]


def test_signal_outside_training_or_twice_acts_as_before(tmp_path,
                                                         previous_sigterm):
    hook = InterruptHook()
    os.kill(os.getpid(), signal.SIGTERM)  # not training yet
    assert previous_sigterm == [signal.SIGTERM]
    hook = InterruptHook()
    hook.before_train(_Runner(tmp_path))
    os.kill(os.getpid(), signal.SIGTERM)
    assert len(previous_sigterm) == 1
    os.kill(os.getpid(), signal.SIGTERM)  # second one: stop now
    assert len(previous_sigterm) == 2


def test_missing_guards_are_named_and_nothing_is_added():
    from mmengine.config import Config
    cfg = Config(dict(custom_hooks=[dict(type='InterruptHook')],
                      default_hooks=dict(checkpoint=None)))
    assert missing_run_guards(cfg) == ['NonFiniteLossHook']
    assert list(cfg.default_hooks) == ['checkpoint']  # untouched
    assert missing_run_guards(Config(dict())) == ['NonFiniteLossHook',
                                                  'InterruptHook']
    full = Config.fromfile('configs/pets/cpu_fast.py')
    assert missing_run_guards(full) == []
    full.default_hooks.non_finite_loss = dict(type=NonFiniteLossHook)
    assert missing_run_guards(full) == []  # a class counts as its name


def test_a_config_without_the_guards_is_named(tmp_path, capsys):
    from mmengine.config import Config

    from custom_modules.tools.train import warn_missing_run_guards
    path = tmp_path / 'mine.py'
    path.write_text("default_hooks = dict(interrupt=dict(type='InterruptHook'))\n")
    warn_missing_run_guards(Config.fromfile(str(path)))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(
        f'warning: {path} declares no NonFiniteLossHook:')
    warn_missing_run_guards(Config.fromfile('configs/pets/unet.py'))
    assert capsys.readouterr().out == ''
