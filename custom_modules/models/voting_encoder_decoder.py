"""One foreground class per image (or per blob): a vote over the pixels.

In the pets data every photo shows one kind of pet: of the 318 train and val
masks none holds both cat and dog (checked on the real masks by
``tests/models/test_voting_encoder_decoder.py``). A from-scratch model
on a CPU budget finds the animal long before it tells cats from dogs, and its
argmax then mixes cat and dog pixels inside one animal. Voting gives the whole
animal the class that holds most of the probability mass over it.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS

from ..common.class_ids import class_ids

VOTE_MODES = ('image', 'component')


def class_axis_innermost(seg_logits: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) CPU logits with the class axis innermost in memory
    (channels_last); other tensors (GPU, not 4-D) as they are.

    mmseg's ``postprocess_result`` takes each image's class ids as
    ``argmax(dim=0)`` of its (C, H, W) logits, and torch's CPU argmax over
    an axis that is not innermost in memory is many times slower (11.22 ms
    against 0.45 ms per 256x256 image: ``python benchmarks/argmax_speed.py
    --shape 1 3 256 256``). The same values, so the same ids (ties and NaN
    included); only the strides of the stored ``seg_logits`` differ.
    :class:`VotingEncoderDecoder`, :class:`~custom_modules.models.FlipTTA`
    and the k-fold ensembles pass their logits through it.
    """
    if seg_logits.dim() == 4 and seg_logits.device.type == 'cpu':
        return seg_logits.contiguous(memory_format=torch.channels_last)
    return seg_logits


def vote_foreground(probs: torch.Tensor, background: int = 0,
                    mode: str = 'image') -> torch.Tensor:
    """Relabel the foreground of one image with a single class per region.

    Args:
        probs: class probabilities, shape (C, H, W) (softmax output).
        background: the class that is not voted on.
        mode: ``'image'``: all foreground pixels of the image form one region;
            ``'component'``: each 8-connected foreground blob is a region.

    Returns:
        int64 class ids, shape (H, W): background where the argmax is
        background; elsewhere the foreground class with the largest summed
        probability over the pixel's region.
    """
    if mode not in VOTE_MODES:
        raise ValueError(f'vote mode {mode!r}: use one of {VOTE_MODES}')
    pred = class_ids(probs, dim=0)
    fg = pred != background
    if not fg.any():
        return pred
    if mode == 'image':
        regions = fg.long()
        count = 1
    else:
        count, regions_np = cv2.connectedComponents(
            fg.cpu().numpy().astype(np.uint8), connectivity=8)
        regions = torch.from_numpy(regions_np).to(pred.device).long()
        count -= 1
    others = [c for c in range(probs.shape[0]) if c != background]
    mass = torch.zeros(count + 1, len(others), dtype=probs.dtype,
                       device=probs.device)
    flat = probs[others].reshape(len(others), -1).T  # (H*W, C-1)
    mass.index_add_(0, regions.reshape(-1), flat)
    winner = torch.tensor(others, device=pred.device)[class_ids(mass, dim=1)]
    return torch.where(fg, winner[regions], pred)


@MODELS.register_module()
class VotingEncoderDecoder(EncoderDecoder):
    """mmseg's EncoderDecoder whose predictions go through a foreground vote.

    ``pred_sem_seg`` is replaced by :func:`vote_foreground` of the softmax of
    ``seg_logits`` (at the original image size); ``seg_logits`` are kept
    as they are, so ensembling and TTA (which call ``postprocess_result``)
    still average the model's own probabilities. CPU logits reach mmseg's
    ``postprocess_result`` with the class axis innermost
    (:func:`class_axis_innermost`: the same ids, a fast argmax).

    Args:
        fg_vote: ``dict(mode='image' | 'component', background=0)``, or
            ``None`` for a plain EncoderDecoder
            (``--cfg-options model.fg_vote=None``).
        **kwargs: :class:`EncoderDecoder` arguments.
    """

    def __init__(self, fg_vote: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if fg_vote is not None:
            fg_vote = dict(fg_vote)
            mode = fg_vote.setdefault('mode', 'image')
            if mode not in VOTE_MODES:
                raise ValueError(f'model.fg_vote.mode={mode!r}: use one of '
                                 f'{VOTE_MODES}')
            fg_vote.setdefault('background', 0)
        self.fg_vote = fg_vote

    def postprocess_result(self, seg_logits, data_samples=None):
        # float32 from here on: under bfloat16 autocast the logits come out
        # in bfloat16, whose 8-bit mantissa cannot sum the vote's mass
        # (above 256 adding a probability rounds to nothing)
        data_samples = super().postprocess_result(
            class_axis_innermost(seg_logits.float()), data_samples)
        if self.fg_vote is None or self.out_channels == 1:
            return data_samples
        for sample in data_samples:
            logits = sample.seg_logits.data
            sample.pred_sem_seg.data = vote_foreground(
                logits.softmax(0), **self.fg_vote)[None]
        return data_samples
