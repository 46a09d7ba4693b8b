"""Mixed-precision training without a GPU: bfloat16 autocast on CPU too."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS

DTYPES = ('bfloat16', 'float16')


def native_autocast(dtype: torch.dtype, device_type: str) -> bool:
    """Whether ``device_type`` runs ``dtype`` convolutions natively.

    bfloat16 on CPU: oneDNN's check for AVX512-BF16 / AMX (Intel Sapphire
    Rapids and later, AMD Zen 4 and later); without them bfloat16 is
    emulated and slower than float32. On CUDA: float16 always, bfloat16
    where ``torch.cuda.is_bf16_supported()``.
    """
    if device_type == 'cpu':
        return dtype == torch.bfloat16 and bool(
            torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if device_type == 'cuda':
        return dtype == torch.float16 or torch.cuda.is_bf16_supported()
    return False


def autocast_dtype(cfg, device_type: str) -> Optional[torch.dtype]:
    """The dtype ``cfg``'s :class:`AutocastOptimWrapper` autocasts to on
    ``device_type``, or None (float32 training, or another wrapper)."""
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') not in ('AutocastOptimWrapper',
                                   AutocastOptimWrapper):
        return None
    dtype = getattr(torch, wrapper.get('dtype', 'bfloat16'))
    on = wrapper.get('force') or native_autocast(dtype, device_type)
    return dtype if on else None


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward passes run under ``torch.autocast``.

    mmengine's ``AmpOptimWrapper`` needs a GPU (it asserts CUDA/NPU/MLU and
    uses a float16 ``GradScaler``). This wrapper autocasts to bfloat16 on
    the device the parameters live on, CPU included: convolutions and
    matrix products run in bfloat16, while the weights, gradients and
    optimizer state stay float32; bfloat16 has float32's exponent range, so
    no loss scaling. Where the CPU has bfloat16 natively this is much
    faster than float32 (``benchmarks/cpu_speedups.py``; figures in
    docs/benchmarks.md).

    Where the dtype is not native (:func:`native_autocast` false, e.g. CPUs
    without AVX512-BF16) autocasting would be slower than float32, so the
    wrapper logs one warning and trains in float32; ``force=True``
    autocasts anyway.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'`` (CUDA; it may
            need loss scaling, which this wrapper does not do).
        force: autocast even where it is not native.
        **kwargs: :class:`OptimWrapper` arguments (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self, dtype: str = 'bfloat16', force: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in DTYPES:
            raise ValueError(f'optim_wrapper.dtype={dtype!r}: use one of '
                             f'{DTYPES}')
        self.cast_dtype = getattr(torch, dtype)
        self.force = force
        self._enabled = {}  # device type -> autocast on

    def autocast_enabled(self, device_type: str) -> bool:
        """Autocast on ``device_type``? (decided once per device type)."""
        if device_type not in self._enabled:
            on = self.force or native_autocast(self.cast_dtype, device_type)
            if not on:
                print_log(f'AutocastOptimWrapper: {self.cast_dtype} is not '
                          f'native on this {device_type}; training in float32 '
                          '(optim_wrapper.force=True autocasts anyway)',
                          logger='current', level=30)
            self._enabled[device_type] = on
        return self._enabled[device_type]

    @contextmanager
    def optim_context(self, model: nn.Module):
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype,
                enabled=self.autocast_enabled(device_type)):
            yield
