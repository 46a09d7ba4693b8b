"""``tools/test.py``: evaluate a checkpoint, optionally with flip TTA."""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Sequence

from mmengine.config import Config

from ..compat import check_checkpoint_file
from .checkpoints import load_weights
from .config import CfgOptionsAction, load_config, set_data, use_clearml
from .errors import UserError
from .inference import no_pretrained_download, wrap_tta  # noqa: F401
from .safety import check_work_dir
from .train import default_work_dir, fresh_visualizer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description='Test a checkpoint; prints and saves a per-class table.')
    p.add_argument('config', help='the config the checkpoint was trained with')
    p.add_argument('checkpoint', help='checkpoint file (or URL)')
    p.add_argument('--work-dir', help='where results go '
                   '(default: work_dirs/<config name>)')
    p.add_argument('--tta', action='store_true',
                   help='horizontal-flip test-time augmentation')
    p.add_argument('--out', metavar='DIR',
                   help='write predicted masks (class-id PNG) here')
    p.add_argument('--show-dir', metavar='DIR', help='write image | ground '
                   'truth | prediction | errors pictures here')
    p.add_argument('--worst', type=int, metavar='N', help='rank images by '
                   'their Jaccard; save the N worst as one grid '
                   '(worst.png: image | ground truth | prediction | errors) '
                   'and every image\'s scores worst first (worst.csv)')
    p.add_argument('--data-root', help='dataset folder (img/, labels/...)')
    p.add_argument('--labels', help='mask folder: labels or labels_fixed')
    p.add_argument('--split', help='split to test (config: val)')
    p.add_argument('--no-clearml', action='store_true',
                   help='do not log to ClearML')
    p.add_argument('--clearml-project', help='ClearML project name')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config keys')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0)
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def prepare_config(args: argparse.Namespace) -> Config:
    if not (osp.isfile(args.checkpoint) or '://' in args.checkpoint):
        raise UserError(f'{args.checkpoint}: checkpoint not found')
    if '://' not in args.checkpoint:
        check_checkpoint_file(args.checkpoint)  # before any output exists
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or \
        default_work_dir(args.config)
    check_work_dir(cfg.work_dir)
    set_data(cfg, args.data_root, args.labels)
    if args.split:
        cfg.test_dataloader.dataset.split = args.split
        cfg.test_dataloader.dataset.pop('data_prefix', None)
    no_pretrained_download(cfg)  # loaded strictly by load_weights
    if args.tta:
        wrap_tta(cfg)
    suffix = '_tta' if args.tta else ''
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(
        type='TestOutputsHook',
        results_file=osp.join(cfg.work_dir, f'test_results{suffix}.json'),
        per_image_csv=osp.join(cfg.work_dir, f'per_image{suffix}.csv'),
        out_dir=args.out, show_dir=args.show_dir, worst=args.worst or 0,
        worst_png=osp.join(cfg.work_dir, f'worst{suffix}.png'),
        worst_csv=osp.join(cfg.work_dir, f'worst{suffix}.csv'))]
    fresh_visualizer(cfg)
    name = osp.basename(osp.normpath(cfg.work_dir))
    use_clearml(cfg, not args.no_clearml, task_name=f'{name}-test{suffix}',
                project=args.clearml_project)
    return cfg


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = prepare_config(args)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    load_weights(runner.model, args.checkpoint)
    runner._has_loaded = True
    runner.test()
    return 0
