"""mmseg's ``PhotoMetricDistortion`` with the same images, from lookup tables.

Each of its steps maps a uint8 value to a uint8 value: brightness and
contrast compute ``uint8(clip(float32(v) * alpha + beta, 0, 255))`` over the
whole image, saturation the same over the HSV saturation channel, and hue
``(h + delta) % 180`` over the hue channel. mmseg computes that per pixel in
float32 (or int64 for the hue). :class:`FastPhotoMetricDistortion` computes
it once for the 256 possible values, with the same numpy expression, and
looks every pixel up in that table (``cv2.LUT`` for a whole image): the
same values, so the same images, and the same draws from ``np.random``.
"""
from __future__ import annotations

import cv2
import mmcv
import numpy as np
from numpy import random
from mmseg.datasets.transforms import PhotoMetricDistortion
from mmseg.registry import TRANSFORMS

_VALUES = np.arange(256, dtype=np.uint8)


def look_up(img: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[img]`` for a uint8 image (H, W) or (H, W, C <= 4), any
    strides, and a 256-entry uint8 table; by ``cv2.LUT`` on a contiguous
    copy (a channel view: copying first is faster than numpy's take)."""
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] <= 4):
        return cv2.LUT(np.ascontiguousarray(img), table).reshape(img.shape)
    return np.take(table, img)


@TRANSFORMS.register_module()
class FastPhotoMetricDistortion(PhotoMetricDistortion):
    """``PhotoMetricDistortion`` (same arguments, same outputs for the same
    random state) whose per-pixel arithmetic is a table look-up on uint8
    images (other dtypes: mmseg's arithmetic)."""

    def convert(self, img: np.ndarray, alpha: float = 1,
                beta: float = 0) -> np.ndarray:
        if img.dtype != np.uint8:
            return super().convert(img, alpha, beta)
        return look_up(img, super().convert(_VALUES, alpha, beta))

    def hue(self, img: np.ndarray) -> np.ndarray:
        if img.dtype != np.uint8:
            return super().hue(img)
        if random.randint(2):
            img = mmcv.bgr2hsv(img)
            delta = random.randint(-self.hue_delta, self.hue_delta)
            table = ((_VALUES.astype(int) + delta) % 180).astype(np.uint8)
            img[:, :, 0] = look_up(img[:, :, 0], table)
            img = mmcv.hsv2bgr(img)
        return img
