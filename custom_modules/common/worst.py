"""Worst-N predictions: rank images by their own Jaccard, picture them, and
check whether several models fail on the same images.

The per-image records come from :class:`~custom_modules.evaluation.
JaccardMetric` (``.per_image``: ``img_path``, ``jaccard`` in [0, 1],
``areas``); ``tools/test.py --worst N`` and ``tools/kfold.py`` both rank
with :func:`rank_images` and draw with :func:`worst_grid`.
"""
from __future__ import annotations

import itertools
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .overlay import add_legend, comparison_row, stack_rows


def stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def rank_images(per_image: Sequence[dict]) -> List[dict]:
    """Records sorted worst first: by ``jaccard`` ascending, ties by path.

    Each returned record is a copy with ``rank`` (1 = worst) added.
    """
    ordered = sorted(per_image, key=lambda r: (r['jaccard'], r['img_path']))
    return [dict(r, rank=i) for i, r in enumerate(ordered, 1)]


def worst_n(per_image: Sequence[dict], n: int) -> List[dict]:
    """The ``n`` worst records (see :func:`rank_images`)."""
    return rank_images(per_image)[:max(n, 0)]


def _fit(image: np.ndarray, gt: Optional[np.ndarray], pred: np.ndarray,
         max_side: int) -> Tuple[np.ndarray, Optional[np.ndarray], np.ndarray]:
    """Scale a photo and its masks down so the longer side is ``max_side``."""
    h, w = pred.shape[:2]
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    scale = max_side / max(h, w)
    if scale >= 1:
        return image, gt, pred
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    near = cv2.INTER_NEAREST
    return (cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            None if gt is None else cv2.resize(gt, size, interpolation=near),
            cv2.resize(pred, size, interpolation=near))


def worst_grid(rows: Sequence[Tuple[np.ndarray, Optional[np.ndarray],
                                    np.ndarray, str]],
               max_side: int = 256) -> np.ndarray:
    """One picture, a row per image: image | ground truth | prediction |
    errors (:func:`~custom_modules.common.overlay.comparison_row`), and
    the legend strip below (:func:`~custom_modules.common.overlay.
    add_legend`).

    Args:
        rows: ``(image_rgb, gt or None, pred, title)``; masks are class ids
            at the image's size.
        max_side: larger photos are scaled down to this side first.
    """
    grid = stack_rows([comparison_row(*_fit(img, gt, pred, max_side), title)
                       for img, gt, pred, title in rows])
    return add_legend(grid, errors=any(gt is not None for _, gt, _, _ in rows))


def row_title(record: dict) -> str:
    """'<stem> #rank J=0.42' for a ranked record."""
    rank = f' #{record["rank"]}' if 'rank' in record else ''
    return f'{stem(record["img_path"])}{rank} J={record["jaccard"]:.2f}'


def overlap_report(worst: Dict[str, Sequence[str]]) -> dict:
    """Do several models fail on the same images?

    Args:
        worst: model name -> its worst-N image names.

    Returns:
        ``pairwise``: ``[a, b, shared, jaccard]`` for every pair of models
        (shared = images in both worst sets, jaccard = shared / union);
        ``mean_pairwise_jaccard``; ``counts``: image -> number of models
        with it in their worst set, most shared first; ``majority``: images
        in the worst set of more than half the models.
    """
    names = list(worst)
    sets = {k: set(v) for k, v in worst.items()}
    pairwise = []
    for a, b in itertools.combinations(names, 2):
        shared = len(sets[a] & sets[b])
        union = len(sets[a] | sets[b])
        pairwise.append([a, b, shared, round(shared / union, 3) if union
                         else 1.0])
    counts = Counter(img for s in sets.values() for img in s)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(
        pairwise=pairwise,
        mean_pairwise_jaccard=round(float(np.mean([p[3] for p in pairwise])),
                                    3) if pairwise else None,
        counts=dict(ordered),
        majority=[img for img, c in ordered if c > len(names) / 2])
