"""Where a run continues from, and a stop that keeps it possible.

- :func:`resume_checkpoint`: what ``--resume`` continues from: the file
  ``last_checkpoint`` names, or the newest complete ``iter_*.pth`` when that
  is missing or incomplete;
- :func:`check_start_checkpoint`: the ``--resume``/``load_from`` checkpoint
  must fit the model (mmengine's own loader is not strict);
- :func:`run_training`: a full disk while saving becomes one line naming
  the checkpoint to resume from.
"""
from __future__ import annotations

import errno
import glob
import os.path as osp
from typing import Optional

from .. import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.logging import print_log

from ..compat import checkpoint_damage
from ..hooks.run_guards import close_stopped_run
from ..common.weights import check_weights, file_iteration
from ..common.errors import UserError


def complete(path: str) -> bool:
    """True when ``path`` is a whole checkpoint file.

    ``torch.save`` writes a zip archive whose directory is at the end, so a
    truncated file has none (:func:`custom_modules.compat.checkpoint_damage`
    also refuses empty files and files that are not checkpoints).
    """
    return osp.isfile(path) and checkpoint_damage(path) is None


def resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from, or None.

    Only files in ``work_dir`` are candidates: the one ``last_checkpoint``
    names (by its file name, so a copied or moved work dir uses its own
    copy, never the original run's file); when that is missing or
    incomplete, the newest complete ``iter_*.pth`` (with a warning).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
    if named and complete(osp.join(work_dir, osp.basename(named))):
        return osp.join(work_dir, osp.basename(named))
    found = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')),
                   key=lambda p: file_iteration(p) or -1,
                   reverse=True)
    for path in found:
        if complete(path):
            if named:
                print_log(f'--resume: {osp.basename(named)} (named in '
                          f'{pointer}) is missing or incomplete in '
                          f'{work_dir}; resuming from {path}',
                          logger='current', level=30)
            return path
    return None


def check_start_checkpoint(runner) -> None:
    """Refuse a ``--resume``/``load_from`` checkpoint that does not fit.

    Raises :class:`.checkpoints.CheckpointMismatchError` naming the tensors
    and shapes, or :class:`custom_modules.compat.UnsafeCheckpointError`.
    """
    path = runner.cfg.get('load_from')
    if path:
        check_weights(runner.model, path)


class DiskFullError(UserError):
    """The disk filled up while the run was writing (a checkpoint)."""


#: ``errno`` values of a full disk or an exhausted quota.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def run_training(runner) -> None:
    """``runner.train()``; a full disk while saving becomes one line.

    The checkpoint being written when the disk filled up is not on disk
    (:func:`custom_modules.compat.robustness.atomic_write` removes its temporary
    file) and the earlier ones are untouched; the error names the
    checkpoint ``--resume`` would continue from (:func:`resume_checkpoint`).

    Raises:
        DiskFullError: on ``ENOSPC``/``EDQUOT`` from a write.
    """
    try:
        runner.train()
    except OSError as err:
        if err.errno not in DISK_FULL:
            raise
        kept = close_stopped_run(runner, resume_checkpoint(runner.work_dir))
        raise DiskFullError(
            f'{err.filename or runner.work_dir}: no space left on device '
            f'while writing it (nothing of it was kept); {kept}; free some '
            'space and run the same command with --resume') from err
