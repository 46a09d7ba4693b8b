"""Ensembles: average the models' softmax probabilities, then take argmax.

Averaging probabilities (not logits, not votes) is what ``tools/kfold.py``
evaluates. With flip TTA each model's probabilities are first averaged over
the image and its mirror (:meth:`FlipTTA.flip_probs`), so the ensemble with
TTA is the mean over models x {image, mirror}.
"""
from __future__ import annotations

from typing import List, Sequence

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
import torch.nn as nn

from ..models.flip_tta import FlipTTA
from ..models.voting_encoder_decoder import class_axis_innermost


def model_probs(model: nn.Module, inputs: torch.Tensor,
                batch_img_metas: List[dict]) -> torch.Tensor:
    """Class probabilities (N, C, H, W) of one model, before resizing.

    ``model`` is a segmentor (its ``inference`` logits, softmaxed) or a
    :class:`FlipTTA` wrapping one (its ``flip_probs``).
    """
    if isinstance(model, FlipTTA):
        return model.flip_probs(inputs, batch_img_metas)
    return model.inference(inputs, batch_img_metas).softmax(1)


def average_probs(probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """The element-wise mean of several (N, C, H, W) probability maps."""
    if not probs:
        raise ValueError('average_probs needs at least one probability map')
    shapes = {tuple(p.shape) for p in probs}
    if len(shapes) != 1:
        raise ValueError(f'probability maps differ in shape: {sorted(shapes)}')
    return torch.stack(list(probs)).mean(0)


def ensemble_probs(models: Sequence[nn.Module], inputs: torch.Tensor,
                   batch_img_metas: List[dict]) -> torch.Tensor:
    """Mean of :func:`model_probs` over ``models`` (all on the same inputs)."""
    return average_probs([model_probs(m, inputs, batch_img_metas)
                          for m in models])


def to_predictions(segmentor: nn.Module, probs: torch.Tensor,
                   data_samples: list) -> list:
    """Probabilities -> data samples with ``pred_sem_seg`` at original size.

    The log of the probabilities goes through the segmentor's own
    ``postprocess_result`` (padding removed, resized, argmax; class axis
    innermost for a fast CPU argmax), as :class:`FlipTTA` does, so a
    softmax of ``seg_logits`` gives ``probs`` back. ``data_samples`` are
    filled in place and returned.
    """
    segmentor = getattr(segmentor, 'module', segmentor)
    return segmentor.postprocess_result(  # a fast CPU argmax
        class_axis_innermost(probs.clamp_min(1e-12).log()), data_samples)
