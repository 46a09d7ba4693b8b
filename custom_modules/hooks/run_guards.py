"""Hooks that keep a run's checkpoints usable when training goes wrong.

- :class:`NonFiniteLossHook`: a NaN/inf loss stops training before any
  checkpoint of that iteration is written.
- :class:`InterruptHook`: Ctrl-C / SIGTERM finish the current iteration,
  write a checkpoint and stop; ``tools/train.py CONFIG --resume`` continues.

``configs/_base_/default_runtime.py`` declares both in ``default_hooks``,
so every Runner built from the configs has them,
``Runner.from_cfg(cfg).train()`` as much as ``tools/train.py``; for a config
of your own that lacks them, :func:`missing_run_guards` names what is
missing (the tool warns and adds nothing: the config owns the run).
Under ``torch.distributed`` every rank takes the same decision at the same
iteration (one all-reduce of a flag), so no rank is left waiting in a
collective.
"""
from __future__ import annotations

import glob
import math
import os
import os.path as osp
import signal
from typing import List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size, is_distributed
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..common.weights import file_iteration
from ..common.errors import UserError

#: Message-hub key: why training stopped before ``max_iters`` when it was
#: not early stopping (the signal's name; unset otherwise).
STOP_REASON_KEY = 'train_stop_reason'


def close_stopped_run(runner, last: Optional[str]) -> str:
    """Close the run's visualizer (its log and ClearML session are kept) and
    say which checkpoint a stopped run can continue from."""
    try:
        runner.visualizer.close()
    except Exception:  # noqa: BLE001 - the caller's error matters more
        pass
    return (f'last good checkpoint: {last}' if last else
            'no checkpoint was saved before it')


class NonFiniteLossError(UserError):
    """The training loss became NaN or infinite."""


class TrainingInterrupted(UserError):
    """Training stopped on a signal after saving a checkpoint."""

    label = 'interrupted'

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum  # what a shell reports for the signal


def any_rank(flag: bool) -> bool:
    """``flag`` OR-ed over all ranks (just ``flag`` when not distributed)."""
    if not (is_distributed() and get_world_size() > 1):
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    all_reduce(value, op='max')
    return bool(value.item() > 0)


def _checkpoint_hook(runner) -> Optional[CheckpointHook]:
    return next((h for h in runner.hooks if isinstance(h, CheckpointHook)),
                None)


def last_checkpoint(runner) -> Optional[str]:
    """The newest checkpoint this run (or the run it resumed) wrote."""
    return runner.message_hub.get_info('last_ckpt')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop at the first iteration whose loss is NaN or infinite.

    Runs after the iteration's optimizer step and before the logger and the
    :class:`~mmengine.hooks.CheckpointHook` (priority ``ABOVE_NORMAL``): the
    weights are already broken, so nothing of this iteration is saved and
    every checkpoint on disk stays as it was. The error names the
    iteration, the non-finite loss terms and the last good checkpoint.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        bad = {}
        for name, value in (outputs or {}).items():
            if 'loss' not in name:
                continue
            value = float(value.detach().float().mean()
                          if torch.is_tensor(value) else value)
            if not math.isfinite(value):
                bad[name] = value
        if not any_rank(bool(bad)):
            return
        it = runner.iter + 1
        terms = ', '.join(f'{k}={v}' for k, v in bad.items()) or \
            'on another rank'
        saved = close_stopped_run_finite(runner, last_checkpoint(runner))
        raise NonFiniteLossError(
            f'loss is not finite at iteration {it} ({terms}); training '
            f'stopped and nothing was saved for this iteration; {saved}. '
            f'Lower the learning rate ({lr_option(runner)}) or clip '
            'gradients (--cfg-options optim_wrapper.clip_grad.max_norm=1.0), '
            'check the data with tools/check_dataset.py, then train again')


def non_finite_tensors(checkpoint) -> list:
    """Names of the floating-point tensors in ``checkpoint`` (weights,
    buffers such as BN ``running_var``, optimizer state) that hold a NaN or
    an infinity."""
    bad = []

    def walk(node, name):
        if torch.is_tensor(node):
            if node.is_floating_point() and not bool(
                    torch.isfinite(node).all()):
                bad.append(name)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f'{name}.{key}' if name else str(key))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{name}.{i}')

    walk(checkpoint.get('state_dict', checkpoint)
         if isinstance(checkpoint, dict) else checkpoint, '')
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        walk(checkpoint.get('optimizer'), 'optimizer')
    return bad


