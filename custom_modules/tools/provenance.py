"""Where a test result comes from: the checkpoint, its run, the data.

``tools/test.py`` writes :func:`test_provenance` into ``test_results.json``
(the sidecar of ``per_image.csv``, which it names), and ``tools/compare.py``
reads it back to say which checkpoint each test score came from.
"""
from __future__ import annotations

import glob
import hashlib
import os.path as osp
from typing import Optional

#: Files that make a folder a training run's work dir.
RUN_MARKERS = ('last_checkpoint', 'run_summary.json')


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def is_run_dir(folder: str) -> bool:
    """A training work dir: ``last_checkpoint``, ``run_summary.json`` or a
    ``<timestamp>/vis_data`` folder in it."""
    return any(osp.isfile(osp.join(folder, m)) for m in RUN_MARKERS) or \
        bool(glob.glob(osp.join(folder, '*', 'vis_data')))


def default_test_work_dir(config: str, checkpoint: str) -> str:
    """Where ``tools/test.py`` writes when ``--work-dir`` is not given.

    The checkpoint's own run dir when it lies in one (so the score lands on
    the run that trained it, whatever config file names it); otherwise
    ``work_dirs/tested/<config>-<checkpoint name>-<8 hex digits of its
    path>``, which no training run and no other checkpoint uses.
    """
    if '://' not in checkpoint:
        folder = osp.dirname(osp.abspath(checkpoint))
        if is_run_dir(folder):
            return folder
    stem = osp.splitext(osp.basename(checkpoint.rstrip('/')))[0] or 'model'
    key = hashlib.sha256(osp.abspath(checkpoint).encode()
                         if '://' not in checkpoint else
                         checkpoint.encode()).hexdigest()[:8]
    name = osp.splitext(osp.basename(config))[0]
    return osp.join('work_dirs', 'tested', f'{name}-{stem}-{key}')


def checkpoint_iteration(checkpoint: dict, path: str) -> Optional[int]:
    """The training iteration a checkpoint was saved at (``meta.iter``, or
    the ``iter_N`` in its file name), or None."""
    from ..common.weights import file_iteration
    meta = checkpoint.get('meta') or {}
    if isinstance(meta.get('iter'), int):
        return int(meta['iter'])
    return file_iteration(path)


def test_provenance(*, checkpoint_path: str, checkpoint: dict, config: str,
                    work_dir: str, precision: str, tta: bool,
                    dataset: dict) -> dict:
    """What a test result was computed from (JSON-able).

    Args:
        checkpoint_path: as given on the command line (file or URL).
        checkpoint: the loaded checkpoint dict (for ``meta``).
        config: the config file given to ``tools/test.py``.
        work_dir: the test's work dir (where the results go).
        precision: how the model inferred, in words.
        tta: the TTA mode (``'flip'``, ``'ms'``), or False.
        dataset: the test dataset's config (``data_root``, ``split``,
            ``labels``).
    """
    local = '://' not in checkpoint_path
    path = osp.abspath(checkpoint_path) if local else checkpoint_path
    run_dir = osp.dirname(path) if local and is_run_dir(osp.dirname(path)) \
        else None
    meta = checkpoint.get('meta') or {}
    return dict(
        checkpoint=path,
        checkpoint_sha256=file_sha256(path) if local else None,
        checkpoint_iter=checkpoint_iteration(checkpoint, path),
        checkpoint_saved=meta.get('time'),
        checkpoint_run_dir=run_dir,
        config=osp.abspath(config),
        work_dir=osp.abspath(work_dir),
        precision=precision,
        tta=tta if isinstance(tta, str) else bool(tta),
        data_root=osp.abspath(str(dataset.get('data_root', ''))),
        split=dataset.get('split'),
        labels=dataset.get('labels'),
    )


def foreign_checkpoint(provenance: dict, work_dir: str) -> bool:
    """True when a test in ``work_dir`` scored a checkpoint that is not a
    file of ``work_dir`` (tested from elsewhere, or a URL)."""
    path = provenance.get('checkpoint')
    if not path or '://' in path:
        return True
    return osp.realpath(osp.dirname(path)) != osp.realpath(work_dir)
