"""Where a runner's iteration goes besides the model: each hook's time.

:class:`HookCosts` replaces a Runner's ``call_hook`` with the same loop
(mmengine 0.10's, error message included) that also adds up, per hook
class, the seconds its methods take while counting is on. A hook that
works inside the model's forward pass (``TrainMetricsHook.record``, which
the decode head's loss calls) has that time counted too: every hook's
``record`` method is timed as well. The measuring clock of
:func:`benchmarks.lib.alternating.alternating_seconds` turns counting on
for the runner's timed iterations only.
"""
from __future__ import annotations

import functools
import time
from collections import defaultdict
from typing import Callable, Dict, Sequence


def timed(method: Callable, add: Callable[[float], None]) -> Callable:
    """``method``, calling ``add(seconds)`` after every call (also one that
    raises); ``functools.wraps`` keeps the marks others put on it, such as
    mmengine's scheduler counter on ``step``."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            add(time.perf_counter() - start)
    return wrapper


class HookCosts:
    """Seconds per hook class over the iterations it counted."""

    def __init__(self) -> None:
        self.totals: Dict[str, float] = defaultdict(float)
        self.counting = False
        self.iterations = 0

    def wrap(self, runner) -> None:
        """Time every hook method ``runner`` calls from now on."""
        def call_hook(fn_name: str, **kwargs) -> None:
            for hook in runner._hooks:
                if not hasattr(hook, fn_name):
                    continue
                start = time.perf_counter()
                try:
                    getattr(hook, fn_name)(runner, **kwargs)
                except TypeError as e:
                    raise TypeError(f'{e} in {hook}') from None
                if self.counting:
                    self.totals[type(hook).__name__] += \
                        time.perf_counter() - start
        runner.call_hook = call_hook
        for hook in runner._hooks:
            if callable(getattr(hook, 'record', None)):
                hook.record = timed(hook.record, functools.partial(
                    self._add, type(hook).__name__))

    def _add(self, name: str, seconds: float) -> None:
        if self.counting:
            self.totals[name] += seconds

    def ms_per_iteration(self, skip: Sequence[str] = ('AlternatingClock',)
                         ) -> Dict[str, float]:
        """Hook class -> milliseconds per counted iteration, largest first
        (hooks that took under 0.05 ms are left out)."""
        n = max(self.iterations, 1)
        costs = {name: 1000 * s / n for name, s in self.totals.items()
                 if name not in skip}
        return {name: round(ms, 1) for name, ms in
                sorted(costs.items(), key=lambda kv: -kv[1]) if ms >= 0.05}


def hook_table(rows: Sequence[dict]) -> str:
    """Markdown: per config, each hook's ms per training iteration and its
    share of the runner's iteration time; then the time the iteration
    waited for its batch (``loader_wait_ms``), when measured."""
    lines = ['| config | hook | ms / iteration | % of the iteration |',
             '|---|---|---|---|']
    for row in rows:
        iteration_ms = 1000 * row['batch'] / row['runner_train']
        for name, ms in (row.get('hook_ms') or {}).items():
            lines.append(f"| {row['config']} | {name} | {ms:.1f} | "
                         f'{100 * ms / iteration_ms:.1f} |')
        wait = row.get('loader_wait_ms')
        if wait is not None:
            lines.append(f"| {row['config']} | (waiting for the data "
                         f'loader) | {wait:.1f} | '
                         f'{100 * wait / iteration_ms:.1f} |')
    return '\n'.join(lines) + '\n'
