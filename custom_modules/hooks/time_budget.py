"""Train against a wall-clock budget and record the metric-vs-time curve."""
from __future__ import annotations

import json
import math
import os.path as osp
import time
from typing import List, Optional

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

#: Scheduler fields counted in iterations that scale with the schedule.
_ITER_FIELDS = ('begin', 'end', 'T_max', 'total_steps', 'step_size')


def fit_schedule(cfg: Config, iters: int) -> float:
    """Stretch or shrink an iteration-based schedule to ``iters`` iterations.

    Scales ``train_cfg.max_iters`` and, in every iteration-based
    ``param_scheduler``, ``begin``/``end``/``T_max``/``total_steps``/
    ``step_size``/``milestones``, so warm-up and decay keep their share of
    the run (epoch-based schedulers, mmengine's default, are left alone).
    Returns the factor applied.
    """
    old = int(cfg.train_cfg.max_iters)
    if iters < 1:
        raise ValueError(f'fit_schedule: {iters} iterations; need >= 1')
    factor = iters / old
    cfg.train_cfg.max_iters = int(iters)
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for sched in schedulers:
        if sched.get('by_epoch', True):  # mmengine's default: epochs
            continue
        for key in _ITER_FIELDS:
            value = sched.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                scaled = value * factor
                sched[key] = max(1, round(scaled)) if key != 'begin' \
                    else round(scaled)
        if 'milestones' in sched:
            sched['milestones'] = [round(m * factor)
                                   for m in sched['milestones']]
        if 'end' in sched and sched['end'] > iters:
            sched['end'] = iters
    return factor


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Stop training when ``minutes`` of training time are spent.

    The clock counts training only: the time inside validation is left out,
    so the budget buys the same number of iterations however often the run
    is evaluated. The iteration at which the budget runs out becomes the
    last one: the loop validates the model as it stands and the checkpoint
    hook saves it (``iter_N.pth``), as at the end of a full schedule.

    Every validation appends a point ``{train_s, wall_s, iter, <metrics>}``;
    at the end they are written to ``<work_dir>/<json_name>`` and drawn as
    metric against training minutes in ``<work_dir>/<png_name>``.

    Args:
        minutes: training-time budget.
        json_name, png_name: output files in the work dir.
    """

    priority = 'LOW'  # before CheckpointHook (VERY_LOW) in after_train_iter

    def __init__(self, minutes: float, json_name: str = 'budget.json',
                 png_name: str = 'budget.png') -> None:
        if minutes <= 0:
            raise ValueError(f'TimeBudgetHook: minutes={minutes}; need > 0')
        self.budget_s = minutes * 60.0
        self.json_name = json_name
        self.png_name = png_name
        self.points: List[dict] = []
        self._start: Optional[float] = None
        self._paused = 0.0
        self._val_start: Optional[float] = None
        self._stopped_at: Optional[int] = None
        self._planned_iters: Optional[int] = None

    # ----------------------------------------------------------------- clock
    def train_seconds(self) -> float:
        """Seconds of training so far (validation excluded)."""
        if self._start is None:
            return 0.0
        now = self._val_start if self._val_start is not None else \
            time.perf_counter()
        return now - self._start - self._paused

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        self._wall_start = time.time()

    def before_val(self, runner) -> None:
        if self._start is not None:
            self._val_start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._start is None or not metrics:
            return
        self.points.append(dict(
            train_s=round(self.train_seconds(), 2),
            wall_s=round(time.time() - self._wall_start, 2),
            iter=runner.iter, **{k: float(v) for k, v in metrics.items()
                                 if isinstance(v, (int, float))}))

    def after_val(self, runner) -> None:
        if self._val_start is not None:
            self._paused += time.perf_counter() - self._val_start
            self._val_start = None

    # ------------------------------------------------------------------ stop
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._stopped_at is not None or \
                self.train_seconds() < self.budget_s:
            return
        loop = runner.train_loop
        done = runner.iter + 1
        self._planned_iters = loop.max_iters
        self._stopped_at = done
        print_log(f'time budget of {self.budget_s / 60:g} min spent at '
                  f'iteration {done} of {loop.max_iters}', logger='current')
        # This iteration becomes the last: the loop validates after it and
        # CheckpointHook (which runs after this hook) saves it as the last
        # checkpoint, as at the end of a full schedule.
        loop._max_iters = done

    def after_train(self, runner) -> None:
        summary = dict(budget_min=self.budget_s / 60,
                       train_s=round(self.train_seconds(), 2),
                       iters=runner.iter,
                       max_iters=self._planned_iters or runner.iter,
                       stopped_by_budget=self._stopped_at is not None,
                       points=self.points)
        path = osp.join(runner.work_dir, self.json_name)
        with open(path, 'w') as f:
            json.dump(summary, f, indent=2)
        if self.points:
            plot_budget_curve([(osp.basename(runner.work_dir), self.points)],
                              osp.join(runner.work_dir, self.png_name))
        print_log(f'time budget: {summary["train_s"] / 60:.1f} training min, '
                  f'{summary["iters"]} iterations; curve in {path}',
                  logger='current')


def plot_budget_curve(runs, path: str, metrics=('mDice', 'mJaccard')) -> None:
    """Draw metric against training minutes for one or more runs.

    Args:
        runs: ``[(label, points), ...]`` with points as recorded by
            :class:`TimeBudgetHook`.
        path: PNG to write.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6))
    for ax, metric in zip(axes, metrics):
        for label, points in runs:
            pts = [p for p in points if metric in p]
            ax.plot([p['train_s'] / 60 for p in pts],
                    [p[metric] for p in pts], marker='o', label=label)
        ax.set_xlabel('training minutes (validation excluded)')
        ax.set_ylabel(f'val {metric} (%)')
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
