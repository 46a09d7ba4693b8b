"""The confusion matrix of a split: areas, row-normalised rates, a terminal
table and a JSON record (numpy only; :class:`~custom_modules.evaluation.
JaccardMetric` fills :attr:`confusion` after each evaluation).

Convention everywhere: ``confusion[t, p]`` is the number of pixels whose
ground truth is class ``t`` and whose prediction is class ``p`` (rows =
ground truth, columns = prediction), int64, ignored pixels (label 255) and
pixels with a label or prediction outside 0..C-1 left out.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np


def areas_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """(C, C) confusion -> (3, C) areas in pixels: intersection (diagonal),
    predicted area (column sums) and ground-truth area (row sums), the input
    of :func:`~custom_modules.evaluation.scores_from_areas`."""
    confusion = np.asarray(confusion)
    return np.stack([confusion.diagonal(), confusion.sum(0),
                     confusion.sum(1)])


def row_normalised(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its sum: float64 (C, C) fractions in [0, 1].

    Entry ``[t, p]`` is the share of class ``t``'s ground-truth pixels
    predicted as ``p``; the diagonal is the per-class accuracy (recall).
    A class with no ground-truth pixels (empty row) gets a row of **0**
    (not NaN), so the result is finite and JSON-safe; its row sums to 0
    instead of 1.
    """
    confusion = np.asarray(confusion, np.float64)
    totals = confusion.sum(1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion),
                     where=totals > 0)


def format_confusion_table(confusion: np.ndarray,
                           classes: Sequence[str]) -> str:
    """A plain-text confusion table, like :func:`~custom_modules.evaluation.
    jaccard_metric.format_class_table`: two blocks with one row per true
    class (``true <class>``) and one column per predicted class, first the
    counts in pixels, then the row percentages (:func:`row_normalised`
    x 100, 2 decimals). Columns are as wide as the longest class name or
    count, so three classes fit in 80 terminal columns.

    Args:
        confusion: (C, C) pixel counts, rows ground truth, columns
            prediction.
        classes: C class names, in index order.
    """
    confusion = np.asarray(confusion)
    rates = 100 * row_normalised(confusion)
    head = max(len(f'true {c}') for c in classes) + 2
    width = max([len(c) for c in classes] +
                [len(str(int(v))) for v in confusion.ravel()] + [6]) + 2
    lines = []
    for title, cells in (
            ('confusion (rows: true, columns: predicted), pixels',
             [[f'{int(v)}' for v in row] for row in confusion]),
            ('confusion, % of each true class',
             [[f'{v:.2f}' for v in row] for row in rates])):
        if lines:
            lines.append('')
        lines.append(title)
        lines.append(' ' * head + ''.join(f'{c:>{width}}' for c in classes))
        for cls, row in zip(classes, cells):
            lines.append(f'{"true " + cls:<{head}}' +
                         ''.join(f'{v:>{width}}' for v in row))
    return '\n'.join(lines)


def confusion_record(confusion: np.ndarray,
                     classes: Sequence[str]) -> Dict[str, list]:
    """A JSON-able dict of the confusion matrix (for ``test_results.json``
    or an experiment tracker)::

        {'classes': [C names],
         'counts': [[C ints]] * C,          # pixels, rows = ground truth
         'row_normalised': [[C floats]] * C}  # % of each true class,
                                              # 2 decimals; 0 for empty rows

    Plain Python ``str``/``int``/``float`` only, no NaN.
    """
    confusion = np.asarray(confusion)
    rates = 100 * row_normalised(confusion)
    return {'classes': [str(c) for c in classes],
            'counts': [[int(v) for v in row] for row in confusion],
            'row_normalised': [[round(float(v), 2) for v in row]
                               for row in rates]}


__all__: List[str] = ['areas_from_confusion', 'row_normalised',
                      'format_confusion_table', 'confusion_record']
