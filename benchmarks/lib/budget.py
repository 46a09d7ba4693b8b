"""Train a config under a wall-clock budget.

Used by ``benchmarks/budget.py``:

1. Calibrate: a throw-away run of a few iterations (no validation, no
   checkpoints, same data pipeline and hooks) measures seconds per iteration
   on this machine.
2. Fit: the config's schedule is stretched or shrunk to the iterations that
   fit the budget (:func:`custom_modules.hooks.fit_schedule`), so warm-up
   and decay finish when the time does, and validation is placed every
   ``eval_every`` training minutes.
3. Train with :class:`custom_modules.hooks.TimeBudgetHook`, which stops at
   the budget in any case and records val mJaccard/mDice against training
   time (validation time excluded) into ``budget.json`` and ``budget.png``.
"""
from __future__ import annotations

import copy
import json
import os.path as osp
import tempfile
import time
import uuid
from typing import Sequence

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log

from custom_modules.hooks.time_budget import fit_schedule
from custom_modules.tools.config import fetch_pretrained
from custom_modules.common.errors import UserError
from custom_modules.tools.preflight import preflight
from custom_modules.tools.train import build_config

from .arguments import budget_parser as build_parser


class _IterClock(Hook):
    """Times iterations after a warm-up of ``skip`` iterations (or
    ``warmup_seconds``, whichever ends first); stops after ``timed``
    iterations or ``max_seconds`` of them (at least 2)."""

    priority = 'VERY_LOW'

    def __init__(self, skip: int, timed: int, max_seconds: float,
                 warmup_seconds: float = float('inf')) -> None:
        self.skip, self.timed, self.max_seconds = skip, timed, max_seconds
        self.warmup_seconds = warmup_seconds
        self.stamps: list = []
        self._first = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        now = time.perf_counter()
        if self._first is None:
            self._first = now
        warm = runner.iter + 1 >= self.skip or \
            now - self._first >= self.warmup_seconds
        if not self.stamps and not warm:
            return
        self.stamps.append(now)
        n = len(self.stamps) - 1
        done = n >= self.timed or (n >= 2 and self.stamps[-1] -
                                   self.stamps[0] >= self.max_seconds)
        if done:
            runner.train_loop.stop_training = True

    def seconds_per_iter(self) -> float:
        if len(self.stamps) < 2:
            raise RuntimeError('calibration ended before two timed iterations')
        return (self.stamps[-1] - self.stamps[0]) / (len(self.stamps) - 1)


def calibration_config(cfg: Config, work_dir: str) -> Config:
    """The run's config reduced to timing training iterations only."""
    cal = copy.deepcopy(cfg)
    cal.work_dir = work_dir
    cal.train_cfg.max_iters = 10 ** 6
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cal[key] = None
    cal.default_hooks.checkpoint = None
    cal.default_hooks.pop('visualization', None)
    dropped = ('CurvesHook', 'TimeBudgetHook', 'EarlyStoppingHook',
               'OptionalEarlyStoppingHook')
    cal.custom_hooks = [h for h in cal.get('custom_hooks', [])
                        if h['type'] not in dropped]
    for key, hook in list(cal.default_hooks.items()):
        if isinstance(hook, dict) and hook.get('type') in dropped:
            cal.default_hooks.pop(key)
    cal.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cal.visualizer.name = f'calibration_{uuid.uuid4().hex[:8]}'
    cal.load_from, cal.resume = None, False
    return cal


def seconds_per_iteration(cfg: Config, skip: int = 30, timed: int = 20,
                          max_seconds: float = 60.0,
                          warmup_seconds: float = 60.0) -> float:
    """Measure one steady-state training iteration of ``cfg`` (seconds).

    The first ``skip`` iterations (worker start-up, allocator warm-up,
    image cache filling: 30 of batch 8 see the 198 pets training images) are
    not timed, or fewer once ``warmup_seconds`` have passed; then ``timed``
    iterations, or fewer (at least 2) when they pass ``max_seconds``.
    """
    from mmengine.runner import Runner
    with tempfile.TemporaryDirectory(prefix='budget_calibration_') as tmp:
        runner = Runner.from_cfg(calibration_config(cfg, tmp))
        clock = _IterClock(skip, timed, max_seconds, warmup_seconds)
        runner.register_hook(clock)
        runner.train()
        return clock.seconds_per_iter()


def check_budget(minutes: float, eval_every: float, margin: float) -> None:
    """Refuse a budget that cannot be planned (one-line ``UserError``)."""
    if minutes <= 0 or eval_every <= 0:
        raise UserError(f'--minutes {minutes} / --eval-every {eval_every}: '
                        'give positive minutes')
    if margin < 0:
        raise UserError(f'--margin {margin}: give a fraction >= 0')


