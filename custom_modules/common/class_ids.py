"""Class ids from per-class scores: the argmax over the class axis.

torch's CPU ``argmax`` reduces a short axis that is not the innermost one
(the class axis of NCHW logits: 3 values, a whole image apart in memory)
an order of magnitude slower than ``max(dim)`` does, for the same ids:
``python benchmarks/argmax_speed.py`` prints both for pets-sized logits.
"""
from __future__ import annotations

import torch


def class_ids(scores: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Index of the largest score along ``dim``, as ``scores.argmax(dim)``
    returns it (the first index on ties, NaN counting as the largest).

    Args:
        scores: logits or probabilities, e.g. (C, H, W) with ``dim=0`` or
            (N, C, H, W) with ``dim=1``, any memory format.
        dim: the class axis.

    Returns:
        int64 class ids, ``scores``' shape without ``dim``.
    """
    return scores.max(dim).indices
