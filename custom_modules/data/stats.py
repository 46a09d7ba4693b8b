"""Dataset statistics from :class:`.check.MaskRecord` lists.

Definitions (all per split, and for all splits together):

* ``pixel_share`` of a class: its pixels / all labelled pixels (pixels that
  are not 255); ``ignore_share``: 255 pixels / all pixels.
* ``images``: number of masks with at least one pixel of the class;
  ``image_share``: that / number of masks.
* ``instances_per_image``: connected pieces of the class that are not tiny
  (see :class:`.check.Thresholds`), averaged over all masks; ``..._present``
  averages over masks that contain the class.
* ``object_area``: distribution of non-tiny cat/dog piece areas, in pixels
  and as a fraction of their image.
"""
from __future__ import annotations

import numpy as np

from .check import MaskRecord
from .class_schema import CLASSES, IGNORE_INDEX

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)


def _distribution(values: list[float]) -> dict[str, float]:
    if not values:
        return {'count': 0}
    q = np.percentile(np.asarray(values, float), PERCENTILES)
    out: dict[str, float] = {'count': len(values),
                             'mean': float(np.mean(values))}
    out.update({f'p{p}': float(v) for p, v in zip(PERCENTILES, q)})
    return out


def dataset_stats(records: list[MaskRecord]) -> dict:
    """Numbers for one group of masks (see module docstring); JSON-ready."""
    n = len(records)
    counts = np.zeros(256, np.int64)
    for r in records:
        counts += np.asarray(r.counts, np.int64)
    total = int(counts.sum())
    labelled = total - int(counts[IGNORE_INDEX])
    classes = {}
    for cls, name in enumerate(CLASSES):
        with_cls = [r for r in records if r.counts[cls] > 0]
        inst = [sum(1 for c in r.components if c.cls == cls and not c.tiny)
                for r in records]
        inst_present = [k for r, k in zip(records, inst) if r.counts[cls] > 0]
        entry = {'pixels': int(counts[cls]),
                 'pixel_share': counts[cls] / labelled if labelled else 0.0,
                 'images': len(with_cls),
                 'image_share': len(with_cls) / n if n else 0.0}
        if cls > 0:
            entry.update({
                'instances': int(sum(inst)),
                'instances_per_image': float(np.mean(inst)) if n else 0.0,
                'instances_per_image_present':
                    float(np.mean(inst_present)) if inst_present else 0.0,
                'max_instances_per_image': int(max(inst, default=0))})
        entry['pixel_share'] = float(entry['pixel_share'])
        classes[name] = entry
    areas = [(c.area, c.area / (r.height * r.width), c.cls)
             for r in records for c in r.components if not c.tiny]
    return {
        'images': n,
        'pixels': total,
        'ignore_pixels': int(counts[IGNORE_INDEX]),
        'ignore_share': float(counts[IGNORE_INDEX] / total) if total else 0.0,
        'image_sizes': sorted({f'{r.width}x{r.height}' for r in records}),
        'classes': classes,
        'object_area_px': _distribution([a for a, _, _ in areas]),
        'object_area_fraction': _distribution([f for _, f, _ in areas]),
        'object_area_fraction_by_class': {
            CLASSES[k]: [round(f, 6) for _, f, c in areas if c == k]
            for k in range(1, len(CLASSES))},
    }


def split_stats(records: list[MaskRecord], splits: list[str]) -> dict:
    """``{split: dataset_stats(...)}`` for each split plus ``'all'``."""
    out = {s: dataset_stats([r for r in records if r.split == s])
           for s in splits}
    if len(splits) > 1:
        out['all'] = dataset_stats(records)
    return out
