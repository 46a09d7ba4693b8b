"""The ``tools/kfold.py`` command: plan, train each fold, evaluate, report."""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from collections import OrderedDict
from typing import List, Sequence

from ... import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config

from ...common.errors import UserError
from ..arguments import add_clearml_arguments, add_data_arguments
from ..config import load_config, parse_cfg_options, set_data
from .evaluate import choose_split, evaluate_models
from .folds import (SPECIES, Job, check_folds_file, plan_jobs,
                    stratified_folds, training_pool)
from .report import (common_worst_grid, markdown_report, results_table,
                     worst_analysis)


def build_parser() -> argparse.ArgumentParser:
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
    add_clearml_arguments(p)
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VAL',
                   help='config overrides, passed to every fold')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def _list(values: Sequence[int]) -> str:
    return '[' + ','.join(str(v) for v in values) + ']'


def train_command(args: argparse.Namespace, job: Job, name: str,
                  split: str, python: str = 'python',
                  tool=('tools/train.py',)) -> List[str]:
    """The training command line of one job: ``tools/train.py`` (as
    printed for the user) or ``tool=['-m', 'custom_modules.tools.train']``
    (as run here)."""
    cmd = [python, *([tool] if isinstance(tool, str) else tool), args.config, '--work-dir', job.work_dir,
           '--task-name', f'{name}-kfold-{job.name}',
           '--clearml-tags', f'kfold-{name}']
    for flag in ('data_root', 'labels', 'pretrained', 'seed',
                 'clearml_project'):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f'--{flag.replace("_", "-")}', str(value)]
    if args.no_clearml:
        cmd.append('--no-clearml')
    options = list(args.cfg_options)
    options.append(f'train_dataloader.dataset.indices={_list(job.train)}')
    if job.val:
        options += [f'val_dataloader.dataset.split={split}',
                    f'val_dataloader.dataset.indices={_list(job.val)}']
    return cmd + ['--cfg-options'] + options


def _plan(args, cfg: Config, work_dir: str):
    """The pool, its folds and jobs; writes (or checks) ``folds.json``."""
    pool = training_pool(cfg)
    folds = stratified_folds(pool['species'], args.folds, args.split_seed)
    jobs = plan_jobs(pool, folds, work_dir, full=not args.no_full)
    record = dict(config=args.config, folds_k=args.folds,
                  split_seed=args.split_seed, stems=pool['stems'],
                  species=pool['species'], positions=pool['positions'],
                  folds=folds)
    folds_file = osp.join(work_dir, 'folds.json')
    check_folds_file(folds_file, record)
    os.makedirs(work_dir, exist_ok=True)
    with open(folds_file, 'w') as f:
        json.dump(record, f)
    counts = [{s: sum(pool['species'][i] == s for i in fold)
               for s in SPECIES} for fold in folds]
    sizes = ['{} ({})'.format(len(fold), ', '.join(
        f'{s} {c}' for s, c in cnt.items() if c))
        for fold, cnt in zip(folds, counts)]
    print(f'{len(pool["stems"])} training images in {args.folds} folds '
          f'(seed {args.split_seed}); per fold: ' + '; '.join(sizes))
    return pool, jobs


def _jobs_to_train(args, jobs: List[Job]) -> List[Job]:
    """``--only-fold K``, none for ``--eval-only``, else the unfinished."""
    by_name = {j.name: j for j in jobs}
    if args.only_fold is not None:
        key = args.only_fold if args.only_fold == 'full' else \
            f'fold_{args.only_fold}'
        if key not in by_name:
            raise UserError(f'--only-fold {args.only_fold}: choose 0..'
                            f'{args.folds - 1}' +
                            ('' if args.no_full else " or 'full'"))
        return [by_name[key]]
    if args.eval_only:
        return []
    for job in jobs:
        if job.done:
            print(f'{job.name}: done ({job.work_dir}), not trained again '
                  f'(--only-fold {job.name.replace("fold_", "")} retrains'
                  ' it)')
    return [j for j in jobs if not j.done]


