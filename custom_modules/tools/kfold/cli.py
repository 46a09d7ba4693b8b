"""The ``tools/kfold.py`` command: plan, train each fold, evaluate, report."""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shlex
import signal
import subprocess
import sys
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from ... import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config

from ...common.errors import UserError
from ..arguments import kfold_parser as build_parser
from ..config import load_config, parse_cfg_options, set_data
from .evaluate import choose_split, evaluate_models
from ...common.weights import file_iteration
from .folds import (SPECIES, Job, check_folds_file,
                    job_record, plan_jobs, stratified_folds, training_pool)
from .report import (common_worst_grid, markdown_report, results_table,
                     worst_analysis)


def _list(values: Sequence[int]) -> str:
    return '[' + ','.join(str(v) for v in values) + ']'


def train_command(args: argparse.Namespace, job: Job, name: str,
                  split: str, python: str = 'python',
                  tool=('tools/train.py',),
                  resume: Optional[str] = None) -> List[str]:
    """The training command line of one job: ``tools/train.py`` (as
    printed for the user) or ``tool=['-m', 'custom_modules.tools.train']``
    (as run here); ``resume``: the checkpoint it continues from. The fold
    metadata goes into the config as ``fold`` (name, k, split seed) for
    ClearML."""
    tool = [tool] if isinstance(tool, str) else list(tool)
    cmd = [python, *tool, args.config, '--work-dir', job.work_dir,
           '--task-name', f'{name}-kfold-{job.name}',
           '--clearml-tags', f'kfold-{name}']
    if resume:
        cmd += ['--resume', resume]
    for flag in ('data_root', 'labels', 'pretrained', 'seed', 'max_iters',
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
    options += [f'fold.name={job.name}', f'fold.k={args.folds}',
                f'fold.split_seed={args.split_seed}']
    return cmd + ['--cfg-options'] + options


def identify_jobs(args, jobs: List[Job], name: str, split: str) -> None:
    """Set each job's record: the fingerprint of the config its training
    child would build now (:func:`~.folds.job_record`)."""
    for job in jobs:
        argv = train_command(args, job, name, split)[2:]
        job.record = job_record(job, argv, args.config, args.cfg_options)


def _move_aside(job: Job, why: str) -> None:
    target = job.move_aside()
    print(f'{job.name}: {why}; moved the old run to {target} (kept), '
          'training it from the start', flush=True)


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


def _jobs_to_train(args, jobs: List[Job]
                   ) -> List[Tuple[Job, Optional[str]]]:
    """(job, checkpoint to resume or None) to train: ``--only-fold K``
    (from the start), none for ``--eval-only``, else every job not done:
    interrupted ones resume, ones trained with another config are moved
    aside (``<dir>.stale-<time>``) and trained again."""
    by_name = {j.name: j for j in jobs}
    if args.only_fold is not None:
        key = args.only_fold if args.only_fold == 'full' else \
            f'fold_{args.only_fold}'
        if key not in by_name:
            raise UserError(f'--only-fold {args.only_fold}: choose 0..'
                            f'{args.folds - 1}' +
                            ('' if args.no_full else " or 'full'"))
        job = by_name[key]
        if job.has_run() or job.stored() is not None:
            _move_aside(job, f'--only-fold {args.only_fold}')
        return [(job, None)]
    if args.eval_only:
        return []
    plan = []
    for job in jobs:
        state = job.state
        if state == 'done':
            print(f'{job.name}: done ({job.work_dir}), not trained again '
                  f'(--only-fold {job.name.replace("fold_", "")} retrains'
                  ' it)')
            continue
        if state == 'mismatch':
            _move_aside(job, job.mismatch_reason())
        plan.append((job, job.resume_from() if state == 'interrupted'
                     else None))
    return plan


class FoldInterrupted(UserError):
    """kfold.py stopped on SIGINT/SIGTERM while a fold trained."""

    label = 'interrupted'

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: Signals passed on to the running fold.
FORWARDED = (signal.SIGINT, signal.SIGTERM)


def run_forwarding_signals(cmd: List[str], env: dict
                           ) -> Tuple[int, Optional[int]]:
    """Run ``cmd`` in a session of its own; SIGINT/SIGTERM to this process
    are passed on to it (once: a terminal's Ctrl-C reaches only this
    process) and this process waits for it to exit (a training saves a
    checkpoint first). Returns (exit code, first signal received or None);
    the previous handlers are restored."""
    state = dict(proc=None, received=[])

    def forward(signum, frame):
        state['received'].append(signum)
        if state['proc'] is not None:
            _send(state['proc'], signum)

    previous = {}
    try:
        for signum in FORWARDED:
            previous[signum] = signal.signal(signum, forward)
    except ValueError:  # not the main thread: signals are left alone
        pass
    try:
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        early = list(state['received'])  # before the child existed
        state['proc'] = proc
        for signum in early:
            _send(proc, signum)
        code = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    received = state['received']
    return code, (received[0] if received else None)


def _send(proc: subprocess.Popen, signum: int) -> None:
    try:
        proc.send_signal(signum)
    except ProcessLookupError:  # already gone
        pass


def _train(args, plan: List[Tuple[Job, Optional[str]]], name: str,
           split: str) -> None:
    """Each job as its own ``python -m custom_modules.tools.train``
    process (memory is returned between folds); failures are collected.
    SIGINT/SIGTERM go to the running fold, which saves a checkpoint; then
    this stops with one ``interrupted:`` line and the fold's exit code."""
    package_parent = osp.dirname(osp.dirname(osp.abspath(
        sys.modules['custom_modules'].__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [package_parent, os.environ.get('PYTHONPATH')])))
    failed = []
    for job, resume in plan:
        job.write_record()  # before the child: the dir says what it trains
        cmd = train_command(args, job, name, split, python=sys.executable,
                            tool=['-m', 'custom_modules.tools.train'],
                            resume=resume)
        if resume:
            it = file_iteration(resume)
            print(f'{job.name}: resuming from {resume}'
                  + (f' (iteration {it})' if it is not None else ''),
                  flush=True)
        print(f'=== {job.name}: training on {len(job.train)} images'
              + (f', validating on {len(job.val)}' if job.val else '') +
              f' -> {job.work_dir}', flush=True)
        code, signum = run_forwarding_signals(cmd, env)
        if code < 0:  # ended by a signal: report it as a shell does
            signum, code = signum or -code, 128 - code
        if signum is not None or code in (130, 143):
            _interrupted(job, code, signum)
        if code != 0:
            failed.append(job.name)
            print(f'=== {job.name} failed (exit code {code}); re-run it '
                  f'alone with --only-fold '
                  f'{job.name.replace("fold_", "")}', flush=True)
    if failed:
        raise UserError(f'{", ".join(failed)} failed; fix the cause and '
                        're-run each with --only-fold K (the others are kept)')


def _interrupted(job: Job, code: int, signum: Optional[int]) -> None:
    """Stop the study after a signal, starting no further fold."""
    again = 'run the same kfold.py command again to continue'
    if signum is None:
        signum = code - 128
    if code == 0:
        message = f'{job.name} finished; {again}'
    elif job.resume_from():
        message = f'{job.name} saved its checkpoint; {again}'
    else:
        message = f'{job.name} stopped before its first checkpoint; {again}'
    raise FoldInterrupted(message, code if code in (130, 143)
                          else 128 + int(signum))


def _check_evaluable(jobs: List[Job], work_dir: str) -> None:
    """Refuse to evaluate unless every job is done (same fingerprint,
    finished): one line naming the others."""
    states = {j.name: j.state for j in jobs}
    stale = [j for j in jobs if states[j.name] == 'mismatch']
    if stale:
        names = ', '.join(j.name for j in stale)
        raise UserError(
            f'{work_dir}: {names} not trained with this config and data '
            f'({stale[0].name}: {stale[0].mismatch_reason()}); run the same '
            'command without --eval-only/--only-fold to train them again '
            '(the old runs are moved aside, not deleted)')
    missing = [name for name, state in states.items() if state != 'done']
    if missing:
        raise UserError(f'{work_dir}: not finished: {", ".join(missing)}; '
                        'train them with --only-fold K (or run without '
                        '--only-fold/--eval-only)')


def _print_commands(args, jobs: List[Job], name: str, split: str) -> None:
    """One ``tools/train.py`` command per job (``--resume`` for an
    interrupted one). Each fold dir gets its record (a run of another
    config is moved aside first), so ``--eval-only`` accepts the runs once
    the commands have finished."""
    commands = []
    for job in jobs:
        state = job.state
        if state == 'mismatch':
            _move_aside(job, job.mismatch_reason())
        if state in ('new', 'mismatch'):
            job.write_record()
        resume = job.resume_from() if state == 'interrupted' else None
        commands.append(shlex.join(train_command(args, job, name, split,
                                                 resume=resume)))
    for command in commands:
        print(command)


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    options = parse_cfg_options(args.cfg_options)
    cfg = load_config(args.config, options)
    set_data(cfg, args.data_root, args.labels)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_kfold')
    pool, jobs = _plan(args, cfg, work_dir)
    identify_jobs(args, jobs, name, pool['split'])
    if args.print_commands:
        _print_commands(args, jobs, name, pool['split'])
        return 0
    if args.eval_only:
        _check_evaluable(jobs, work_dir)
    _train(args, _jobs_to_train(args, jobs), name, pool['split'])
    if args.no_eval:
        return 0
    evaluate_and_report(args, cfg, name, jobs, work_dir)
    return 0


def evaluate_and_report(args, cfg: Config, name: str, jobs: List[Job],
                        work_dir: str) -> dict:
    """Evaluate, write kfold_results.{md,json}, the pictures and ClearML.

    Only a study whose jobs are all done (same fingerprint, finished) is
    evaluated; otherwise one :class:`UserError` names the others."""
    from ...common.curves import load_runs, plot_curves
    if any(j.record is None for j in jobs):
        identify_jobs(args, jobs, name, cfg.train_dataloader.dataset.get(
            'split', 'train'))
    _check_evaluable(jobs, work_dir)
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
