"""The split's confusion matrix on the ClearML task after each validation."""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from .curves_hook import clearml_backend


def split_confusion(evaluator) -> Optional[np.ndarray]:
    """The (C, C) pixel confusion matrix (rows: ground truth, columns:
    prediction) of the evaluator's first metric that keeps one, or None."""
    for metric in getattr(evaluator, 'metrics', []):
        confusion = getattr(metric, 'confusion', None)
        if confusion is not None:
            return confusion
    return None


@HOOKS.register_module()
class ConfusionMatrixHook(Hook):
    """Report the val split's confusion matrix (pixel counts, and percent
    of each true class) to the run's ClearML task at every validation, so
    the task shows where the errors are (cat taken for dog...). Test runs
    report theirs from :class:`TestOutputsHook`, with the results file.

    Declared in the base runtime (``default_hooks.confusion_matrix``).
    """

    priority = 'LOW'

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        backend = clearml_backend(runner)
        confusion = split_confusion(runner.val_evaluator)
        if backend is None or confusion is None:
            return
        classes = runner.val_evaluator.dataset_meta['classes']
        backend.add_confusion_matrix('val', confusion, classes, runner.iter)
