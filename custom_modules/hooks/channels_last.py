"""Run the model in channels_last (NHWC) memory format."""
from __future__ import annotations

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


def uses_channels_last(cfg: Config) -> bool:
    """Whether ``cfg`` turns on :class:`ChannelsLastHook` (in
    ``default_hooks``, as ``configs/pets/cpu_fast.py`` does, or in
    ``custom_hooks``)."""
    hooks = [*(cfg.get('default_hooks') or {}).values(),
             *(cfg.get('custom_hooks') or [])]
    return any(isinstance(h, dict) and
               h.get('type') in ('ChannelsLastHook', ChannelsLastHook)
               for h in hooks)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Store the model's 4-D weights (convolutions) in channels_last.

    A convolution whose weight is channels_last returns a channels_last
    output even for a default-layout (NCHW-contiguous) input, and batch norm,
    ReLU, pooling, interpolation and concatenation keep that layout, so
    converting the weights puts the whole network in NHWC: no change to the
    data pipeline or the preprocessor. On CPU, oneDNN's convolutions are
    faster in that layout: the ResNet-18 UNet at 160x160 trains 17-19 %
    faster in the bare loop (``benchmarks/cpu_speedups.py``). Results are
    the same up to float rounding; checkpoints load into either layout.

    The parameters are converted in place (same ``Parameter`` objects), so
    an optimizer built before or after this hook keeps working. Runs in
    ``before_run``: training, ``tools/test.py`` and TTA alike
    (``tools/test.py`` drops it for ``inference_precision='float32'``,
    :func:`custom_modules.tools.inference.inference_precision`).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        runner.model.to(memory_format=torch.channels_last)
