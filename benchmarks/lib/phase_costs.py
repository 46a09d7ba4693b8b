"""Where a training iteration's time goes: the runner's phases against the
bare loop's, timed in the same blocks (``benchmarks/throughput.py``).

:class:`PhaseCosts` wraps, when the runner's training starts, the calls
``model.train_step`` makes (mmengine 0.10): the data preprocessor, the
forward pass with the loss (``_run_forward``; work a hook does inside it,
such as ``TrainMetricsHook.record``, is part of it), the backward pass and
the optimizer (``step`` and ``zero_grad``); the bare loop times the same
parts of its step (:func:`.step_cost.bare_step`). What the iteration
spends outside ``train_step`` (fetching the batch, the hooks) is the
iteration time minus ``train_step``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook

from .hook_costs import timed
from .step_cost import bare_step

#: The phases of both loops, in the order of a step.
PHASES = ('preprocess', 'forward', 'backward', 'optimizer')


class PhaseCosts(Hook):
    """Seconds per phase of the runner's training steps and of the bare
    loop's, summed while ``counting`` is on (the measuring clock turns it
    on for the timed blocks)."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.runner: Dict[str, float] = defaultdict(float)
        self.bare: Dict[str, float] = defaultdict(float)
        self.runner_steps = 0
        self.bare_steps = 0
        self.counting = False

    def before_train(self, runner) -> None:
        model, wrapper = runner.model, runner.optim_wrapper
        self._wrap(model.data_preprocessor, 'forward', 'preprocess')
        self._wrap(model, '_run_forward', 'forward')
        self._wrap(wrapper, 'backward', 'backward')
        self._wrap(wrapper, 'step', 'optimizer')
        self._wrap(wrapper, 'zero_grad', 'optimizer')
        self._wrap(model, 'train_step', 'train_step', step=True)

    def _wrap(self, owner, method: str, phase: str, step: bool = False
              ) -> None:
        def add(seconds: float) -> None:
            if self.counting:
                self.runner[phase] += seconds
                self.runner_steps += step
        setattr(owner, method, timed(getattr(owner, method), add))

    def bare_step(self, batch, optimizer, autocast=None) -> None:
        """One bare training step (:func:`.step_cost.bare_step`), its phases
        counted while counting is on."""
        bare_step(batch, optimizer, autocast,
                  times=self.bare if self.counting else None)
        self.bare_steps += self.counting

    def ms_per_step(self) -> dict:
        """``{'runner': {phase: ms}, 'bare': {phase: ms}}`` per counted step
        (the runner's also ``train_step``, the whole call)."""
        def per_step(totals, n):
            return {k: round(1000 * v / max(n, 1), 1)
                    for k, v in totals.items()}
        return dict(runner=per_step(self.runner, self.runner_steps),
                    bare=per_step(self.bare, self.bare_steps))


def phase_table(rows: Sequence[dict]) -> str:
    """Markdown: per config, each phase's ms per step in the runner and in
    the bare loop and the difference; then the rest of ``train_step``, what
    the iteration spent outside it (batch fetch and hooks) and the whole
    iteration: the mean over the runner's blocks (``runner_rounds``), like
    the phases, not the median img/s of the main table; and the page
    faults per iteration where the row has them."""
    lines = ['| config | phase | runner ms | bare loop ms | runner − bare |',
             '|---|---|---|---|---|']
    for row in rows:
        phases: Optional[dict] = row.get('phase_ms')
        if not phases:
            continue
        runner, bare = phases['runner'], phases['bare']
        for phase in PHASES:
            ms = runner.get(phase, 0.0)
            other = bare.get(phase)
            lines.append(f"| {row['config']} | {phase} | {ms:.1f} | "
                         + (f'{other:.1f} | {ms - other:+.1f} |'
                            if other is not None else '– | – |'))
        step = runner.get('train_step', 0.0)
        rest = step - sum(runner.get(p, 0.0) for p in PHASES)
        # the mean iteration over the blocks, as the phases are means
        blocks = row.get('runner_rounds') or [row['runner_train']]
        iteration = sum(1000 * row['batch'] / r for r in blocks) / len(blocks)
        bare_step_ms = sum(bare.get(p, 0.0) for p in PHASES)
        lines += [f"| {row['config']} | rest of train_step | {rest:.1f} | – "
                  '| – |',
                  f"| {row['config']} | outside train_step (batch, hooks) | "
                  f'{iteration - step:.1f} | – | – |',
                  f"| {row['config']} | **iteration** | {iteration:.1f} | "
                  f'{bare_step_ms:.1f} | {iteration - bare_step_ms:+.1f} |']
        faults = row.get('page_faults_per_iter')
        if faults:  # counts, not ms: the kernel's cost behind some of them
            lines.append(f"| {row['config']} | page faults per iteration "
                         f"(count) | {faults['runner']} | {faults['bare']} "
                         f"| {faults['runner'] - faults['bare']:+d} |")
    return '\n'.join(lines) + '\n'
