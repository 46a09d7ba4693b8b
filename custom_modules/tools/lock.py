"""One training per work dir: a lock file held while ``tools/train.py`` runs.

Two trainings in one work dir share its timestamped log folder and
overwrite each other's checkpoints and ``last_checkpoint`` without a word.
:class:`WorkDirLock` holds an exclusive ``fcntl.flock`` on
``<work_dir>/.lock`` (which holds the owner's pid, for the message) for the
whole run. The kernel drops the lock when its process ends, however it ends
(``kill -9`` included), so the lock file a killed run leaves behind is
simply taken over by the next run. Under a distributed launcher only rank 0
takes it.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

from ..common.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None

LOCK_NAME = '.lock'


class WorkDirBusyError(UserError):
    """Another training holds the work dir's lock."""


def _read_pid(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class WorkDirLock:
    """Exclusive lock on a work dir for the lifetime of one training.

    Use as a context manager, or :meth:`acquire` / :meth:`release`.

    Args:
        work_dir: the run's work dir (created if missing).
        enabled: False makes every method a no-op (the ranks other than 0
            of a distributed run, which share rank 0's work dir).
    """

    def __init__(self, work_dir: str, enabled: bool = True) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.enabled = enabled
        self._fd: Optional[int] = None

    def acquire(self) -> 'WorkDirLock':
        """Take the lock or raise :class:`WorkDirBusyError` naming the pid
        of the run that holds it."""
        if fcntl is None or not self.enabled or self._fd is not None:
            return self
        os.makedirs(self.work_dir, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self._refuse()
            if self._still_the_lock_file(fd):
                break
            os.close(fd)  # the holder removed it meanwhile: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f'{os.getpid()}\n'.encode())
        self._fd = fd
        return self

    def _still_the_lock_file(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def _refuse(self) -> None:
        pid = _read_pid(self.path)
        who = f'pid {pid}' if pid else 'another process'
        raise WorkDirBusyError(
            f'--work-dir {self.work_dir}: another training ({who}) is running '
            'in this work dir; wait for it to finish, stop it, or choose '
            f'another --work-dir (lock: {self.path})')

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_rank_zero(launcher: str) -> bool:
    """True unless this is a non-zero rank of a distributed launch (read
    from the launcher's environment: the Runner has not set up ranks yet)."""
    if launcher == 'none':
        return True
    rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))
    return rank.strip() in ('', '0')


def lock_work_dir(work_dir: str, launcher: str = 'none') -> WorkDirLock:
    """The work dir's lock, taken (a no-op lock on ranks other than 0)."""
    return WorkDirLock(work_dir, enabled=is_rank_zero(launcher)).acquire()
