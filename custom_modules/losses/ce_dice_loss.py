"""Cross-entropy plus soft multi-class Dice, both ignoring the same pixels."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


def soft_dice_loss(logits: torch.Tensor, label: torch.Tensor,
                   ignore_index: int = 255, smooth: float = 1.0) -> torch.Tensor:
    """``1 - mean_c dice_c`` with softmax probabilities, over the whole batch.

    Args:
        logits: shape (N, C, H, W), unnormalised scores.
        label: shape (N, H, W), int64 class ids; ``ignore_index`` pixels are
            left out of both the probabilities and the targets.
        smooth: added to numerator and denominator of every class's Dice,
            in pixels, so absent classes score 1 instead of 0/0.

    Returns:
        Scalar tensor in [0, 1].
    """
    num_classes = logits.shape[1]
    valid = (label != ignore_index).unsqueeze(1).to(logits.dtype)
    probs = logits.softmax(dim=1) * valid
    target = F.one_hot(label.clamp(0, num_classes - 1) * (label != ignore_index),
                       num_classes).permute(0, 3, 1, 2).to(logits.dtype) * valid
    dims = (0, 2, 3)
    inter = (probs * target).sum(dims)
    denom = probs.sum(dims) + target.sum(dims)
    dice = (2 * inter + smooth) / (denom + smooth)
    return 1 - dice.mean()


@MODELS.register_module()
class CEDiceLoss(nn.Module):
    """``loss_weight * (ce_weight * CE + dice_weight * Dice)``.

    CE is :func:`torch.nn.functional.cross_entropy` averaged over the
    non-ignored pixels (weighted by ``class_weight`` when given); Dice is
    :func:`soft_dice_loss` on the same pixels.

    Args:
        ce_weight, dice_weight: mix of the two terms.
        class_weight: optional per-class CE weight, length C (see
            ``tools/class_weights.py``).
        smooth: Dice smoothing, in pixels.
        loss_weight: overall factor (mmseg convention, e.g. 0.4 for an
            auxiliary head).
        loss_name: key in the loss dict; must start with ``loss_``.
    """

    def __init__(self,
                 ce_weight: float = 1.0,
                 dice_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None,
                 smooth: float = 1.0,
                 loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 loss_name: str = 'loss_ce_dice') -> None:
        super().__init__()
        self.ce_weight = ce_weight
        self.dice_weight = dice_weight
        self.class_weight = (None if class_weight is None else
                             torch.tensor(class_weight, dtype=torch.float32))
        self.smooth = smooth
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, logits: torch.Tensor, label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None, **kwargs) -> torch.Tensor:
        """Args: logits (N, C, H, W), any float dtype (computed in at least
        float32); label (N, H, W) int64. Returns a scalar."""
        if weight is not None:
            raise ValueError('CEDiceLoss does not take per-pixel weights '
                             '(remove the sampler from the decode head)')
        ignore = self.ignore_index if ignore_index is None else ignore_index
        # bfloat16 under autocast: sum in float32 (float64 stays float64)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        class_weight = (None if self.class_weight is None else
                        self.class_weight.to(logits))
        ce = F.cross_entropy(logits, label, weight=class_weight,
                             ignore_index=ignore)
        if not (label != ignore).any():  # all ignored: CE is nan
            ce = logits.sum() * 0
        dice = soft_dice_loss(logits, label, ignore, self.smooth)
        return self.loss_weight * (self.ce_weight * ce + self.dice_weight * dice)

    @property
    def loss_name(self) -> str:
        return self._loss_name
