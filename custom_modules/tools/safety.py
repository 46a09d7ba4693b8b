"""Checks ``tools/train.py`` runs before and around the Runner.

- :func:`preflight`: build the datasets once before the Runner (which
  creates the work dir, the log and the ClearML task), so bad data is one
  line and nothing else;
- :func:`resume_checkpoint`: what ``--resume`` continues from: the file
  ``last_checkpoint`` names, or the newest complete ``iter_*.pth`` when that
  is missing or incomplete;
- :func:`check_start_checkpoint`: the ``--resume``/``load_from`` checkpoint
  must fit the model (mmengine's own loader is not strict);
- :func:`configure_distributed`: SyncBN only where it can run.
"""
from __future__ import annotations

import copy
import errno
import glob
import os.path as osp
import sys
import tempfile
from typing import Optional

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..compat import checkpoint_damage
from ..hooks.run_guards import close_stopped_run
from ..common.weights import check_weights, file_iteration
from ..common.errors import UserError


def _pets_dataset_cfgs(dataset_cfg):
    """The PetsDataset dicts in a dataset config (wrappers looked through)."""
    from ..datasets import PetsDataset
    if not isinstance(dataset_cfg, dict):
        return
    kind = dataset_cfg.get('type')
    if kind in ('PetsDataset', PetsDataset) or (
            isinstance(kind, type) and issubclass(kind, PetsDataset)):
        yield dataset_cfg
    for key in ('dataset', 'datasets'):
        inner = dataset_cfg.get(key)
        for item in inner if isinstance(inner, (list, tuple)) else [inner]:
            yield from _pets_dataset_cfgs(item)


def _nearest_existing(path: str) -> str:
    """``path`` or its nearest ancestor that exists (as anything)."""
    path = osp.abspath(path)
    while not osp.lexists(path) and osp.dirname(path) != path:
        path = osp.dirname(path)
    return path


def check_work_dir(work_dir: str) -> None:
    """Refuse a work dir that cannot be created or written, creating nothing.

    The nearest existing part of the path must be a folder, and a file must
    be creatable in it (tried with an unnamed temporary file, which also
    catches read-only disks, ``/proc`` and root-owned folders; a permission
    check alone would not).

    Raises:
        UserError: one line naming ``--work-dir``, the cause and the fix.
    """
    fix = 'choose a folder you can write to with --work-dir PATH'
    existing = _nearest_existing(work_dir)
    if not osp.isdir(existing):
        raise UserError(f'--work-dir {work_dir}: {existing} is a file, not a '
                        f'folder; {fix}')
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        why = err.strerror or str(err)
        raise UserError(f'--work-dir {work_dir}: cannot write in {existing} '
                        f'({why}); {fix}') from None


def preflight(cfg: Config) -> None:
    """Check the work dir, then build the train/val datasets (no pipeline)
    to raise data errors now.

    :class:`~custom_modules.datasets.PetsDataset` checks every file on
    construction and caches the result, so the Runner's own build of the
    same datasets repeats only a directory listing.
    """
    check_work_dir(cfg.work_dir)
    build_datasets(cfg, ('train_dataloader', 'val_dataloader'))


def preflight_test(cfg: Config) -> None:
    """Build the test dataset (no pipeline) so that a data error is one
    line before the Runner creates the work dir (as :func:`preflight` does
    for training); only the tested split is read."""
    build_datasets(cfg, ('test_dataloader',))


def build_datasets(cfg: Config, loaders) -> None:
    """Build the :class:`~custom_modules.datasets.PetsDataset` of each of
    ``cfg``'s ``loaders`` without its pipeline (its file checks run)."""
    from mmseg.registry import DATASETS
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for ds in _pets_dataset_cfgs(loader.get('dataset')):
            ds = copy.deepcopy(dict(ds))
            ds['pipeline'] = []
            ds['lazy_init'] = False
            DATASETS.build(ds)


def check_output_dir(path: Optional[str], flag: str) -> None:
    """Refuse an output folder (``--out``, ``--show-dir``) that is a file or
    lies under one, creating nothing.

    Raises:
        UserError: one line naming the flag, the file and the fix.
    """
    if not path:
        return
    existing = _nearest_existing(path)
    if not osp.isdir(existing):
        where = ('is a file, not a folder' if existing == osp.abspath(path)
                 else f'is under {existing}, a file, not a folder')
        raise UserError(f'{flag} {path}: {path} {where}; give a folder '
                        f'(new or existing) with {flag} DIR')


