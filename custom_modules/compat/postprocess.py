"""Patch to mmseg 1.2: fast class ids in ``postprocess_result`` on the CPU.

mmseg's ``BaseSegmentor.postprocess_result`` (every segmentor's last step
of ``predict``, and of :class:`~custom_modules.models.FlipTTA` and the
k-fold ensembles) takes each image's class ids as ``argmax(dim=0)`` of its
(C, H, W) logits. torch's CPU argmax over an axis that is not the
innermost one in memory is slow, many times slower than over the
innermost axis (measure it: ``python benchmarks/argmax_speed.py --shape 1
3 256 256``; figures in docs/benchmarks.md, flip TTA). Models that run in
channels_last hand over innermost-class logits already; the others, and
TTA's averaged probabilities, paid that per image.

:func:`install` wraps the method so that CPU logits reach it in
channels_last: the same values, so the same ids (ties and NaN included),
only the strides of the ``seg_logits`` it stores differ. GPU tensors pass
through unchanged.
"""
from __future__ import annotations

import functools

import torch

__all__ = ['class_axis_innermost', 'install']


def class_axis_innermost(seg_logits: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) CPU logits with the class axis innermost in memory
    (channels_last); other tensors (GPU, not 4-D) as they are."""
    if seg_logits.dim() == 4 and seg_logits.device.type == 'cpu':
        return seg_logits.contiguous(memory_format=torch.channels_last)
    return seg_logits


def install() -> None:
    """Wrap ``BaseSegmentor.postprocess_result`` once (idempotent)."""
    from mmseg.models.segmentors.base import BaseSegmentor
    original = BaseSegmentor.postprocess_result
    if getattr(original, 'class_axis_innermost', False):
        return

    @functools.wraps(original)
    def postprocess_result(self, seg_logits, data_samples=None):
        return original(self, class_axis_innermost(seg_logits), data_samples)

    postprocess_result.class_axis_innermost = True
    BaseSegmentor.postprocess_result = postprocess_result
