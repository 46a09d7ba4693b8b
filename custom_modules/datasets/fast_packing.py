"""mmseg's ``PackSegInputs`` with the same tensors, without a slow copy.

``PackSegInputs`` turns an ``(H, W, C)`` image into the ``(C, H, W)``
tensor the model takes. For an image stored contiguously (most are, after
a resize or a colour jitter) it transposes in torch and copies with
``Tensor.contiguous()``, which for uint8 is most of the time a
``cpu_fast`` training image spends in its pipeline
(``benchmarks/model_speed.py --pipeline``; figures in docs/benchmarks.md,
section 2).
:class:`FastPackSegInputs` lays the image out channel-first with numpy
first, so mmseg takes its other branch and the copy is numpy's.
"""
from __future__ import annotations

import numpy as np
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

#: Transform types that pack a sample for the model: code that reads a
#: pipeline's augmentations leaves them out.
PACKERS = ('PackSegInputs', 'FastPackSegInputs')


@TRANSFORMS.register_module()
class FastPackSegInputs(PackSegInputs):
    """``PackSegInputs`` (same arguments, same outputs) whose channel-first
    copy of the image is made by numpy."""

    def transform(self, results: dict) -> dict:
        img = results.get('img')
        if isinstance(img, np.ndarray) and img.ndim == 3 and \
                img.flags.c_contiguous:
            # the same (H, W, C) values, stored channel-first
            results['img'] = np.ascontiguousarray(
                img.transpose(2, 0, 1)).transpose(1, 2, 0)
        return super().transform(results)
