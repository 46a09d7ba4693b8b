"""Flip (and multi-scale) test-time augmentation: softmax averaged."""
from __future__ import annotations

from typing import List, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmseg.registry import MODELS

from .voting_encoder_decoder import class_axis_innermost


@MODELS.register_module()
class FlipTTA(BaseModel):
    """Wrap any mmseg segmentor: average softmax of the image and its mirror,
    at one or more scales.

    At each scale the batch is resized (bilinear; sides rounded to a
    multiple of 32), and it and its horizontal flip go through the network
    (as two batches of N on the CPU, one batch of 2N on a GPU); the
    segmentor's head resizes the logits back to the input's size, the
    mirrored half is flipped back, and all probability maps are averaged
    (as mmseg's ``SegTTAModel`` averages the softmax of its augmented
    copies). The result is post-processed (padding removed, resized to the
    original shape, argmax) by the wrapped segmentor.

    ``pred.seg_logits`` holds the log of the averaged probabilities, so a
    softmax over it gives those probabilities back (ensembling relies on
    this).

    Args:
        module: the segmentor config (or instance), e.g. ``cfg.model``.
        scales: input scale factors; ``(1.0,)`` is flip TTA alone,
            :data:`MULTI_SCALES` the multi-scale + flip set.

    Used by ``tools/test.py --tta [flip|ms]`` (``cfg.model =
    dict(type='FlipTTA', module=cfg.model, scales=...)``); checkpoints load
    into ``self.module``.
    """

    def __init__(self, module: Union[dict, nn.Module],
                 scales: Sequence[float] = (1.0,), init_cfg=None,
                 data_preprocessor=None) -> None:
        # The Runner passes the config's data_preprocessor; the wrapped
        # segmentor's own preprocessor is the one used.
        super().__init__(init_cfg=init_cfg)
        self.module = MODELS.build(module) if isinstance(module, dict) \
            else module
        if not scales or any(float(s) <= 0 for s in scales):
            raise ValueError(f'FlipTTA scales {scales!r}: give positive '
                             'factors, e.g. (1.0,) or (0.75, 1.0, 1.25, 1.5)')
        self.scales = tuple(float(s) for s in scales)

    def flip_probs(self, inputs: torch.Tensor,
                   batch_img_metas: List[dict]) -> torch.Tensor:
        """Averaged class probabilities, shape (N, C, H, W), before resizing.

        Args:
            inputs: preprocessed images, shape (N, 3, H, W).
            batch_img_metas: one meta dict per image.
        """
        total = None
        for scale in self.scales:
            probs = self._flip_probs_at(scaled(inputs, scale),
                                        batch_img_metas)
            total = probs if total is None else total + probs
        return total / len(self.scales)

    def _flip_probs_at(self, inputs: torch.Tensor,
                       batch_img_metas: List[dict]) -> torch.Tensor:
        """Image and mirror at one scale; the head resizes the logits to
        the metas' ``img_shape`` (the unscaled input's)."""
        n = inputs.shape[0]
        mirrored = inputs.flip(-1)
        if inputs.device.type == 'cpu':
            # two passes of N: on CPU cores faster than one pass of 2N
            # (benchmarks/tta_batching.py; docs/benchmarks.md, flip TTA)
            logits = torch.cat([
                self.module.inference(inputs, batch_img_metas),
                self.module.inference(mirrored, batch_img_metas)])
        else:  # a GPU uses the larger batch better
            logits = self.module.inference(torch.cat([inputs, mirrored]),
                                           batch_img_metas * 2)
        # float32 probabilities, also when the network ran under autocast
        probs = logits.float().softmax(1)
        return (probs[:n] + probs[n:].flip(-1)) / 2

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        metas = [s.metainfo for s in data_samples]
        probs = self.flip_probs(inputs, metas)
        return self.module.postprocess_result(  # a fast CPU argmax
            class_axis_innermost(probs.clamp_min(1e-12).log()), data_samples)

    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise ValueError(f'FlipTTA is for inference only, got mode={mode}')
        return self.predict(inputs, data_samples)

    def test_step(self, data: dict) -> list:
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    val_step = test_step


#: ``tools/test.py --tta ms``: mmseg's usual ratios around 1, more above it
#: (pets are small: median 7.9 % of the photo).
MULTI_SCALES = (0.75, 1.0, 1.25, 1.5)


def scaled(inputs: torch.Tensor, scale: float) -> torch.Tensor:
    """``inputs`` (N, C, H, W) resized by ``scale`` (bilinear), each side
    rounded to a multiple of 32 (the encoders' output stride), at least 32;
    unchanged at 1.0."""
    if scale == 1.0:
        return inputs
    size = [max(32, int(round(side * scale / 32)) * 32)
            for side in inputs.shape[-2:]]
    return F.interpolate(inputs, size=size, mode='bilinear',
                         align_corners=False)