def check_test_checkpoint(cfg: Config, path: str) -> dict:
    """Load ``path`` and check that it fits ``cfg.model`` before the Runner
    (and so the work dir) exists: a damaged, unsafe or foreign checkpoint
    is one line and nothing is created.

    Returns:
        The whole checkpoint dict, for
        :func:`~custom_modules.common.weights.load_checked`.
    """
    from mmseg.registry import MODELS
    # building loads no weights (init_cfg acts in init_weights, not called)
    model = MODELS.build(copy.deepcopy(cfg.model))
    return check_weights(model, path)


def check_pretrained(cfg: Config, pretrained: Optional[str]) -> None:
    """``--pretrained FILE``: count the encoder tensors the file fills and
    say so in one line; refuse a file that fills none (mmengine would load
    nothing and train from scratch without a word). Before the Runner, so
    a refusal creates nothing.

    Raises:
        UserError: the file fits none of the encoder's tensors.
    """
    from mmseg.registry import MODELS
    from ..common.weights import pretrained_fit
    if not pretrained or pretrained == 'none':
        return
    backbone_cfg = copy.deepcopy(dict(cfg.model.backbone))
    init = dict(backbone_cfg.get('init_cfg') or {})
    backbone_cfg['init_cfg'] = None
    backbone = MODELS.build(backbone_cfg)
    from mmengine.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(pretrained, map_location='cpu')
    fit = pretrained_fit(backbone, checkpoint, init.get('prefix'))
    name = type(backbone).__name__
    if fit['loaded'] and fit['loaded'] < fit['expected'] and \
            getattr(backbone, 'strict_pretrained', False):
        from ..common.weights import assert_fits
        assert_fits(backbone, backbone.pretrained_state(
            checkpoint, init.get('prefix')), pretrained,
            fix=f'Give a checkpoint of the {name} encoder, or --pretrained '
            'none.')
    if fit['loaded']:
        print_log(f'--pretrained {pretrained}: loads {fit["loaded"]} of '
                  f'{fit["expected"]} {name} encoder tensors'
                  + (f' ({fit["unfit"]} of the file do not fit)'
                     if fit['unfit'] else ''), logger='current')
        return
    if fit['whole_model']:
        fix = (f'it holds a whole model: to start from all of its weights '
               f'use --pretrained none --cfg-options load_from={pretrained}')
    else:
        fix = (f'give a checkpoint of the {name} encoder (tensors named like '
               f'{fit["example"]}), or --pretrained none')
    raise UserError(
        f'{pretrained}: --pretrained loads none of the {fit["expected"]} '
        f'{name} encoder tensors ({fit["found"]} tensors in the file, none '
        f'with an encoder name and shape, e.g. {fit["file_example"]}); {fix}')


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
    """SyncBN only where it runs: PyTorch's SyncBN needs CUDA tensors.

    Distributed on CPU (see :mod:`custom_modules.compat`): the config's
    ``nccl`` backend becomes ``gloo`` (so the run's log says what it uses),
    ``--sync-bn`` is refused and a config's ``SyncBN`` layers become plain
    ``BN`` (per-process statistics) with a warning. In one process
    (``launcher='none'``) ``--sync-bn`` has nothing to synchronise: a
    warning says so instead of ignoring it silently.
    """
    if launcher == 'none' and cfg.get('sync_bn'):
        # print: no Runner (and so no logger of this run) exists yet
        print('warning: --sync-bn has no effect in one process; start one '
              'process per GPU with torchrun ... --launcher pytorch',
              file=sys.stderr)
    if launcher == 'none' or torch.cuda.is_available():
        return
    dist_cfg = (cfg.get('env_cfg') or {}).get('dist_cfg') or {}
    if dist_cfg.get('backend') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        print_log('no CUDA: distributed training uses the gloo backend '
                  'instead of nccl', logger='current', level=30)
    if cfg.get('sync_bn'):
        raise UserError('--sync-bn needs CUDA GPUs (SyncBN has no CPU '
                        'implementation); drop it for CPU processes')
    if _replace_norm(cfg.get('model'), 'SyncBN', 'BN'):
        print_log('no CUDA: the model\'s SyncBN layers use per-process BN '
                  'statistics', logger='current', level=30)
