"""The runner and a bare loop in alternating blocks of one training run.

Timing the runner in one window and the bare loop in another lets the
machine's own drift (a 2-core cloud VM: the bare loop alone moved by
±10 % between rounds a minute apart) decide the ratio. Here one
``Runner.train()`` warms up once (worker start-up, image caches), then
:class:`AlternatingClock` times ``block`` runner iterations, pauses the run
for ``block`` steps of the bare loop (another copy of the model, one
preprocessed batch reused) and resumes, ``blocks`` times, so both see the
same minutes. While the bare loop runs, the idle data-loader worker can
only fill its prefetch queue (two batches), which the next runner
iterations then find ready: at most two batches' loading moves from the
runner's side to the bare loop's per block. Each side's page faults per
iteration are counted too (:func:`page_faults`).
"""
from __future__ import annotations

import resource
import tempfile
import time
from typing import List, Optional, Tuple

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.hooks import Hook

from custom_modules.hooks.channels_last import uses_channels_last
from custom_modules.optim import autocast_dtype
from .budget import calibration_config
from .step_cost import adamw_for, bare_batch, bare_step


def page_faults() -> int:
    """Page faults of this process so far (minor and major): each is a
    page of memory the kernel handed in (zeroed) on first touch."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


class AlternatingClock(Hook):
    """After a warm-up, alternates ``block`` timed runner iterations with
    ``block`` bare steps (run from this hook) until ``blocks`` pairs are
    timed, then stops the run. ``runner_s`` / ``bare_s``: seconds per
    iteration of each block; ``runner_faults`` / ``bare_faults``: page
    faults per iteration of each block."""

    priority = 'VERY_LOW'

    def __init__(self, bare_step_fn, block: int, blocks: int,
                 warmup_iters: int, warmup_seconds: float, costs=None,
                 waits: Optional[list] = None, phases=None) -> None:
        self.bare_step_fn = bare_step_fn
        self.block, self.blocks = block, blocks
        self.warmup_iters, self.warmup_seconds = warmup_iters, warmup_seconds
        self.costs = costs  # a HookCosts: counts runner blocks only
        self.waits = waits  # seconds each timed iteration waited for data
        self.phases = phases  # a PhaseCosts: counts both loops' blocks
        self.runner_s: List[float] = []
        self.bare_s: List[float] = []
        self.runner_faults: List[float] = []
        self.bare_faults: List[float] = []
        self._faults = 0  # page faults when the runner's block began
        self._first = self._start = None
        self._done = 0
        self._last = None  # end of the previous iteration (and bare block)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        # the loop has fetched this iteration's batch since self._last
        # (mmengine's data_time would count the bare block too)
        if self._start is not None and self.waits is not None:
            self.waits.append(time.perf_counter() - self._last)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        now = self._last = time.perf_counter()
        if self._start is None:  # warming up
            self._first = self._first or now
            if runner.iter + 1 < self.warmup_iters and \
                    now - self._first < self.warmup_seconds:
                return
            self.bare_step_fn()  # the bare loop's own first, slow step
            self._begin_block()
            return
        self._done += 1
        if self._done < self.block:
            return
        self.runner_s.append((now - self._start) / self.block)
        faults = page_faults()
        self.runner_faults.append((faults - self._faults) / self.block)
        if self.costs is not None:
            self.costs.counting = False
            self.costs.iterations += self.block
        start = time.perf_counter()
        for _ in range(self.block):
            self.bare_step_fn()
        self.bare_s.append((time.perf_counter() - start) / self.block)
        self.bare_faults.append((page_faults() - faults) / self.block)
        if len(self.bare_s) >= self.blocks:
            runner.train_loop.stop_training = True
            self._start = None
            if self.phases is not None:
                self.phases.counting = False
        else:
            self._begin_block()

    def _begin_block(self) -> None:
        self._done = 0
        if self.costs is not None:
            self.costs.counting = True
        if self.phases is not None:
            self.phases.counting = True
        self._faults = page_faults()
        self._start = self._last = time.perf_counter()


def alternating_seconds(cfg: Config, block: int = 8, blocks: int = 5,
                        warmup_iters: int = 30, warmup_seconds: float = 60.0,
                        costs=None, waits: Optional[list] = None,
                        phases=None, faults: Optional[dict] = None
                        ) -> Tuple[List[float], List[float]]:
    """``(runner, bare)`` seconds per training iteration, one value per
    block (see the module docstring).

    The runner trains ``cfg`` with its data pipeline, workers and hooks
    (validation, checkpoints and ClearML off: :func:`.budget.
    calibration_config`); the bare loop runs ``loss = model(x, samples,
    mode='loss'); backward; AdamW step`` on a model built from ``cfg`` and
    its first training batch, in channels_last and under bfloat16 autocast
    when the runner's model is. ``costs`` (a :class:`.hook_costs.HookCosts`)
    counts each hook's time over the runner's timed iterations; ``waits``
    gets the seconds each of them waited for its batch; ``phases`` (a
    :class:`.phase_costs.PhaseCosts`) times the parts of both loops' steps
    in the timed blocks; ``faults`` (a dict) gets each side's page faults
    per iteration, one value per block, as ``runner`` and ``bare``.
    """
    from mmengine.runner import Runner
    bare = bare_batch(cfg, channels_last=uses_channels_last(cfg))
    optimizer = adamw_for(cfg, bare.model)
    dtype = autocast_dtype(cfg, 'cpu')
    step = phases.bare_step if phases is not None else bare_step
    clock = AlternatingClock(lambda: step(bare, optimizer, dtype),
                             block, blocks, warmup_iters, warmup_seconds,
                             costs, waits, phases)
    with tempfile.TemporaryDirectory(prefix='throughput_train_') as tmp:
        runner = Runner.from_cfg(calibration_config(cfg, tmp))
        if costs is not None:
            costs.wrap(runner)
        runner.register_hook(clock)
        if phases is not None:
            runner.register_hook(phases)
        runner.train()
    if faults is not None:
        faults.update(runner=clock.runner_faults, bare=clock.bare_faults)
    if len(clock.bare_s) < blocks:
        raise RuntimeError(f'the run ended after {len(clock.bare_s)} of '
                           f'{blocks} timed blocks')
    return clock.runner_s, clock.bare_s
