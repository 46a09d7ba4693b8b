"""mmseg's ``RandomCrop`` with the same crops, much cheaper on pets.

With ``cat_max_ratio < 1`` mmseg's ``RandomCrop`` draws up to ten crops and
keeps the first where no class covers more than that share of the pixels,
counting classes with ``np.unique`` (a sort of every pixel) per draw. On
pets the background covers about 90 % of a photo, so nearly every image
takes all ten draws, and the crop becomes most of the training pipeline's
time: time the data-loader worker takes from the training step on a
2-core machine (docs/benchmarks.md, section 2, has the figures).
:class:`FastRandomCrop` counts with ``np.bincount`` instead and draws from
``np.random`` in the same order, so a seeded run gets exactly the crops
``RandomCrop`` gives.
"""
from __future__ import annotations

import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


def class_counts(seg_map: np.ndarray, ignore_index: int) -> np.ndarray:
    """Pixel count of each value present in ``seg_map`` except
    ``ignore_index``, in value order: ``np.unique(seg_map,
    return_counts=True)[1]`` without the ignored value."""
    if seg_map.dtype.kind == 'u' or (seg_map.size and seg_map.min() >= 0):
        counts = np.bincount(seg_map.ravel())
        if 0 <= ignore_index < counts.size:
            counts[ignore_index] = 0
        return counts[counts > 0]
    labels, counts = np.unique(seg_map, return_counts=True)
    return counts[labels != ignore_index]


@TRANSFORMS.register_module()
class FastRandomCrop(RandomCrop):
    """``RandomCrop`` (same arguments, same crops for the same random
    state) whose class-share test costs a ``np.bincount`` per draw."""

    @cache_randomness
    def crop_bbox(self, results: dict) -> tuple:
        """``(y1, y2, x1, x2)`` of the crop, as ``RandomCrop.crop_bbox``."""
        img = results['img']

        def draw() -> tuple:
            margin_h = max(img.shape[0] - self.crop_size[0], 0)
            margin_w = max(img.shape[1] - self.crop_size[1], 0)
            offset_h = np.random.randint(0, margin_h + 1)
            offset_w = np.random.randint(0, margin_w + 1)
            return (offset_h, offset_h + self.crop_size[0],
                    offset_w, offset_w + self.crop_size[1])

        bbox = draw()
        if self.cat_max_ratio < 1.:
            for _ in range(10):
                counts = class_counts(self.crop(results['gt_seg_map'], bbox),
                                      self.ignore_index)
                if len(counts) > 1 and \
                        counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                bbox = draw()
        return bbox
