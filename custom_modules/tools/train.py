"""``tools/train.py``: train a config on GPU or CPU with ClearML logging."""
from __future__ import annotations

import argparse
import copy
import os.path as osp
import uuid
from typing import Optional, Sequence, Union

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from ..compat import check_checkpoint_file
from ..datasets import IMAGE_LOADERS, MASK_LOADERS
from ..hooks.run_guards import missing_run_guards
from .arguments import train_parser
from .config import (fetch_pretrained, fit_loader_workers, load_config,
                     log_loader_workers, parse_cfg_options, pretrained_source,
                     set_data, set_pretrained, use_clearml)
from .console import build_runner, log_header
from ..common.errors import UserError
from .lock import lock_work_dir
from .schedule import check_schedule
from .distributed import configure_distributed
from .preflight import check_pretrained, preflight
from .resume import check_start_checkpoint, resume_checkpoint, run_training


build_parser = train_parser


def default_work_dir(config: str) -> str:
    return osp.join('work_dirs', osp.splitext(osp.basename(config))[0])


def seed_workers_as_mmengine(cfg) -> None:
    """Give each dataloader's signal-safe ``worker_init_fn`` the run's seed.

    mmengine passes ``randomness.seed`` to its default ``worker_init_fn``
    only; with it in the config, the project's function seeds each worker
    exactly as mmengine's default would (same augmentations as a run
    without it). A seed the config sets itself is kept.
    """
    from ..compat.robustness import WORKER_INIT_FN
    seed = (cfg.get('randomness') or {}).get('seed')
    if seed is None:
        return
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        init = loader.get('worker_init_fn') if loader else None
        if isinstance(init, dict) and init.get('type') == WORKER_INIT_FN:
            init.setdefault('seed', seed)


def build_config(config: str, *, work_dir: Optional[str] = None,
                 data_root: Optional[str] = None,
                 labels: Optional[str] = None,
                 pretrained: Optional[str] = None,
                 seed: Optional[int] = None, deterministic: bool = False,
                 cfg_options: Union[dict, Sequence[str], None] = None,
                 launcher: str = 'none', amp: bool = False,
                 resume: Optional[str] = None, sync_bn: bool = False,
                 overfit_batch: Optional[int] = None,
                 max_iters: Optional[int] = None, clearml: bool = True,
                 task_name: Optional[str] = None,
                 clearml_project: Optional[str] = None,
                 clearml_tags: Optional[Sequence[str]] = None) -> Config:
    """The training config that ``tools/train.py`` runs, from a plain call.

    Each keyword is the command-line flag of the same name (``clearml``:
    not ``--no-clearml``; ``resume``: ``'auto'`` or a checkpoint path);
    ``cfg_options`` is a dict or ``KEY=VALUE`` strings. The result goes to
    ``Runner.from_cfg``; benchmarks and k-fold build their configs here.
    """
    if cfg_options is not None and not isinstance(cfg_options, dict):
        cfg_options = parse_cfg_options(cfg_options)
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or \
        default_work_dir(config) + ('_overfit' if overfit_batch else '')
    set_data(cfg, data_root, labels)
    set_pretrained(cfg, pretrained)
    randomness = dict(cfg.get('randomness', {}))
    if seed is not None:
        randomness['seed'] = seed
    if deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    seed_workers_as_mmengine(cfg)
    if amp:
        if not torch.cuda.is_available():
            raise UserError('--amp needs a CUDA GPU; on CPU train in fp32 '
                            '(drop --amp)')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if resume:
        set_resume(cfg, resume)
    if sync_bn:
        cfg.sync_bn = 'torch'
    configure_distributed(cfg, launcher)
    warn_missing_run_guards(cfg)
    check_early_stopping(cfg)
    if overfit_batch:
        apply_overfit_batch(cfg, overfit_batch, cfg_options or {})
    check_schedule(cfg, max_iters, cfg_options or {})  # --max-iters, warning
    log_loader_workers(fit_loader_workers(cfg, given=cfg_options or {}), cfg)
    fresh_visualizer(cfg)
    use_clearml(cfg, clearml,
                task_name=task_name or osp.basename(osp.normpath(cfg.work_dir)),
                project=clearml_project, tags=clearml_tags)
    return cfg