def _train(args, jobs: List[Job], name: str, split: str) -> None:
    """Each job as its own ``python -m custom_modules.tools.train``
    process (memory is returned between folds); failures are collected."""
    package_parent = osp.dirname(osp.dirname(osp.abspath(
        sys.modules['custom_modules'].__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [package_parent, os.environ.get('PYTHONPATH')])))
    failed = []
    for job in jobs:
        cmd = train_command(args, job, name, split, python=sys.executable,
                            tool=['-m', 'custom_modules.tools.train'])
        print(f'=== {job.name}: training on {len(job.train)} images'
              + (f', validating on {len(job.val)}' if job.val else '') +
              f' -> {job.work_dir}', flush=True)
        code = subprocess.call(cmd, env=env)
        if code != 0:
            failed.append(job.name)
            print(f'=== {job.name} failed (exit code {code}); re-run it '
                  f'alone with --only-fold '
                  f'{job.name.replace("fold_", "")}', flush=True)
    if failed:
        raise UserError(f'{", ".join(failed)} failed; fix the cause and '
                        're-run each with --only-fold K (the others are kept)')


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    options = parse_cfg_options(args.cfg_options)
    cfg = load_config(args.config, options)
    set_data(cfg, args.data_root, args.labels)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_kfold')
    pool, jobs = _plan(args, cfg, work_dir)
    if args.print_commands:
        for job in jobs:
            print(shlex.join(train_command(args, job, name, pool['split'])))
        return 0
    _train(args, _jobs_to_train(args, jobs), name, pool['split'])
    if args.no_eval:
        return 0
    missing = [j.name for j in jobs if not j.done]
    if missing:
        raise UserError(f'{work_dir}: not finished: {", ".join(missing)}; '
                        'train them with --only-fold K (or run without '
                        '--only-fold/--eval-only)')
    evaluate_and_report(args, cfg, name, jobs, work_dir)
    return 0


def evaluate_and_report(args, cfg: Config, name: str, jobs: List[Job],
                        work_dir: str) -> dict:
    """Evaluate, write kfold_results.{md,json}, the pictures and ClearML."""
    from ...common.curves import load_runs, plot_curves
    split = choose_split(cfg, args.eval_split)
    folds = OrderedDict((j.name, j.checkpoint(args.fold_checkpoint))
                        for j in jobs if j.name.startswith('fold_'))
    full = next((j.checkpoint('last') for j in jobs if j.name == 'full'),
                None)
    for row, ckpt in list(folds.items()) + [('full', full)]:
        if row in folds or full:
            print(f'{row}: {ckpt}')
    result = evaluate_models(cfg, folds, full, split, args.tta)
    k = len(folds)
    table = results_table(result['metrics'], result['classes'])
    analysis = worst_analysis(result['per_image'], args.worst)
    title = (f'{name}: {k}-fold cross-validation (split seed '
             f'{args.split_seed}), evaluated on {split} '
             f'({result["images"]} images)')
    report = markdown_report(title, table, analysis, args.worst, k)
    md = osp.join(work_dir, 'kfold_results.md')
    with open(md, 'w') as f:
        f.write(report)
    js = osp.join(work_dir, 'kfold_results.json')
    with open(js, 'w') as f:
        json.dump(dict(title=title, eval_split=split,
                       checkpoints=dict(folds, full=full),
                       metrics=result['metrics'], worst=analysis), f,
                  indent=2)
    files = {'kfold_results.md': md, 'kfold_results.json': js}
    grid = common_worst_grid(analysis, result['masks'], args.worst, k,
                             osp.join(work_dir, 'kfold_worst.png'))
    if grid:
        files['kfold_worst.png'] = grid
    curves = plot_curves(load_runs([j.work_dir for j in jobs]),
                         osp.join(work_dir, 'kfold_curves.png'),
                         title=f'{name}: folds and full model')
    files['kfold_curves.png'] = curves
    print(report)
    print('files: ' + ', '.join(files.values()))
    if not args.no_clearml:
        from ..clearml_record import record_task
        project = args.clearml_project or next(
            (b.get('project') for b in cfg.visualizer.vis_backends
             if b['type'] == 'PetsClearMLVisBackend'), 'pets-segmentation')
        record_task(project, f'{name}-kfold', tags=[f'kfold-{name}'],
                    tables={'k-fold results': table}, files=files,
                    parameters=dict(folds=k, split_seed=args.split_seed,
                                    eval_split=split, tta=args.tta,
                                    fold_checkpoint=args.fold_checkpoint),
                    single_values={
                        f'{row} mJaccard': m['mJaccard']
                        for row, m in result['metrics'].items()},
                    text=report)
    return dict(result, table=table, analysis=analysis, files=files)
