"""What a training step costs: its FLOPs, the machine's matmul peak, and
where the time goes (``benchmarks/throughput.py``, ``--profile``).

- :func:`train_step_flops`: FLOPs of one forward + backward pass per image,
  counted by ``torch.utils.flop_counter.FlopCounterMode``. It counts the
  matrix products and convolutions (forward, and the gradients autograd
  computes), a multiply-add as 2 FLOPs; element-wise work (batch norm,
  activations, interpolation, the loss, the optimizer step) is not counted.
- :func:`matmul_gflops`: GFLOP/s of square matrix products in one dtype
  with the process's torch threads, the best of several: the machine's
  practical peak that achieved training GFLOP/s are compared with.
- :func:`profile_train_steps`: a ``torch.profiler`` table of the operators
  that take the most self CPU time in a few bare training steps.
"""
from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

from custom_modules import plugins  # noqa: F401  (the patched, registered stack first)
import torch
import torch.nn as nn
from mmengine.config import Config

from custom_modules.optim import autocast_dtype
from .budget import calibration_config
from custom_modules.tools.inference import init_scope


@dataclass
class BareBatch:
    """A config's model (train mode, initialised) and one batch for it.

    ``inputs``: preprocessed images (N, 3, H, W) float32; ``samples``: their
    data samples (labels).
    """

    model: nn.Module
    inputs: torch.Tensor
    samples: list

    @property
    def size(self) -> int:
        return self.inputs.shape[0]


def bare_batch(cfg: Config, channels_last: bool = False) -> BareBatch:
    """Build ``cfg.model`` and preprocess the first batch of the config's
    training loader (its pipeline and batch size); ``channels_last`` puts
    the model and the batch in that memory format."""
    from mmengine.runner import Runner
    from mmseg.registry import MODELS
    init_scope(cfg)
    with tempfile.TemporaryDirectory(prefix='step_cost_') as tmp:
        loader = Runner.build_dataloader(
            calibration_config(cfg, tmp).train_dataloader, seed=0)
        batch = next(iter(loader))
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.train()
    data = model.data_preprocessor(batch, True)
    inputs = data['inputs']
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    return BareBatch(model, inputs, data['data_samples'])


def bare_loss(batch: BareBatch,
              autocast: Optional[torch.dtype] = None) -> torch.Tensor:
    """The summed training loss of ``batch``; the forward pass runs under
    CPU autocast to ``autocast`` when given."""
    with torch.autocast('cpu', dtype=autocast or torch.bfloat16,
                        enabled=autocast is not None):
        losses = batch.model(batch.inputs, batch.samples, mode='loss')
    return sum(v for k, v in losses.items() if 'loss' in k)


def adamw_for(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW with the config's lr and weight decay (no parameter groups)."""
    opt_cfg = cfg.optim_wrapper.optimizer
    return torch.optim.AdamW(model.parameters(), lr=opt_cfg.get('lr', 1e-3),
                             weight_decay=opt_cfg.get('weight_decay', 0))


def bare_step(batch: BareBatch, optimizer: torch.optim.Optimizer,
              autocast: Optional[torch.dtype] = None,
              times: Optional[dict] = None) -> None:
    """One plain training step: loss, backward, optimizer step. ``times``
    (phase -> seconds), when given, gets each part's seconds added under
    ``forward``, ``backward`` and ``optimizer`` (``zero_grad`` and
    ``step``)."""
    start = time.perf_counter()
    loss = bare_loss(batch, autocast)
    forward = time.perf_counter()
    optimizer.zero_grad()
    zeroed = time.perf_counter()
    loss.backward()
    backward = time.perf_counter()
    optimizer.step()
    if times is not None:
        optimizer_s = zeroed - forward + time.perf_counter() - backward
        for phase, seconds in (('forward', forward - start),
                               ('backward', backward - zeroed),
                               ('optimizer', optimizer_s)):
            times[phase] = times.get(phase, 0.0) + seconds


def _conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride,
                         _padding, _dilation, transposed, _output_padding,
                         _groups, output_mask, out_shape=None, **kwargs) -> int:
    """Each gradient of a convolution (input, weight) costs what its
    forward pass costs. torch's own formula counts the weight gradient of a
    grouped convolution as if it were dense: C times too much for a
    depthwise one (torch 2.13), which made EfficientNet's backward pass
    look 7x its forward."""
    from torch.utils.flop_counter import conv_flop_count
    forward = conv_flop_count(list(x_shape), list(w_shape),
                              list(grad_out_shape), transposed)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the matrix products and convolutions ``fn()`` runs (a
    multiply-add counts 2), by ``torch.utils.flop_counter`` with the
    convolution gradients counted as :func:`_conv_backward_flops` says."""
    from torch.utils.flop_counter import FlopCounterMode
    mapping = {torch.ops.aten.convolution_backward: _conv_backward_flops}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        fn()
    return int(counter.get_total_flops())


def train_step_flops(cfg: Config) -> float:
    """FLOPs of one training step's forward + backward pass per image.

    Counted once on the first batch of the config's training loader, in
    float32 (autocast and memory format change the speed, not the count);
    see the module docstring for what is counted.
    """
    batch = bare_batch(cfg)
    flops = count_flops(lambda: bare_loss(batch).backward())
    return flops / batch.size


def train_dtype(cfg: Config, device_type: str = 'cpu') -> torch.dtype:
    """The dtype the convolutions of ``cfg``'s training run in on
    ``device_type``: the autocast dtype, or float32."""
    return autocast_dtype(cfg, device_type) or torch.float32


def matmul_gflops(dtype: torch.dtype = torch.float32, size: int = 2048,
                  min_seconds: float = 2.0, min_repeats: int = 3) -> float:
    """GFLOP/s of ``size`` x ``size`` matrix products in ``dtype``.

    One untimed product, then products until ``min_seconds`` have passed
    and at least ``min_repeats`` were timed; the fastest counts (2 size^3
    FLOPs). Uses the process's torch threads (``torch.get_num_threads()``).
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(dtype)
    b = torch.randn(size, size, generator=gen).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.mm(a, b, out=out)
    times: List[float] = []
    while len(times) < min_repeats or sum(times) < min_seconds:
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / min(times) / 1e9


def profile_train_steps(cfg: Config, steps: int = 3, warmup: int = 1,
                        rows: int = 15) -> str:
    """``torch.profiler`` table of the ``rows`` operators with the most self
    CPU time over ``steps`` bare training steps (after ``warmup``), in the
    memory format and autocast dtype the config trains in."""
    from torch.profiler import ProfilerActivity, profile

    from custom_modules.hooks.channels_last import uses_channels_last
    batch = bare_batch(cfg, channels_last=uses_channels_last(cfg))
    optimizer = adamw_for(cfg, batch.model)
    autocast = autocast_dtype(cfg, 'cpu')
    for _ in range(warmup):
        bare_step(batch, optimizer, autocast)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            bare_step(batch, optimizer, autocast)
    return prof.key_averages().table(sort_by='self_cpu_time_total',
                                     row_limit=rows)


#: Side of the square matrices of the matmul peak (:func:`matmul_peaks`).
MATMUL_SIZE = 2048


def matmul_peaks(dtypes) -> dict:
    """dtype name -> GFLOP/s of ``MATMUL_SIZE`` matrix products in it."""
    return {name: round(matmul_gflops(getattr(torch, name), MATMUL_SIZE), 1)
            for name in sorted(set(dtypes))}