def prepare_config(args: argparse.Namespace) -> Config:
    """:func:`build_config` with the parsed ``tools/train.py`` flags."""
    return build_config(
        args.config, work_dir=args.work_dir, data_root=args.data_root,
        labels=args.labels, pretrained=args.pretrained, seed=args.seed,
        deterministic=args.deterministic, cfg_options=args.cfg_options,
        launcher=args.launcher, amp=args.amp, resume=args.resume,
        sync_bn=args.sync_bn, overfit_batch=args.overfit_batch,
        max_iters=args.max_iters,
        clearml=not args.no_clearml, task_name=args.task_name,
        clearml_project=args.clearml_project, clearml_tags=args.clearml_tags)


def set_resume(cfg: Config, resume: str) -> None:
    """``--resume auto`` (the work dir's last checkpoint, if any) or a
    checkpoint file, checked before the Runner starts."""
    cfg.resume = True
    cfg.load_from = resume_checkpoint(cfg.work_dir) \
        if resume == 'auto' else resume
    if resume != 'auto':
        if not osp.isfile(resume):
            raise UserError(f'{resume}: checkpoint to resume not found')
        check_checkpoint_file(resume)
    if cfg.load_from is None:  # e.g. a requeued job's first start
        cfg.resume = False
        print_log(f'--resume: no checkpoint in {cfg.work_dir}; training '
                  'starts at iteration 0', logger='current', level=30)


def fresh_visualizer(cfg: Config) -> None:
    """A visualizer of its own for this run, so several runs can go in one
    process (mmengine otherwise hands an existing visualizer of the same
    name, with the first run's save dir and backends, to the next run)."""
    if cfg.get('visualizer'):
        cfg.visualizer.name = f'visualizer_{uuid.uuid4().hex[:8]}'


def warn_missing_run_guards(cfg: Config) -> None:
    """One warning line when ``cfg`` (a config of your own that does not
    inherit ``configs/_base_/default_runtime.py``) lacks the NaN/interrupt
    guards; nothing is added, the config owns the run."""
    missing = missing_run_guards(cfg)
    if missing:
        print(f'warning: {cfg.filename or "the config"} declares no '
              f'{" or ".join(missing)}: a NaN loss or Ctrl-C will not stop '
              'cleanly with a checkpoint; inherit '
              'configs/_base_/default_runtime.py or add them to '
              'default_hooks')


def check_early_stopping(cfg: Config) -> None:
    """Refuse the old top-level ``early_stopping`` dict, which no hook reads
    any more: early stopping is ``default_hooks.early_stopping``."""
    if 'early_stopping' in cfg:
        raise UserError(
            'early_stopping: set default_hooks.early_stopping instead (e.g. '
            '--cfg-options default_hooks.early_stopping.enable=True '
            'default_hooks.early_stopping.patience=4); see '
            'configs/_base_/default_runtime.py')


def overfit_pipeline(pipeline: Sequence[dict]) -> list:
    """A test pipeline that also resizes the masks (labels loaded first)."""
    first = [t for t in pipeline if t['type'] in IMAGE_LOADERS]
    labels = [t for t in pipeline if t['type'] in MASK_LOADERS] or \
        [dict(type='LoadAnnotations')]
    rest = [t for t in pipeline
            if t['type'] not in IMAGE_LOADERS + MASK_LOADERS]
    return [copy.deepcopy(t) for t in first + labels + rest]


#: The --overfit-batch schedule, applied where --cfg-options does not set it.
OVERFIT_SCHEDULE = {'train_cfg.max_iters': 150, 'train_cfg.val_interval': 25,
                    'default_hooks.checkpoint.interval': 150}


