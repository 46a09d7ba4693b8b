"""``tools/train.py``: train a config on GPU or CPU with ClearML logging."""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .config import load_config, set_data, set_pretrained, use_clearml
from .errors import UserError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description='Train a segmentor (mmseg conventions, GPU if present).')
    p.add_argument('config', help='config file, e.g. configs/pets/unet.py')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                   '(default: work_dirs/<config name>)')
    p.add_argument('--data-root', help='dataset folder (img/, labels/...)')
    p.add_argument('--labels', help='mask folder: labels or labels_fixed')
    p.add_argument('--pretrained', help="encoder weights: 'none' trains from "
                   'scratch, or a local checkpoint file/URL; default: the '
                   "config's ImageNet weights (needs network once)")
    p.add_argument('--resume', nargs='?', const='auto', help='resume from '
                   'the latest checkpoint in the work dir, or from PATH')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision (GPU only)')
    p.add_argument('--seed', type=int, help='random seed (config: 42)')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic cuDNN kernels (slower)')
    p.add_argument('--no-clearml', action='store_true',
                   help='do not log to ClearML')
    p.add_argument('--clearml-project', help='ClearML project name')
    p.add_argument('--task-name', help='ClearML task name '
                   '(default: the work dir name)')
    p.add_argument('--sync-bn', action='store_true',
                   help='SyncBN across processes (with --launcher)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config keys, e.g. train_cfg.max_iters=500')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none', help='job launcher for distributed runs')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0)
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def default_work_dir(config: str) -> str:
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0])


def prepare_config(args: argparse.Namespace) -> Config:
    """The config with every command-line override applied."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or \
        default_work_dir(args.config)
    set_data(cfg, args.data_root, args.labels)
    set_pretrained(cfg, args.pretrained)
    randomness = dict(cfg.get('randomness', {}))
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    if args.amp:
        if not torch.cuda.is_available():
            raise UserError('--amp needs a CUDA GPU; on CPU train in fp32 '
                            '(drop --amp)')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
        if args.resume != 'auto' and not osp.isfile(args.resume):
            raise UserError(f'{args.resume}: checkpoint to resume not found')
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    use_clearml(cfg, not args.no_clearml,
                task_name=args.task_name or osp.basename(
                    osp.normpath(cfg.work_dir)),
                project=args.clearml_project)
    return cfg


def describe_device() -> str:
    if torch.cuda.is_available():
        return f'cuda ({torch.cuda.get_device_name(0)})'
    return f'cpu ({torch.get_num_threads()} threads)'


def report_best(runner) -> Optional[dict]:
    """Log and return the best validation checkpoint of a finished run."""
    hub = runner.message_hub
    path = hub.get_info('best_ckpt')
    if path is None:
        return None
    score = float(hub.get_info('best_score'))
    it = int(osp.splitext(path)[0].rsplit('_', 1)[-1])
    print_log(f'best at iter {it}: mJaccard {score:.2f} ({path})',
              logger='current')
    return dict(iter=it, mJaccard=score, checkpoint=path)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = prepare_config(args)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    print_log(f'device: {describe_device()}; work dir: {cfg.work_dir}',
              logger='current')
    runner.train()
    report_best(runner)
    return 0
