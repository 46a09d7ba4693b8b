"""``torch.distributed`` training on CPU processes.

mmengine 0.10's ``pytorch`` and ``slurm`` launchers call
``torch.cuda.set_device`` unconditionally, which fails without a GPU, the
configs ask for the ``nccl`` backend, which needs one, and the Runner wraps
the model with ``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU
model. Without CUDA the patched initialisers skip ``set_device`` and use
``gloo`` instead of ``nccl``, and ``MMDistributedDataParallel`` gets
``device_ids=None``, so ``torchrun ... --launcher pytorch`` also trains on
CPU processes. With CUDA nothing changes.
"""
from __future__ import annotations

import functools
import warnings

import torch

__all__ = ['install']


def _cpu_capable(init):
    """Wrap an mmengine ``_init_dist_*`` for machines without CUDA."""
    @functools.wraps(init)
    def wrapper(backend, *args, **kwargs):
        if torch.cuda.is_available():
            return init(backend, *args, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
            warnings.warn('no CUDA: torch.distributed uses the gloo backend '
                          'instead of nccl')
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda device: None
        try:
            return init(backend, *args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    wrapper._pets_cpu_capable = True
    return wrapper


def install() -> None:
    """Wrap the launchers and the DDP constructor once."""
    from mmengine.dist import utils
    from mmengine.model import MMDistributedDataParallel
    for name in ('_init_dist_pytorch', '_init_dist_slurm'):
        init = getattr(utils, name, None)
        if init is not None and not getattr(init, '_pets_cpu_capable', False):
            setattr(utils, name, _cpu_capable(init))
    init = MMDistributedDataParallel.__init__
    if getattr(init, '_pets_cpu_capable', False):
        return

    def __init__(self, module, *args, **kwargs):
        if not torch.cuda.is_available():
            kwargs['device_ids'] = None  # a CPU model: DDP wants None
        init(self, module, *args, **kwargs)

    __init__._pets_cpu_capable = True
    MMDistributedDataParallel.__init__ = __init__