def apply_overfit_batch(cfg: Config, n: int, options: dict) -> None:
    """Train and validate on the same first ``n`` training images.

    Augmentation off (the val pipeline, masks resized with the image), one
    batch of all ``n`` images loaded in the main process, a short constant
    learning rate
    (:data:`OVERFIT_SCHEDULE`, no warm-up) and no early stopping; keys
    given in ``options`` (``--cfg-options``, e.g.
    ``default_hooks.early_stopping.enable=True``) are left as the user set
    them.
    """
    if n < 1:
        raise UserError(f'--overfit-batch {n}: give a number of images >= 1')
    given = set(options)
    train = cfg.train_dataloader
    train.dataset.indices = n
    train.dataset.pipeline = overfit_pipeline(
        cfg.val_dataloader.dataset.pipeline)
    if 'train_dataloader.batch_size' not in given:
        train.batch_size = n
    val_dataset = copy.deepcopy(train.dataset)
    val_dataset.pipeline = copy.deepcopy(cfg.val_dataloader.dataset.pipeline)
    cfg.val_dataloader.dataset = val_dataset
    for name in ('train_dataloader', 'val_dataloader'):
        if f'{name}.num_workers' not in given:  # N images: no worker pool
            cfg[name].num_workers = 0
            cfg[name].persistent_workers = False
    for key, value in OVERFIT_SCHEDULE.items():
        if key not in given:
            cfg.merge_from_dict({key: value})
    if not any(k.startswith('param_scheduler') for k in given):
        cfg.param_scheduler = []
    early = (cfg.get('default_hooks') or {}).get('early_stopping')
    if early and 'enable' in early and \
            'default_hooks.early_stopping.enable' not in given:
        early.enable = False


def describe_weights(cfg: Config) -> str:
    """Where the run's starting weights come from, in words."""
    if cfg.get('load_from'):
        how = 'resumed from' if cfg.get('resume') else 'all weights from'
        return f'{how} {cfg.load_from}'
    source = pretrained_source(cfg)
    return f'encoder from {source}' if source else 'none (from scratch)'


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
    preflight(cfg)  # data errors before the work dir and ClearML task exist
    if args.pretrained is None:
        fetch_pretrained(cfg)  # no network: from scratch, with a warning
    else:  # how many encoder tensors it fills; none: refused
        check_pretrained(cfg, args.pretrained)
    with lock_work_dir(cfg.work_dir, args.launcher) as lock:  # one run/dir
        if lock.enabled:  # no other writer: an interrupted save's leftovers
            remove_stale_saves(cfg.work_dir)
        runner = build_runner(cfg, verbose=args.debug)
        log_header(runner, 'training', args.config, describe_weights(cfg))
        check_start_checkpoint(runner)
        run_training(runner)
        report_best(runner)
        if args.overfit_batch:
            report_overfit(runner)
    return 0


def remove_stale_saves(work_dir: str) -> None:
    """Remove the temporary files of checkpoint saves that a killed run
    left in ``work_dir`` (one line naming them)."""
    from ..compat.robustness import remove_stale_temporaries
    removed = remove_stale_temporaries(work_dir)
    if removed:
        print_log(f'removed {len(removed)} temporary file'
                  f'{"s" if len(removed) > 1 else ""} of an interrupted '
                  f'checkpoint save: {", ".join(removed)}', logger='current')


def report_overfit(runner) -> Optional[dict]:
    """Print the last validation's metrics on the overfit images."""
    records = []
    for metric in runner.val_evaluator.metrics:
        records = getattr(metric, 'per_image', None) or records
    scores = {k: v for k, v in runner.message_hub.log_scalars.items()
              if k.startswith('val/m')}
    miou = scores.get('val/mJaccard')
    value = miou.current() if miou is not None else float('nan')
    lines = [f'overfit-batch: {len(records)} training images after '
             f'{runner.iter} iterations: mJaccard {value:.2f}']
    lines += [f'  {osp.basename(r["img_path"])}: Jaccard {r["jaccard"]:.3f}'
              for r in records]
    print_log('\n'.join(lines), logger='current')
    return dict(mJaccard=value, per_image=records)


if __name__ == '__main__':  # python -m custom_modules.tools.train (k-fold)
    from ..common.errors import run_cli
    run_cli(main)
