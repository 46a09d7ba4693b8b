"""UNet decoder over the four stage outputs of an mmseg ResNet."""
from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


class DecoderBlock(nn.Module):
    """Upsample x2, concatenate the skip (if any), then two 3x3 conv-BN-ReLU.

    Input (N, in_ch, H, W) and skip (N, skip_ch, 2H, 2W) -> (N, out_ch, 2H, 2W).
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int,
                 conv_cfg=None, norm_cfg=None, act_cfg=None) -> None:
        super().__init__()
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_ch + skip_ch, out_ch, 3, padding=1, **kw)
        self.conv2 = ConvModule(out_ch, out_ch, 3, padding=1, **kw)

    def forward(self, x: torch.Tensor, skip: torch.Tensor = None):
        size = skip.shape[2:] if skip is not None else None
        x = F.interpolate(x, size=size, scale_factor=None if size else 2,
                          mode='nearest')
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


@MODELS.register_module()
class ResNetUNetHead(BaseDecodeHead):
    """UNet decoder with skip connections for ResNet/ResNetV1c encoders.

    Takes the four stage outputs of an mmseg ResNet (strides 4, 8, 16, 32;
    channels (64, 128, 256, 512) for depth 18/34, 4x that for depth 50) and
    decodes back to full input resolution: three blocks fuse the skips at
    strides 16, 8 and 4, then ``len(decoder_channels) - 3`` blocks upsample
    without skips (two by default: stride 4 -> 2 -> 1), as in the
    segmentation_models_pytorch Unet.

    Args:
        in_channels: the four encoder channel counts, shallow to deep.
        decoder_channels: output channels of each decoder block, deep to
            shallow; the last one is ``channels`` fed to the classifier.
        **kwargs: :class:`BaseDecodeHead` arguments (num_classes, norm_cfg,
            loss_decode, ...). ``in_index`` defaults to (0, 1, 2, 3);
            ``init_cfg`` defaults to None, which leaves the classifier
            ``conv_seg`` with PyTorch's default init (as
            segmentation_models_pytorch does) instead of mmseg's
            Normal(std=0.01). From scratch, the small init kept the logits
            near zero and the model learned one pet class while the other
            stalled: with ``--overfit-batch 4`` the dog image stayed at
            uniform probabilities for 600 iterations; with the default init
            its Jaccard is 71.6 at iteration 25 (docs/workflow.md).

    Output: logits of shape (N, num_classes, H, W) for an (N, 3, H, W) input.
    """

    def __init__(self, in_channels: Sequence[int],
                 decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
                 **kwargs) -> None:
        assert len(in_channels) == 4 and len(decoder_channels) >= 3
        kwargs.setdefault('in_index', (0, 1, 2, 3))
        kwargs.setdefault('init_cfg', None)
        super().__init__(in_channels=list(in_channels),
                         channels=decoder_channels[-1],
                         input_transform='multiple_select', **kwargs)
        kw = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                  act_cfg=self.act_cfg)
        skips = list(in_channels[:3][::-1]) + [0] * (len(decoder_channels) - 3)
        ins = [in_channels[3]] + list(decoder_channels[:-1])
        self.blocks = nn.ModuleList(
            DecoderBlock(i, s, o, **kw)
            for i, s, o in zip(ins, skips, decoder_channels))

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        feats = self._transform_inputs(inputs)
        skips = feats[:3][::-1]
        x = feats[3]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return self.cls_seg(x)
