"""Distributed runs: SyncBN only where it runs, ``torchrun`` on CPU
processes (gloo, ``device_ids=None``, the process group started before the
Runner)."""
from __future__ import annotations

import sys

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..common.errors import UserError


def _replace_norm(node, old: str, new: str) -> int:
    count = 0
    if isinstance(node, dict):
        norm = node.get('norm_cfg')
        if isinstance(norm, dict) and norm.get('type') == old:
            norm['type'] = new
            count += 1
        for value in node.values():
            count += _replace_norm(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_norm(value, old, new)
    return count


def configure_distributed(cfg: Config, launcher: str) -> None:
    """SyncBN only where it runs, and ``torchrun`` on CPU processes.

    Distributed without CUDA (mmengine's launchers call
    ``torch.cuda.set_device``, the configs ask for ``nccl`` and the Runner
    gives DDP ``device_ids=[LOCAL_RANK]``; all three need a GPU): the
    config's ``nccl`` backend becomes ``gloo`` (so the run's log says what
    it uses), ``model_wrapper_cfg`` gets ``device_ids=None`` (what DDP
    wants for a CPU model; a config's other keys are kept),
    :func:`start_cpu_process_group` starts the process group before the
    Runner (which then skips its own ``init_dist``), ``--sync-bn`` is
    refused and a config's ``SyncBN`` layers become plain ``BN``
    (per-process statistics) with a warning. In one process
    (``launcher='none'``) ``--sync-bn`` has nothing to synchronise: a
    warning says so instead of ignoring it silently. With CUDA nothing but
    that warning changes.
    """
    if launcher == 'none' and cfg.get('sync_bn'):
        # print: no Runner (and so no logger of this run) exists yet
        print('warning: --sync-bn has no effect in one process; start one '
              'process per GPU with torchrun ... --launcher pytorch',
              file=sys.stderr)
    if launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg['dist_cfg'] = dict()
    dist_cfg = cfg.env_cfg['dist_cfg']
    if dist_cfg.get('backend', 'nccl') == 'nccl':  # mmengine's default
        dist_cfg['backend'] = 'gloo'
        print_log('no CUDA: distributed training uses the gloo backend '
                  'instead of nccl', logger='current', level=30)
    if cfg.get('sync_bn'):
        raise UserError('--sync-bn needs CUDA GPUs (SyncBN has no CPU '
                        'implementation); drop it for CPU processes')
    if _replace_norm(cfg.get('model'), 'SyncBN', 'BN'):
        print_log('no CUDA: the model\'s SyncBN layers use per-process BN '
                  'statistics', logger='current', level=30)
    cfg.model_wrapper_cfg = cpu_model_wrapper_cfg(cfg)
    start_cpu_process_group(launcher, dist_cfg)


def cpu_model_wrapper_cfg(cfg: Config) -> dict:
    """``cfg.model_wrapper_cfg`` for CPU processes: ``device_ids=None``.

    Without one, mmengine wraps the model in ``MMDistributedDataParallel``
    with ``device_ids=[LOCAL_RANK]``, ``broadcast_buffers=False`` and the
    config's ``find_unused_parameters``; the same here, except the device
    ids. A config's own wrapper keeps its keys; ``device_ids`` is set for a
    ``DistributedDataParallel`` subclass only (the wrappers mmengine hands
    ``device_ids`` to).
    """
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel
    given = cfg.get('model_wrapper_cfg')
    if given is None:
        return dict(type='MMDistributedDataParallel', device_ids=None,
                    broadcast_buffers=False,
                    find_unused_parameters=cfg.get('find_unused_parameters',
                                                   False))
    wrapper = dict(given)
    kind = wrapper.setdefault('type', 'MMDistributedDataParallel')
    kind = MODEL_WRAPPERS.get(kind) if isinstance(kind, str) else kind
    if isinstance(kind, type) and issubclass(kind, DistributedDataParallel):
        wrapper['device_ids'] = None
    return wrapper


def start_cpu_process_group(launcher: str, dist_cfg: dict) -> None:
    """Start the ``torch.distributed`` process group as mmengine's
    ``init_dist(launcher, **dist_cfg)`` would, without its
    ``torch.cuda.set_device`` (no-op when a group already exists).

    ``pytorch`` (``torchrun``): from the ``RANK``, ``WORLD_SIZE`` and
    ``MASTER_*`` variables torchrun sets; ``slurm``: those variables (and
    ``LOCAL_RANK``) set from Slurm's as mmengine sets them; ``mpi``: from
    Open MPI's. The Runner then finds the group and skips ``init_dist``.
    """
    import datetime
    import os
    import subprocess

    import torch.distributed as torch_dist
    if torch_dist.is_initialized():
        return
    kwargs = dict(dist_cfg)
    backend = kwargs.pop('backend', 'gloo')
    init_backend = kwargs.pop('init_backend', 'torch')
    port = kwargs.pop('port', None)
    if init_backend != 'torch':
        raise UserError(f'env_cfg.dist_cfg.init_backend={init_backend!r} '
                        'needs CUDA; drop it for CPU processes')
    if kwargs.get('timeout') is not None:  # seconds, as mmengine takes it
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    env = os.environ
    if launcher == 'slurm':
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', '29500')  # torch.distributed's
        if 'MASTER_ADDR' not in env:
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        env['RANK'] = env['SLURM_PROCID']
    elif launcher == 'mpi':
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            raise KeyError('The environment variable MASTER_ADDR is not set')
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
    elif launcher != 'pytorch':
        raise ValueError(f'Invalid launcher type: {launcher}')
    torch_dist.init_process_group(backend=backend, **kwargs)
