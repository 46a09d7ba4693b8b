"""Patches to mmengine 0.10.7 so that an interrupted run loses nothing.

Installed by :func:`custom_modules.compat.apply`; used by the
interrupt and resume handling of ``tools/train.py``
(:class:`~custom_modules.hooks.InterruptHook`, ``--resume``).

1. **Checkpoints are written in place.** mmengine's local file backend
   (``LocalBackend.put``/``put_text``, which ``save_checkpoint`` and the
   config dump use) opens the target and writes into it, so a run killed
   while saving leaves a half-written ``iter_N.pth`` that breaks
   ``--resume``. The patched methods write a temporary file in the same
   folder, flush it to disk and ``os.replace`` it onto the target: the file
   is either the old one or the complete new one.
2. **A signal to the whole job kills the data-loader workers.** Ctrl-C in
   a terminal, ``kill -- -PGID`` and Slurm's time limit signal every
   process; a worker dies of SIGTERM, and PyTorch's SIGCHLD handler then
   raises in the main process in the middle of a step, so the run cannot
   save a checkpoint (:class:`~custom_modules.hooks.InterruptHook`). The
   Runner's default ``worker_init_fn`` (seeding) is replaced by
   :func:`worker_init_fn`, which seeds the same way, then makes the worker
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

__all__ = ['atomic_write', 'remove_stale_temporaries', 'worker_init_fn', 'install_atomic_writes',
           'install_worker_init']


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


def _atomic_put(self, obj: bytes, filepath) -> None:
    atomic_write(filepath, obj)


def _atomic_put_text(self, obj: str, filepath, encoding: str = 'utf-8'):
    atomic_write(filepath, obj.encode(encoding))


def install_atomic_writes() -> None:
    from mmengine.fileio.backends import LocalBackend
    LocalBackend.put = _atomic_put
    LocalBackend.put_text = _atomic_put_text


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


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """mmengine's worker seeding, then leave SIGINT/SIGTERM to the main
    process (module level, so it pickles for the spawn start method)."""
    from mmengine.dataset import worker_init_fn as seed_worker
    seed_worker(worker_id, num_workers, rank, seed,
                disable_subprocess_warning)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, 'sigwaitinfo'):
        _sigterm_from_parent_only()


def install_worker_init() -> None:
    from mmengine.runner import runner
    runner.default_worker_init_fn = worker_init_fn

