"""Checks before the Runner of ``tools/train.py`` and ``tools/test.py``.

The Runner creates the work dir, the log and the ClearML task: bad data, a
work dir that cannot be written, or weights that do not fit are found first,
as one line, with nothing left behind.
"""
from __future__ import annotations

import copy
import os.path as osp
import tempfile
from typing import Optional

from .. import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.logging import print_log

from ..common.weights import check_weights
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
