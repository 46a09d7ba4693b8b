"""Jaccard (IoU), Dice and accuracy per class, summed over a whole split."""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS

from .confusion import areas_from_confusion, format_confusion_table


def class_areas(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
                ignore_index: int = 255) -> np.ndarray:
    """Pixel counts per class for one image (or a batch).

    Args:
        pred, label: class ids, same shape ((H, W), or (N, H, W) for a
            batch) and device; pixels whose label is ``ignore_index`` or
            whose label or prediction lies outside 0..C-1 are not counted.
        num_classes: C.
        ignore_index: label value excluded from every count.

    Returns:
        int64 array of shape (3, C): rows are intersection, predicted area
        and ground-truth area, in pixels (:func:`class_area_counts`, moved
        to the host).
    """
    return class_area_counts(pred, label, num_classes,
                             ignore_index).cpu().numpy()


def class_area_counts(pred: torch.Tensor, label: torch.Tensor,
                      num_classes: int,
                      ignore_index: int = 255) -> torch.Tensor:
    """:func:`class_areas` as an int64 tensor of shape (3, C) on ``pred``'s
    device: diagonal, column sums and row sums of :func:`class_confusion`
    (one ``bincount``), no copy to the host, so it can be summed over
    training steps without a device sync."""
    confusion = class_confusion(pred, label, num_classes, ignore_index)
    return torch.stack([confusion.diagonal(), confusion.sum(0),
                        confusion.sum(1)])


def class_confusion(pred: torch.Tensor, label: torch.Tensor,
                    num_classes: int,
                    ignore_index: int = 255) -> torch.Tensor:
    """Confusion matrix of one image (or a batch): int64 tensor (C, C) on
    ``pred``'s device, ``[t, p]`` = pixels with label ``t`` predicted ``p``
    (rows ground truth, columns prediction). Pixels whose label is
    ``ignore_index`` or whose label or prediction lies outside 0..C-1 are
    left out (as in :func:`class_areas`). One ``bincount`` of
    (label, prediction) pairs."""
    valid = (label != ignore_index) & (label >= 0) & \
        (label < num_classes) & (pred >= 0) & (pred < num_classes)
    bins = num_classes ** 2  # (label, prediction) pairs; bin C*C: left out
    pairs = torch.where(valid, label.long() * num_classes + pred.long(),
                        bins)
    return torch.bincount(pairs.reshape(-1), minlength=bins + 1)[
        :bins].reshape(num_classes, num_classes)


def scores_from_areas(areas: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-class scores in [0, 1] from summed areas of shape (3, C).

    Classes absent from both prediction and ground truth get NaN Jaccard and
    Dice; classes absent from the ground truth get NaN accuracy.
    """
    inter, pred, label = areas.astype(np.float64)
    union = pred + label - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        return dict(Jaccard=np.where(union > 0, inter / union, np.nan),
                    Dice=np.where(pred + label > 0,
                                  2 * inter / (pred + label), np.nan),
                    Acc=np.where(label > 0, inter / label, np.nan))


def image_jaccard(areas: np.ndarray) -> float:
    """One image's Jaccard: mean over classes present in GT or prediction."""
    jac = scores_from_areas(areas)['Jaccard']
    return float(np.nanmean(jac)) if np.isfinite(jac).any() else 1.0


@METRICS.register_module()
class JaccardMetric(BaseMetric):
    """Per-class Jaccard, Dice and accuracy with their means, in percent.

    Areas are summed over the whole split before dividing, as mmseg's
    ``IoUMetric`` does. Keys (stable, usable by ``save_best``): ``mJaccard``,
    ``mDice``, ``mAcc``, ``aAcc`` and ``Jaccard.<class>``, ``Dice.<class>``,
    ``Acc.<class>``.

    After each evaluation, :attr:`per_image` holds one record per image
    (``img_path``, ``jaccard`` in [0, 1], per-class ``areas``), ordered as
    the dataset, for worst-N ranking, and :attr:`confusion` holds the
    split's confusion matrix: numpy int64 (C, C), ``[t, p]`` = pixels of
    ground-truth class ``t`` predicted as ``p`` (ignored pixels left out);
    :mod:`~custom_modules.evaluation.confusion` turns it into a table or a
    JSON record. The returned metrics stay scalar-only.

    Each evaluation logs the per-class table (:func:`format_class_table`)
    and the confusion table (:func:`~custom_modules.evaluation.confusion.
    format_confusion_table`) unless :attr:`log_table` is False
    (``tools/test.py`` prints them last itself).

    Args:
        ignore_index: label value excluded from all counts.
        prefix: optional metric-name prefix (mmengine convention); none by
            default, so the keys above are the logged names.
    """

    #: '' (not None): no prefix, and no mmengine warning that none is set.
    default_prefix: Optional[str] = ''
    #: Log the per-class and confusion tables after each evaluation.
    log_table: bool = True

    def __init__(self, ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.per_image: List[dict] = []
        #: The last evaluation's (C, C) int64 confusion matrix; None before
        #: the first one, and on non-main processes of a distributed run
        #: (mmengine computes metrics on rank 0 only).
        self.confusion: Optional[np.ndarray] = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze()
            label = sample['gt_sem_seg']['data'].squeeze().to(pred)
            # one small record per image: its (C, C) confusion counts
            # (areas are derived from it); collected across ranks as is
            self.results.append(dict(
                img_path=sample.get('img_path', ''),
                confusion=class_confusion(pred, label, num_classes,
                                          self.ignore_index).cpu().numpy()))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        classes = self.dataset_meta['classes']
        num_classes = len(classes)
        self.confusion = np.zeros((num_classes, num_classes), np.int64)
        for r in results:
            self.confusion += r['confusion']
        total = areas_from_confusion(self.confusion)
        scores = scores_from_areas(total)
        metrics: Dict[str, float] = OrderedDict()
        metrics['aAcc'] = round(100 * total[0].sum() / max(total[2].sum(), 1), 2)
        for name, values in scores.items():
            metrics[f'm{name}'] = round(100 * float(np.nanmean(values)), 2)
        for name, values in scores.items():
            for cls, v in zip(classes, values):
                metrics[f'{name}.{cls}'] = round(100 * float(v), 2)
        self.per_image = []
        for r in results:
            areas = areas_from_confusion(r['confusion'])
            self.per_image.append(dict(img_path=r['img_path'],
                                       jaccard=image_jaccard(areas),
                                       areas=areas))
        if self.log_table:
            print_log('\n' + format_class_table(metrics, classes) + '\n\n' +
                      format_confusion_table(self.confusion, classes),
                      logger=MMLogger.get_current_instance())
        return metrics


def format_class_table(metrics: Dict[str, float],
                       classes: Sequence[str]) -> str:
    """A plain-text table: one row per class, Jaccard / Dice / Acc in %."""
    lines = [f'{"class":<12}{"Jaccard":>9}{"Dice":>9}{"Acc":>9}']
    for cls in classes:
        lines.append(f'{cls:<12}' + ''.join(
            f'{metrics.get(f"{k}.{cls}", float("nan")):>9.2f}'
            for k in ('Jaccard', 'Dice', 'Acc')))
    lines.append(f'{"mean":<12}' + ''.join(
        f'{metrics[f"m{k}"]:>9.2f}' for k in ('Jaccard', 'Dice', 'Acc')))
    return '\n'.join(lines)
