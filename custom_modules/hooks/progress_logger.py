"""Training progress lines soon after the start, whatever the speed."""
from __future__ import annotations

import time
from typing import Optional

from mmengine.hooks import LoggerHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class ProgressLoggerHook(LoggerHook):
    """mmengine's ``LoggerHook`` plus progress lines by the clock.

    Besides every ``interval`` iterations, a progress line (iteration, lr,
    ETA, losses) is printed after the first iteration and whenever
    ``max_seconds`` have passed since the last line, so a slow CPU run
    shows its ETA within seconds instead of after ``interval`` iterations.
    The extra lines go to the log only; scalars (``scalars.json``, ClearML,
    curves) keep the regular ``interval``.

    Args:
        max_seconds: longest wait between two progress lines (seconds).
        **kwargs: :class:`mmengine.hooks.LoggerHook` arguments.
    """

    def __init__(self, *args, max_seconds: float = 15.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_seconds = max_seconds
        self._last_line: Optional[float] = None

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._last_line = time.monotonic()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        now = time.monotonic()
        regular = self.every_n_inner_iters(batch_idx, self.interval) or \
            self.end_of_epoch(runner.train_dataloader, batch_idx)
        if regular:
            super().after_train_iter(runner, batch_idx, data_batch, outputs)
        elif batch_idx == 0 or now - (self._last_line or now) >= \
                self.max_seconds:
            _, line = runner.log_processor.get_log_after_iter(
                runner, batch_idx, 'train')
            runner.logger.info(line)
        else:
            return
        self._last_line = now
