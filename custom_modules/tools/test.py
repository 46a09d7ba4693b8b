"""``tools/test.py``: evaluate a checkpoint, optionally with flip TTA."""
from __future__ import annotations

import argparse
import os.path as osp
from typing import Sequence

from .. import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.logging import print_log

from ..compat import check_checkpoint_file
from ..evaluation import format_confusion_table
from ..evaluation.jaccard_metric import format_class_table
from ..hooks import TestOutputsHook
from ..hooks.curves_hook import clearml_backend
from .arguments import test_parser
from ..common.weights import load_checked
from .config import (fit_loader_workers, load_config, log_loader_workers,
                     set_data, use_clearml)
from .console import build_runner, describe_precision, log_header
from ..common.errors import UserError
from .inference import no_pretrained_download, wrap_tta  # noqa: F401
from .inference import runner_inference_precision
from .provenance import default_test_work_dir, test_provenance
from .distributed import configure_distributed
from .preflight import (check_output_dir, check_test_checkpoint,
                        check_work_dir, preflight_test)
from .train import fresh_visualizer


build_parser = test_parser


def prepare_config(args: argparse.Namespace) -> Config:
    if not (osp.isfile(args.checkpoint) or '://' in args.checkpoint):
        raise UserError(f'{args.checkpoint}: checkpoint not found')
    if '://' not in args.checkpoint:
        check_checkpoint_file(args.checkpoint)  # before any output exists
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or \
        default_test_work_dir(args.config, args.checkpoint)
    check_work_dir(cfg.work_dir)
    check_output_dir(args.out, '--out')
    check_output_dir(args.show_dir, '--show-dir')
    set_data(cfg, args.data_root, args.labels)
    log_loader_workers(fit_loader_workers(cfg, given=args.cfg_options or {}),
                       cfg)
    if args.split:
        cfg.test_dataloader.dataset.split = args.split
        cfg.test_dataloader.dataset.pop('data_prefix', None)
    no_pretrained_download(cfg)  # loaded strictly by load_weights
    cfg.load_from, cfg.resume = None, False  # nothing for the Runner to load
    if args.tta:
        wrap_tta(cfg, args.tta)
    runner_inference_precision(cfg)  # channels_last, bfloat16 as trained
    # (the header's precision line says which)
    configure_distributed(cfg, args.launcher)  # torchrun on CPU: gloo
    suffix = {None: '', 'flip': '_tta', 'ms': '_tta_ms'}[args.tta]
    # the base runtime declares it; a config without it gets it here
    hooks = dict(cfg.get('default_hooks') or {})
    outputs = dict(hooks.get('test_outputs') or dict(type='TestOutputsHook'))
    outputs.update(suffix=suffix, out_dir=args.out, show_dir=args.show_dir,
                   worst=args.worst or 0)
    cfg.default_hooks = dict(hooks, test_outputs=outputs)
    fresh_visualizer(cfg)
    name = osp.basename(osp.normpath(cfg.work_dir))
    use_clearml(cfg, not args.no_clearml, task_name=f'{name}-test{suffix}',
                project=args.clearml_project, task_type='testing')
    return cfg


def main(argv: Sequence[str]) -> int:
    """Test; the per-class table and the confusion matrix come last (after
    the metric line and the names of the files written)."""
    args = build_parser().parse_args(argv)
    cfg = prepare_config(args)
    # before the Runner, which creates the work dir: bad data, and a
    # checkpoint that cannot be loaded or does not fit, are one line and
    # leave nothing behind
    preflight_test(cfg)
    checkpoint = check_test_checkpoint(cfg, args.checkpoint)
    runner = build_runner(cfg, verbose=args.debug, testing=True)
    # A test never trains: without this, any hook that reads runner.iter
    # (mmseg's SegVisualizationHook every `interval` test batches) builds
    # the train loop, and with it the train dataset, which a folder with
    # only the tested split lacks. mmengine counts iteration 0 then.
    runner._train_loop = None
    log_header(runner, 'testing', args.config,
               args.checkpoint, loader='test_dataloader')
    load_checked(runner.model, checkpoint)  # checked to fit above
    record = test_provenance(
        checkpoint_path=args.checkpoint, checkpoint=checkpoint,
        config=args.config, work_dir=runner.work_dir,
        precision=describe_precision(runner.cfg, training=False),
        tta=args.tta, dataset=dict(runner.cfg.test_dataloader.dataset))
    describe_test(runner, record, checkpoint)
    metrics = runner.test_evaluator.metrics
    for metric in metrics:  # the tables are printed once, below
        if hasattr(metric, 'log_table'):
            metric.log_table = False
    results = runner.test()
    classes = runner.test_evaluator.dataset_meta['classes']
    tables = [format_class_table(results, classes)]
    confusion = next((m.confusion for m in metrics
                      if getattr(m, 'confusion', None) is not None), None)
    if confusion is not None:
        tables.append(format_confusion_table(confusion, classes))
    print_log('\n' + '\n\n'.join(tables), logger=runner.logger)
    return 0


def describe_test(runner, record: dict, checkpoint: dict) -> None:
    """Hand the provenance to the results hook and the ClearML task: the
    task describes the tested run (its own config, from the checkpoint),
    not the config file given here."""
    for hook in runner.hooks:
        if isinstance(hook, TestOutputsHook):
            hook.provenance = record
    backend = clearml_backend(runner)
    if backend is not None:
        run_cfg = (checkpoint.get('meta') or {}).get('cfg')
        backend.describe_test(record, run_cfg)