def _checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is no good checkpoint to go back to (None: it is)."""
    from ..compat import DamagedCheckpointError, load_checkpoint_file
    try:
        checkpoint = load_checkpoint_file(path, map_location='cpu')
    except (OSError, DamagedCheckpointError) as err:
        return f'unreadable ({str(err).splitlines()[0][:80]})'
    except Exception as err:  # noqa: BLE001 - any refusal: not good
        return f'unreadable ({type(err).__name__})'
    bad = non_finite_tensors(checkpoint)
    if bad:
        more = f' and {len(bad) - 1} more' if len(bad) > 1 else ''
        return f'holds {len(bad)} non-finite tensors ({bad[0]}{more})'
    return None


def _iteration(path: str) -> int:
    found = file_iteration(path)
    return -1 if found is None else found


def last_finite_checkpoint(named: Optional[str], work_dir: Optional[str]
                           ) -> Tuple[Optional[str], List[str]]:
    """The newest checkpoint that holds only finite tensors: ``named`` when
    it does, else the newest complete ``iter_*.pth`` of ``work_dir`` before
    it that does (None: none does). Also returns, in words, each newer
    checkpoint that was passed over and why.

    A loss can grow huge and still be finite for a few iterations while the
    BN statistics already overflow: the checkpoints of those iterations
    hold ``inf`` and resuming from them gives NaN at once.
    """
    passed = []
    if named and not osp.isfile(named):
        return named, passed  # not on disk here: nothing to check
    candidates = [named] if named else []
    if work_dir and osp.isdir(work_dir):
        limit = _iteration(named) if named else None
        others = [p for p in glob.glob(osp.join(work_dir, 'iter_*.pth'))
                  if _iteration(p) >= 0 and (
                      named is None or limit is None or limit < 0 or
                      _iteration(p) < limit) and
                  osp.abspath(p) != osp.abspath(named or '')]
        candidates += sorted(others, key=_iteration, reverse=True)
    for path in candidates:
        problem = _checkpoint_problem(path)
        if problem is None:
            return path, passed
        passed.append(f'{path} {problem}')
    return None, passed


def close_stopped_run_finite(runner, named: Optional[str]) -> str:
    """:func:`close_stopped_run`, naming the newest checkpoint that holds
    only finite tensors (see :func:`last_finite_checkpoint`)."""
    good, passed = last_finite_checkpoint(
        named, getattr(runner, 'work_dir', None))
    text = close_stopped_run(runner, good)
    if passed and good is None:
        text = ('no saved checkpoint holds only finite weights (' +
                '; '.join(passed) + '); train again from the start')
    elif passed:
        text += ' (' + '; '.join(passed) + ', not usable)'
    return text


def lr_option(runner) -> str:
    """The ``--cfg-options`` item that really lowers the learning rate of
    ``runner``'s config, as a tenth of the present value: a one-cycle
    scheduler's ``eta_max`` sets the lr itself (the optimizer's ``lr`` is
    then overridden), otherwise ``optim_wrapper.optimizer.lr``."""
    cfg = getattr(runner, 'cfg', None) or {}
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, sched in enumerate(schedulers):
        kind = sched.get('type') if hasattr(sched, 'get') else None
        kind = getattr(kind, '__name__', kind)
        if isinstance(kind, str) and 'OneCycle' in kind and \
                isinstance(sched.get('eta_max'), (int, float)):
            key = f'param_scheduler.{i}.eta_max' if len(schedulers) > 1 or \
                not isinstance(cfg.get('param_scheduler'), dict) else \
                'param_scheduler.eta_max'
            return (f'--cfg-options {key}={sched["eta_max"] / 10:g}, a tenth '
                    f'of the {kind} peak, which sets the lr here')
    lr = ((cfg.get('optim_wrapper') or {}).get('optimizer') or {}).get('lr')
    if isinstance(lr, (int, float)):
        return f'--cfg-options optim_wrapper.optimizer.lr={lr / 10:g}'
    return '--cfg-options optim_wrapper.optimizer.lr=...'


@HOOKS.register_module()
class InterruptHook(Hook):
    """Ctrl-C / SIGTERM: save a checkpoint after this iteration, then stop.

    The first SIGINT or SIGTERM sets a flag; after the running iteration
    (and after the CheckpointHook, priority ``LOWEST``) a checkpoint is
    written through the CheckpointHook (so ``last_checkpoint`` and
    ``max_keep_ckpts`` stay consistent) unless it just saved one, the loop
    stops, the remaining hooks close logs and ClearML, and the run ends with
    :class:`TrainingInterrupted` (``tools/train.py`` prints one line and
    exits 130 or 143). A second signal stops at once, as before.

    The handlers are installed when the hook is built, i.e. before the
    Runner forks its data-loader workers: the workers inherit them and leave
    the decision to the main process, so Ctrl-C in a terminal (which
    signals every process of the job) does not kill them mid-batch. Outside
    training, and in any other process, the previous behaviour applies.

    Args:
        signals: names of the signals to catch.
    """

    priority = 'LOWEST'

    def __init__(self, signals=('SIGINT', 'SIGTERM')) -> None:
        self._pid = os.getpid()
        self._training = False
        self._received: Optional[int] = None
        self._previous = {}
        self.interrupted: Optional[dict] = None
        for name in signals:
            signum = getattr(signal, name)
            try:
                self._previous[signum] = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                print_log(f'InterruptHook: cannot catch {name} outside the '
                          'main thread', logger='current', level=30)

    def _handle(self, signum, frame) -> None:
        if os.getpid() != self._pid:
            return  # a forked data-loader worker: the main process decides
        if self._training and self._received is None:
            self._received = signum
            return
        previous = self._restore().get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), signum)  # the default action, now restored

    def _restore(self) -> dict:
        previous, self._previous = self._previous, {}
        if os.getpid() == self._pid:
            for signum, handler in previous.items():
                try:
                    signal.signal(signum, handler)
                except (ValueError, TypeError):
                    pass
        return previous

    def before_train(self, runner) -> None:
        self._training = True

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not any_rank(self._received is not None):
            return
        signum = self._received or signal.SIGTERM  # another rank's signal
        it = runner.iter + 1
        path = self._save(runner, it)
        runner.train_loop.stop_training = True
        self.interrupted = dict(signal=signal.Signals(signum).name, iter=it,
                                checkpoint=path, signum=int(signum))
        # not saved in checkpoints: a resumed run starts without a reason
        runner.message_hub.update_info(STOP_REASON_KEY,
                                       self.interrupted['signal'],
                                       resumed=False)
        print_log(f'{self.interrupted["signal"]}: stopping after iteration '
                  f'{it}; checkpoint {path}', logger='current', level=30)

    @staticmethod
    def _save(runner, it: int) -> str:
        hook = _checkpoint_hook(runner)
        if hook is not None and not hook.by_epoch:
            expected = hook.file_backend.join_path(
                hook.out_dir, hook.filename_tmpl.format(it))
            if hook.last_ckpt != expected:  # not saved by it this iteration
                hook._save_checkpoint(runner)
            return hook.last_ckpt
        name = f'iter_{it}.pth'
        # written as the CheckpointHook writes (atomically, by default)
        backend_args = getattr(hook, 'backend_args', None) or \
            dict(backend='atomic_local')
        runner.save_checkpoint(runner.work_dir, name, by_epoch=False,
                               meta=dict(epoch=runner.epoch, iter=it),
                               backend_args=backend_args)
        return osp.join(runner.work_dir, name)

    def after_train(self, runner) -> None:
        self._training = False

    def after_run(self, runner) -> None:
        self._training = False
        self._restore()
        if self.interrupted:
            info = self.interrupted
            raise TrainingInterrupted(
                f'{info["signal"]} at iteration {info["iter"]}; saved '
                f'{info["checkpoint"]}; to continue, run the same command '
                f'with --resume (work dir {runner.work_dir})', info['signum'])


#: Hooks every training run should have, in the order they act.
RUN_GUARD_HOOKS = (NonFiniteLossHook, InterruptHook)


def missing_run_guards(cfg) -> list:
    """Type names of :data:`RUN_GUARD_HOOKS` that ``cfg`` declares in
    neither ``default_hooks`` nor ``custom_hooks`` (empty when all are)."""
    hooks = [*dict(cfg.get('default_hooks') or {}).values(),
             *(cfg.get('custom_hooks') or [])]
    types = [h.get('type') for h in hooks if isinstance(h, dict)]
    present = {getattr(t, '__name__', t) for t in types}  # a class or a name
    return [cls.__name__ for cls in RUN_GUARD_HOOKS
            if cls.__name__ not in present]
