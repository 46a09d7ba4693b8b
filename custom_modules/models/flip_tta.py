"""Horizontal-flip test-time augmentation: image and mirror, averaged."""
from __future__ import annotations

from typing import List, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmseg.registry import MODELS


@MODELS.register_module()
class FlipTTA(BaseModel):
    """Wrap any mmseg segmentor: average softmax of the image and its mirror.

    The batch and its horizontal flip go through the network (as two
    batches of N on the CPU, one batch of 2N on a GPU); the mirrored half
    is flipped back, the two probability maps are averaged, and the result
    is post-processed (padding removed, resized to the original shape,
    argmax) by the wrapped segmentor.

    ``pred.seg_logits`` holds the log of the averaged probabilities, so a
    softmax over it gives those probabilities back (ensembling relies on
    this).

    Args:
        module: the segmentor config (or instance), e.g. ``cfg.model``.

    Used by ``tools/test.py --tta`` (``cfg.model = dict(type='FlipTTA',
    module=cfg.model)``); checkpoints load into ``self.module``.
    """

    def __init__(self, module: Union[dict, nn.Module], init_cfg=None,
                 data_preprocessor=None) -> None:
        # The Runner passes the config's data_preprocessor; the wrapped
        # segmentor's own preprocessor is the one used.
        super().__init__(init_cfg=init_cfg)
        self.module = MODELS.build(module) if isinstance(module, dict) \
            else module

    def flip_probs(self, inputs: torch.Tensor,
                   batch_img_metas: List[dict]) -> torch.Tensor:
        """Averaged class probabilities, shape (N, C, H, W), before resizing.

        Args:
            inputs: preprocessed images, shape (N, 3, H, W).
            batch_img_metas: one meta dict per image.
        """
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
        return self.module.postprocess_result(
            probs.clamp_min(1e-12).log(), data_samples)

    def forward(self, inputs, data_samples=None, mode: str = 'predict'):
        if mode != 'predict':
            raise ValueError(f'FlipTTA is for inference only, got mode={mode}')
        return self.predict(inputs, data_samples)

    def test_step(self, data: dict) -> list:
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    val_step = test_step
