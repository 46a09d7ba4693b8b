"""Early stopping that a config declares once and switches on by a key."""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import EarlyStoppingHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class OptionalEarlyStoppingHook(EarlyStoppingHook):
    """mmengine's :class:`~mmengine.hooks.EarlyStoppingHook` with a switch.

    ``configs/_base_/default_runtime.py`` declares it, off, as
    ``default_hooks.early_stopping``, so every Runner built from the configs
    has it and one key turns it on
    (``--cfg-options default_hooks.early_stopping.enable=True``), whichever
    tool builds the Runner. When off it does nothing at all; when on it is
    mmengine's hook: after each validation, training stops once ``monitor``
    has not improved by ``min_delta`` for ``patience`` validations in a row.

    Unlike mmengine's hook it does not build the training loop in
    ``before_run`` (a test-only Runner, e.g. ``tools/test.py``, has no
    training data to build it from); it checks the loop in ``before_train``.

    Args:
        enable: stop early (False: the hook is inert).
        monitor: the validation metric, e.g. ``mJaccard`` (percent).
        rule: ``'greater'`` (higher is better) or ``'less'``.
        **kwargs: the rest of ``EarlyStoppingHook``'s arguments
            (``patience``, ``min_delta``, ``stopping_threshold``...).
    """

    def __init__(self, enable: bool = False, monitor: str = 'mJaccard',
                 rule: Optional[str] = 'greater', **kwargs) -> None:
        super().__init__(monitor=monitor, rule=rule, **kwargs)
        self.enable = bool(enable)

    def before_run(self, runner) -> None:
        pass  # checked in before_train, where the train loop exists

    def before_train(self, runner) -> None:
        if self.enable:
            super().before_run(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.enable:
            super().after_val_epoch(runner, metrics)
