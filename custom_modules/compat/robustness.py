"""So that an interrupted run loses nothing: atomic writes, signal-safe
data-loader workers. No patches here: both reach mmengine 0.10.7 through
its public extension points.

1. **Checkpoints are written atomically.** mmengine's local file backend
   opens the target and writes into it, so a run killed while saving would
   leave a half-written ``iter_N.pth`` that breaks ``--resume``.
   :func:`atomic_write` writes a temporary file in the same folder,
   flushes it to disk and moves it onto the target with ``os.replace``:
   the file is either the old one or the complete new one. Checkpoints go
   through it by configuration: the registered file backend
   ``'atomic_local'`` (:class:`~.atomic_local_backend.AtomicLocalBackend`),
   named by the base runtime's ``default_hooks.checkpoint.backend_args``.
   The project's own JSON records use it directly.
2. **A signal to the whole job must not kill the data-loader workers.**
   Ctrl-C in a terminal, ``kill -- -PGID`` and Slurm's time limit signal
   every process; a worker dies of SIGTERM, and PyTorch's SIGCHLD handler
   then raises in the main process in the middle of a step, so the run
   cannot save a checkpoint (:class:`~custom_modules.hooks.InterruptHook`).
   :func:`worker_init_fn`, registered in mmengine's ``FUNCTIONS`` registry
   as :data:`WORKER_INIT_FN` and named by every dataloader of the shipped
   configs (``worker_init_fn=dict(type='signal_safe_worker_init_fn')``,
   ``configs/_base_/datasets/pets.py``), seeds the worker, then makes it
   ignore SIGINT and every SIGTERM that does not come from its parent (the
   parent's own ``terminate()`` at shutdown still ends it): the main
   process decides, then shuts its workers down as usual. SIGTERM needs
   ``signal.sigwaitinfo`` (Linux); elsewhere only SIGINT is ignored.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import signal
import tempfile
from typing import Optional

__all__ = ['atomic_write', 'remove_stale_temporaries', 'worker_init_fn',
           'WORKER_INIT_FN']


# ---------------------------------------------------------------------------
# 1. Atomic local writes (checkpoints)
# ---------------------------------------------------------------------------


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash never leaves it partial.

    The bytes go to a temporary file in the target's folder, are flushed to
    disk, then ``os.replace`` swaps it in (atomic on POSIX and Windows);
    on any failure the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.',
                               suffix='.tmp', dir=folder)
    try:
        _write_synced(fd, data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0o600; match open()
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError) and err.filename is None:
            err.filename = path  # "[Errno 28] ...: 'iter_8.pth'"
        raise


#: The temporary files :func:`atomic_write` makes: ``.NAME.XXXXXXXX.tmp``
#: (``tempfile.mkstemp``'s 8 random characters).
TEMPORARY_NAME = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def remove_stale_temporaries(folder: str) -> list:
    """Remove the temporary files that :func:`atomic_write` left in
    ``folder`` when its process was killed while writing (``kill -9``,
    power loss); returns their paths.

    Call it only while no other process writes in ``folder`` (the work
    dir's lock, :mod:`custom_modules.tools.lock`, held by this training):
    a live writer's temporary file has the same name.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in sorted(names):
        path = osp.join(folder, name)
        if TEMPORARY_NAME.match(name) and osp.isfile(path) and \
                not osp.islink(path):
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed


def _write_synced(fd: int, data: bytes) -> None:
    """Write ``data`` to the open file ``fd``, flush it to disk, close it."""
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it; restored at once
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # at import, before any worker thread exists


# ---------------------------------------------------------------------------
# 2. Data-loader workers leave signals to the main process
# ---------------------------------------------------------------------------


def _sigterm_from_parent_only() -> None:
    """Block SIGTERM; a thread takes it, exits only if the parent sent it."""
    import threading
    parent = os.getppid()

    def watch() -> None:
        while True:
            info = signal.sigwaitinfo({signal.SIGTERM})
            if info.si_pid == parent:
                os._exit(0)

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=watch, name='sigterm-from-parent',
                     daemon=True).start()


#: The name :func:`worker_init_fn` has in mmengine's ``FUNCTIONS`` registry
#: (a dataloader config's ``worker_init_fn=dict(type=WORKER_INIT_FN)``).
WORKER_INIT_FN = 'signal_safe_worker_init_fn'


def worker_init_fn(worker_id: int, num_workers: Optional[int] = None,
                   rank: Optional[int] = None, seed: Optional[int] = None,
                   disable_subprocess_warning: bool = False) -> None:
    """Seed a data-loader worker as mmengine does, then leave SIGINT and
    SIGTERM to the main process (module level, so it pickles for the spawn
    start method).

    mmengine's ``Runner.build_dataloader`` calls a config's
    ``worker_init_fn`` with the config's own keys only (its seed, rank and
    worker count go only to its default function), so what the config
    leaves out is found in the worker:

    - ``num_workers``: the DataLoader's (``get_worker_info()``);
    - ``rank``: the process group's rank (inherited by a forked worker),
      else ``$RANK``, else 0;
    - ``seed``: the DataLoader's base seed for this pass over the data,
      which it draws from the main process's torch generator (seeded by the
      Runner's ``randomness.seed``), so runs with the same seed and config
      draw the same augmentations, and each pass of a non-persistent
      loader new ones.

    mmengine's own ``worker_init_fn`` then seeds ``random``, numpy and
    torch with ``num_workers * rank + worker_id + seed``. With ``seed`` in
    the config (``worker_init_fn=dict(type=..., seed=42)``) the seeds are
    exactly those mmengine's default gives with ``randomness.seed=42``;
    ``tools/train.py`` fills it in from the run's seed
    (:func:`custom_modules.tools.train.seed_workers_as_mmengine`).
    """
    import torch
    from mmengine.dataset import worker_init_fn as seed_worker
    info = torch.utils.data.get_worker_info()
    if num_workers is None:
        num_workers = info.num_workers if info is not None else 1
    if rank is None:
        rank = _process_rank()
    if seed is None:  # below 2**31 like mmengine's seeds (numpy: < 2**32)
        base = info.seed - worker_id if info is not None else \
            torch.initial_seed()
        seed = base % 2**31
    seed_worker(worker_id, num_workers, rank, seed,
                disable_subprocess_warning)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, 'sigwaitinfo'):
        _sigterm_from_parent_only()


def _process_rank() -> int:
    """This process's rank: the process group's, else ``$RANK``, else 0."""
    from mmengine.dist import get_rank, is_distributed
    if is_distributed():
        return get_rank()
    try:
        return int(os.environ.get('RANK', 0))
    except ValueError:
        return 0
