"""How a config trains, in words: the dtype of its forward passes."""
from __future__ import annotations

import torch

from ..hooks.channels_last import uses_channels_last
from .autocast_optim_wrapper import autocast_dtype

_SHORT = {torch.bfloat16: 'bf16', torch.float16: 'fp16'}


def training_precision(cfg, device_type: str) -> str:
    """``fp32``, ``bf16 autocast`` (:class:`AutocastOptimWrapper` where the
    device has bfloat16 natively), ``fp32 (bfloat16 is not native on this
    cpu)`` or ``fp16 autocast (AMP)``, plus ``, channels_last`` when the
    config's ``ChannelsLastHook`` is on. Shown in the training header and
    logged as the ``precision`` hyperparameter."""
    text = 'fp32'
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') == 'AmpOptimWrapper':
        text = f'{_SHORT[getattr(torch, wrapper.get("dtype") or "float16")]}'\
            ' autocast (AMP)'
    elif autocast_dtype(cfg, device_type) is not None:
        text = f'{_SHORT[autocast_dtype(cfg, device_type)]} autocast'
    elif wrapper.get('type') == 'AutocastOptimWrapper':
        text = f'fp32 ({wrapper.get("dtype", "bfloat16")} is not native '\
            f'on this {device_type})'
    return text + (', channels_last' if uses_channels_last(cfg) else '')