def plan_budget(cfg: Config, minutes: float, eval_every: float,
                seconds_per_iter: float, margin: float = 0.0) -> dict:
    """Fit ``cfg``'s schedule into ``minutes`` of training and add the hook.

    The schedule gets the iterations that fit at ``seconds_per_iter *
    (1 + margin)``: whole runs go a few percent slower than the calibration
    (hooks between iterations, the data-loader worker's share of the CPU),
    and a schedule cut short by the clock never finishes its decay.
    Validation every ``eval_every`` training minutes (at least every
    iteration), a checkpoint only at the end (the best is kept by
    ``save_best``); returns the plan as a dict.
    """
    check_budget(minutes, eval_every, margin)
    iters = max(1, int(minutes * 60 / (seconds_per_iter * (1 + margin))))
    original = int(cfg.train_cfg.max_iters)
    fit_schedule(cfg, iters)
    interval = max(1, round(eval_every * 60 / seconds_per_iter))
    cfg.train_cfg.val_interval = min(interval, iters)
    checkpoint = cfg.default_hooks.get('checkpoint')
    if checkpoint:
        checkpoint.interval = iters
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] != 'TimeBudgetHook'] + \
        [dict(type='TimeBudgetHook', minutes=minutes)]
    return dict(minutes=minutes, seconds_per_iter=round(seconds_per_iter, 4),
                margin=margin, config_iters=original, fitted_iters=iters,
                val_interval=cfg.train_cfg.val_interval)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    # refused before the calibration run, not after it
    check_budget(args.minutes, args.eval_every, args.margin)
    name = osp.splitext(osp.basename(args.config))[0]
    cfg = build_config(
        args.config, work_dir=args.work_dir or osp.join('work_dirs', 'budget',
                                                        name),
        data_root=args.data_root, labels=args.labels,
        pretrained=args.pretrained, clearml=args.clearml,
        cfg_options=args.cfg_options)
    preflight(cfg)  # data errors before the calibration run
    if args.pretrained is None:
        fetch_pretrained(cfg)  # no network: from scratch, with a warning
    if args.no_fit:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + \
            [dict(type='TimeBudgetHook', minutes=args.minutes)]
        plan = dict(minutes=args.minutes, fitted_iters=None)
    else:
        t0 = time.perf_counter()
        spi = seconds_per_iteration(cfg)
        print_log(f'calibration: {spi:.3f} s/iteration '
                  f'({time.perf_counter() - t0:.0f} s, not counted)',
                  logger='current')
        plan = plan_budget(cfg, args.minutes, args.eval_every, spi,
                           args.margin)
        print_log(f'budget plan: {json.dumps(plan)}', logger='current')
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    result_path = osp.join(cfg.work_dir, 'budget.json')
    with open(result_path) as f:
        result = json.load(f)
    result['plan'] = plan
    result['config'] = args.config
    with open(result_path, 'w') as f:
        json.dump(result, f, indent=2)
    print(json.dumps(summarize(result), indent=2))
    return 0


def summarize(result: dict) -> dict:
    """Final and best val points of a budget run (per-class Dice too)."""
    points = result.get('points') or []
    if not points:
        raise UserError('budget run recorded no validation')
    last = points[-1]
    best = max(points, key=lambda p: p.get('mDice', float('-inf')))
    keys = [k for k in last if k.startswith(('mDice', 'mJaccard', 'Dice.'))]
    return dict(config=result.get('config'), train_min=round(
        result['train_s'] / 60, 2), iters=result['iters'],
        final={k: round(last[k], 2) for k in keys},
        best_mDice=round(best['mDice'], 2), best_at_min=round(
            best['train_s'] / 60, 2))


def load_result(work_dir: str) -> dict:
    """``<work_dir>/budget.json`` of a finished budget run."""
    path = osp.join(work_dir, 'budget.json')
    if not osp.isfile(path):
        raise UserError(f'{path} not found: run benchmarks/budget.py with '
                        f'--work-dir {work_dir} first')
    with open(path) as f:
        return json.load(f)


def run_name(result: dict) -> str:
    """A budget run's label: its ``name`` (the work dir's, set by
    ``budget_report.py``), else its config's file stem."""
    return result.get('name') or \
        osp.splitext(osp.basename(result.get('config') or '?'))[0]


def budget_table(results: Sequence[dict]) -> str:
    """Markdown table of budget runs: final val scores, per-class Dice."""
    head = ('| run | budget min | iterations | s/iter | val mDice | '
            'val mJaccard | Dice bg | Dice cat | Dice dog | best mDice '
            '(at min) |\n|---|---|---|---|---|---|---|---|---|---|\n')
    lines = []
    for r in results:
        last = r['points'][-1]
        summary = summarize(r)
        plan = r.get('plan') or {}
        spi = plan.get('seconds_per_iter')
        name = run_name(r)
        lines.append(
            f"| {name} | {r['budget_min']:g} | {r['iters']} | "
            f"{spi if spi is not None else '-'} | {last['mDice']:.2f} | "
            f"{last['mJaccard']:.2f} | {last['Dice.background']:.2f} | "
            f"{last['Dice.cat']:.2f} | {last['Dice.dog']:.2f} | "
            f"{summary['best_mDice']:.2f} ({summary['best_at_min']:g}) |")
    return head + '\n'.join(lines) + '\n'
