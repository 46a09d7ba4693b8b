"""mmseg's ``RandomCrop`` with the same crops, much cheaper on pets.

With ``cat_max_ratio < 1`` mmseg's ``RandomCrop`` draws up to ten crops and
keeps the first where no class covers more than that share of the pixels,
counting classes with ``np.unique`` (a sort of every pixel) per draw. On
pets the background covers about 90 % of a photo, so nearly every image
takes all ten draws, and the crop becomes most of the training pipeline's
time: time the data-loader worker takes from the training step on a
2-core machine (docs/benchmarks.md, section 2, has the figures).
:class:`FastRandomCrop` counts by comparing with the values the map holds
(or with ``np.bincount``) instead, skips the count where its outcome is
certain, and draws from ``np.random`` in the same order, so a seeded run
gets exactly the crops ``RandomCrop`` gives.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


#: At most this many values are remembered and counted one by one.
MAX_LIKELY_VALUES = 8


def value_counts(seg_map: np.ndarray, likely: Sequence[int] = ()
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """``(values, counts)`` of the values present in ``seg_map``, in value
    order: ``np.unique(seg_map, return_counts=True)``.

    ``likely``: values the map probably holds, in order (at most
    ``MAX_LIKELY_VALUES``; more are ignored). When they account for every
    pixel, each is counted with a comparison (about ten times faster than a
    histogram on a pets-sized uint8 map: one pass of a few bytes a pixel
    instead of an 8-byte index per pixel); otherwise, and for maps with
    negative values, the histogram or ``np.unique`` counts.
    """
    if 0 < len(likely) <= MAX_LIKELY_VALUES and seg_map.dtype.kind in 'iu':
        likely = np.asarray(likely)
        counts = np.array([np.count_nonzero(seg_map == v) for v in likely],
                          dtype=np.intp)
        if counts.sum() == seg_map.size:
            present = counts > 0
            return likely[present], counts[present]
    if seg_map.dtype.kind == 'u' or (seg_map.size and seg_map.min() >= 0):
        counts = np.bincount(seg_map.ravel())
        values = np.flatnonzero(counts)
        return values, counts[values]
    return np.unique(seg_map, return_counts=True)


def class_counts(seg_map: np.ndarray, ignore_index: int,
                 likely: Sequence[int] = ()) -> np.ndarray:
    """Pixel count of each value present in ``seg_map`` except
    ``ignore_index``, in value order: ``np.unique(seg_map,
    return_counts=True)[1]`` without the ignored value (``likely``: as
    :func:`value_counts`)."""
    values, counts = value_counts(seg_map, likely)
    return counts[values != ignore_index]


@TRANSFORMS.register_module()
class FastRandomCrop(RandomCrop):
    """``RandomCrop`` (same arguments, same crops for the same random
    state) whose class-share test counts as few pixels as it can.

    Per image, the classes of the whole map are counted once. A draw then
    fails without counting its crop when some class is certain to cover at
    least ``cat_max_ratio`` of it: even if every pixel of that class outside
    the crop were elsewhere, what is left fills that share of the crop's
    area (exact integer test; the ignored pixels only shrink the share's
    denominator). A crop window drawn again reuses its verdict, and a window
    covering the whole map (an image no larger than the crop has only that
    one) uses the whole map's count. Only the remaining draws are counted
    (:func:`class_counts`), and the test is mmseg's. Counts compare the map
    with the values it probably holds (:func:`value_counts`): a window with
    the whole map's values, a map with the values of the maps before it.
    """

    #: the values of the maps seen so far (at most MAX_LIKELY_VALUES)
    _likely: tuple = ()

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
            passes = _ShareTest(results['gt_seg_map'], self.ignore_index,
                                self.cat_max_ratio, self.crop, self._likely)
            self._remember(passes.values)
            for _ in range(10):
                if passes(bbox):
                    break
                bbox = draw()
        return bbox

    def _remember(self, values: np.ndarray) -> None:
        """Add a map's ``values`` to the likely ones (only this map's when
        the union would pass ``MAX_LIKELY_VALUES``; none when they do)."""
        for merged in (sorted({*self._likely, *values.tolist()}),
                       values.tolist(), []):
            if len(merged) <= MAX_LIKELY_VALUES:
                self._likely = tuple(merged)
                return


class _ShareTest:
    """mmseg's test of one crop window: more than one class, and none
    covering ``ratio`` or more of the counted pixels; with the shortcuts
    :class:`FastRandomCrop` describes."""

    def __init__(self, seg_map: np.ndarray, ignore_index: int, ratio: float,
                 crop, likely: Sequence[int] = ()) -> None:
        self.seg_map, self.crop = seg_map, crop
        self.ignore_index = ignore_index
        self.ratio = Fraction(ratio)  # the float's exact value
        # the whole map's values and class counts
        self.values, counts = value_counts(seg_map, likely)
        self.counts = counts[self.values != ignore_index]
        self.largest = int(self.counts.max(initial=0))
        self.verdicts = {}

    def __call__(self, bbox: tuple) -> bool:
        if bbox not in self.verdicts:
            self.verdicts[bbox] = not self._surely_fails(bbox) and \
                self._counted(bbox)
        return self.verdicts[bbox]

    def _surely_fails(self, bbox: tuple) -> bool:
        y1, y2, x1, x2 = bbox
        h, w = self.seg_map.shape[:2]
        area = (min(y2, h) - y1) * (min(x2, w) - x1)
        inside = self.largest - (h * w - area)  # at least this many in crop
        return inside > 0 and \
            inside * self.ratio.denominator >= self.ratio.numerator * area

    def _counted(self, bbox: tuple) -> bool:
        window = self.crop(self.seg_map, bbox)
        counts = self.counts if window.shape == self.seg_map.shape else \
            class_counts(window, self.ignore_index, self.values)
        return len(counts) > 1 and \
            counts.max() / counts.sum() < float(self.ratio)
