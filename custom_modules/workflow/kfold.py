"""``tools/kfold.py``: k-fold cross-validation with a probability ensemble.

Steps:

1. The training split (as the config selects it, ``indices`` included) is
   cut into k folds with a fixed seed, stratified by which pet each mask
   shows (cat / dog / both / none): :func:`stratified_folds`.
2. Fold j trains on the other folds and validates on fold j, through the
   same command line as any run (``tools/train.py``, one subprocess per
   fold, ClearML tasks tagged ``kfold-<config>``); a model on all the
   training images with the same schedule is trained as ``full``.
   ``--print-commands`` prints these commands instead (launch them in
   parallel, one per GPU, then run this tool again to evaluate).
3. On the test split (or val) it evaluates every fold model alone, the
   ensemble that averages their softmax probabilities before the argmax
   (and, with ``--tta``, the same with flip TTA) and the full model; it
   writes a per-class table and the worst-N overlap between folds.

Finished folds are not trained again; ``--only-fold K`` retrains one.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import random
import shlex
import subprocess
import sys
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import Config

from .config import load_config, parse_cfg_options, set_data
from .errors import UserError
from .worst import stem

REPO = Path(__file__).resolve().parents[2]
SPECIES = ('none', 'cat', 'dog', 'both')


# ---------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------


def pet_species(mask: np.ndarray, cat: int = 1, dog: int = 2) -> str:
    """'cat', 'dog', 'both' or 'none': which pets a mask shows."""
    has_cat, has_dog = bool((mask == cat).any()), bool((mask == dog).any())
    return SPECIES[has_cat + 2 * has_dog]


def stratified_folds(labels: Sequence[str], k: int,
                     seed: int = 0) -> List[List[int]]:
    """Split positions ``0..len(labels)-1`` into ``k`` folds by stratum.

    Each stratum (positions sharing a label) is shuffled with
    ``random.Random(seed)`` (strata in sorted order) and dealt round-robin;
    the dealing continues across strata, so every stratum's count differs by
    at most one between folds and so do the fold sizes. Same labels, k and
    seed, same folds. Each fold is a sorted list.

    Raises:
        UserError: k < 2 or more folds than items.
    """
    if k < 2:
        raise UserError(f'--folds {k}: need at least 2 folds')
    if k > len(labels):
        raise UserError(f'--folds {k}: only {len(labels)} training images; '
                        'use fewer folds')
    rng = random.Random(seed)
    by_label: Dict[str, List[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    folds: List[List[int]] = [[] for _ in range(k)]
    dealt = 0
    for label in sorted(by_label):
        positions = list(by_label[label])
        rng.shuffle(positions)
        for i in positions:
            folds[dealt % k].append(i)
            dealt += 1
    return [sorted(f) for f in folds]


def resolve_indices(indices, total: int) -> List[int]:
    """A dataset's ``indices`` setting as the list of positions it keeps."""
    if indices is None:
        return list(range(total))
    if isinstance(indices, int):
        return list(range(min(indices, total)))
    return [int(i) for i in indices]


def training_pool(cfg: Config) -> dict:
    """The training images the folds split: positions in the full sorted
    dataset (as ``indices`` expects them), file stems and pet species."""
    from .inference import init_scope
    init_scope(cfg)
    from mmseg.registry import DATASETS
    ds_cfg = dict(cfg.train_dataloader.dataset)
    wanted = ds_cfg.pop('indices', None)
    ds_cfg.update(pipeline=[], serialize_data=False)
    dataset = DATASETS.build(ds_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    positions = resolve_indices(wanted, len(infos))
    species = []
    for pos in positions:
        path = infos[pos]['seg_map_path']
        mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise UserError(f'{path}: cannot read mask')
        species.append(pet_species(mask))
    return dict(positions=positions, species=species,
                stems=[stem(infos[p]['img_path']) for p in positions],
                split=ds_cfg.get('split', 'train'))


# ---------------------------------------------------------------------------
# Jobs and their commands
# ---------------------------------------------------------------------------


@dataclass
class Job:
    """One training run of the study: ``fold_<k>`` or ``full``."""
    name: str
    work_dir: str
    train: List[int]
    val: List[int] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Finished: the end-of-training summary and a checkpoint exist."""
        return osp.isfile(osp.join(self.work_dir, 'run_summary.json')) and \
            bool(self.checkpoint('last'))

    def checkpoint(self, which: str = 'best') -> Optional[str]:
        """The best (by val mJaccard) or the last saved checkpoint."""
        if which == 'best':
            best = sorted(Path(self.work_dir).glob('best_*.pth'),
                          key=lambda p: p.stat().st_mtime)
            if best:
                return str(best[-1])
        pointer = osp.join(self.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            path = open(pointer).read().strip()
            if osp.isfile(path):
                return path
        return None


def plan_jobs(pool: dict, folds: List[List[int]], work_dir: str,
              full: bool = True) -> List[Job]:
    """The fold jobs (train on the other folds, validate on this one) and
    the ``full`` job (all pool images), with dataset positions."""
    positions = pool['positions']
    jobs = []
    for k, fold in enumerate(folds):
        held = set(fold)
        jobs.append(Job(
            f'fold_{k}', osp.join(work_dir, f'fold_{k}'),
            train=[positions[i] for i in range(len(positions))
                   if i not in held],
            val=[positions[i] for i in fold]))
    if full:
        jobs.append(Job('full', osp.join(work_dir, 'full'),
                        train=list(positions)))
    return jobs


def _list(values: Sequence[int]) -> str:
    return '[' + ','.join(str(v) for v in values) + ']'


def train_command(args: argparse.Namespace, job: Job, name: str,
                  split: str, python: str = 'python',
                  tool: str = 'tools/train.py') -> List[str]:
    """The ``tools/train.py`` command line of one job."""
    cmd = [python, tool, args.config, '--work-dir', job.work_dir,
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


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def eval_dataloader(cfg: Config, split: str):
    from mmengine.runner import Runner
    loader = Config(dict(cfg.test_dataloader)).to_dict()
    loader['dataset'] = dict(loader['dataset'], split=split)
    loader['dataset'].pop('data_prefix', None)
    loader['persistent_workers'] = False
    return Runner.build_dataloader(loader)


def evaluate_models(cfg: Config, folds: Dict[str, str],
                    full: Optional[str], split: str, tta: bool) -> dict:
    """Score each fold model, their probability ensemble and the full model.

    Args:
        folds: fold name -> checkpoint; full: the full model's checkpoint.

    Returns:
        ``metrics``: row -> metrics (percent); ``per_image``: row -> the
        metric's per-image records; ``masks``: img_path -> (gt, ensemble
        prediction) uint8 arrays, for pictures.
    """
    import torch
    from mmengine.utils import ProgressBar
    from ..evaluation.jaccard_metric import JaccardMetric
    from ..models.flip_tta import FlipTTA
    from .ensemble import average_probs, model_probs, to_predictions
    from .inference import load_model

    models = OrderedDict((k, load_model(cfg, ckpt)) for k, ckpt in
                         folds.items())
    full_model = load_model(cfg, full) if full else None
    first = next(iter(models.values()))
    flipped = [FlipTTA(module=m) for m in models.values()]
    full_flipped = FlipTTA(module=full_model) if full_model else None
    loader = eval_dataloader(cfg, split)
    rows = list(models) + ['ensemble'] + (['ensemble+tta'] if tta else [])
    if full_model is not None:
        rows += ['full'] + (['full+tta'] if tta else [])
    metrics = OrderedDict()
    for row in rows:
        metrics[row] = JaccardMetric()
        metrics[row].dataset_meta = loader.dataset.metainfo
    masks: Dict[str, tuple] = {}
    bar = ProgressBar(len(loader.dataset))
    with torch.no_grad():
        for batch in loader:
            data = first.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            metas = [s.metainfo for s in samples]
            probs = OrderedDict((k, model_probs(m, inputs, metas))
                                for k, m in models.items())
            probs['ensemble'] = average_probs(list(probs.values()))
            if tta:
                probs['ensemble+tta'] = average_probs([
                    model_probs(m, inputs, metas) for m in flipped])
            if full_model is not None:
                probs['full'] = model_probs(full_model, inputs, metas)
                if tta:
                    probs['full+tta'] = model_probs(full_flipped, inputs,
                                                    metas)
            for row, p in probs.items():
                out = to_predictions(first, p, samples)
                metrics[row].process(batch, [o.to_dict() for o in out])
                if row == 'ensemble':
                    for o in out:
                        masks[o.img_path] = tuple(
                            d.data[0].cpu().numpy().astype(np.uint8)
                            for d in (o.gt_sem_seg, o.pred_sem_seg))
            for _ in samples:
                bar.update()
    print()
    size = len(loader.dataset)
    scores = OrderedDict((row, m.evaluate(size)) for row, m in metrics.items())
    return dict(metrics=scores,
                per_image={row: m.per_image for row, m in metrics.items()},
                masks=masks, classes=list(loader.dataset.metainfo['classes']),
                images=size)


def results_table(metrics: Dict[str, dict], classes: Sequence[str]) -> list:
    """Rows (header first): model, mJaccard, mDice, Jaccard.<c>...,
    Dice.<c>..., with a 'folds mean ± std' row after the fold rows."""
    keys = ['mJaccard', 'mDice'] + [f'Jaccard.{c}' for c in classes] + \
        [f'Dice.{c}' for c in classes]
    rows = [['model'] + keys]
    folds = [m for k, m in metrics.items() if k.startswith('fold_')]
    for name, m in metrics.items():
        rows.append([name] + [f'{m.get(k, float("nan")):.2f}' for k in keys])
        if folds and name == f'fold_{len(folds) - 1}':
            rows.append(['folds mean ± std'] + [
                f'{np.mean([f[k] for f in folds]):.2f} ± '
                f'{np.std([f[k] for f in folds]):.2f}' for k in keys])
    return rows


def markdown_table(rows: list) -> str:
    lines = ['| ' + ' | '.join(map(str, rows[0])) + ' |',
             '|' + '|'.join(['---'] * len(rows[0])) + '|']
    lines += ['| ' + ' | '.join(map(str, r)) + ' |' for r in rows[1:]]
    return '\n'.join(lines)


def worst_analysis(per_image: Dict[str, list], n: int) -> dict:
    """Each fold's worst-n images, their overlap, the images most folds
    fail on (with the ensemble's and the folds' mean Jaccard)."""
    from .worst import overlap_report, worst_n
    fold_rows = [k for k in per_image if k.startswith('fold_')]
    worst = {k: [stem(r['img_path']) for r in worst_n(per_image[k], n)]
             for k in fold_rows}
    report = overlap_report(worst)
    jaccard = {k: {stem(r['img_path']): r['jaccard'] for r in per_image[k]}
               for k in per_image}
    report['worst'] = worst
    report['images'] = [
        dict(image=img, folds=count,
             fold_mean_jaccard=round(float(np.mean(
                 [jaccard[k][img] for k in fold_rows])), 3),
             ensemble_jaccard=round(jaccard.get('ensemble', {}).get(
                 img, float('nan')), 3))
        for img, count in report['counts'].items()]
    return report


def markdown_report(title: str, table: list, analysis: dict, n: int,
                    k: int) -> str:
    lines = [f'# {title}', '', 'Jaccard / Dice in %, summed over the split.',
             '', markdown_table(table), '',
             '## Do the folds fail on the same images?', '',
             f'Worst {n} images of each fold model (by the image\'s own '
             'Jaccard, worst first):', '']
    for fold, images in analysis['worst'].items():
        lines.append(f'- {fold}: {", ".join(images)}')
    names = list(analysis['worst'])
    shared = {(a, b): s for a, b, s, _ in analysis['pairwise']}
    lines += ['', f'Shared images between the worst-{n} sets (mean pairwise '
              f'Jaccard of the sets: {analysis["mean_pairwise_jaccard"]}):',
              '']
    matrix = [[''] + names]
    for a in names:
        matrix.append([a] + [str(n) if a == b else
                             str(shared.get((a, b), shared.get((b, a), '')))
                             for b in names])
    lines.append(markdown_table(matrix))
    majority = [r for r in analysis['images'] if r['folds'] > k / 2]
    lines += ['', f'Images in the worst {n} of most folds (> {k / 2:g} of '
              f'{k}): {len(majority)}', '']
    if majority:
        lines.append(markdown_table(
            [['image', 'folds', 'mean Jaccard of folds', 'ensemble Jaccard']] +
            [[r['image'], r['folds'], r['fold_mean_jaccard'],
              r['ensemble_jaccard']] for r in majority]))
    return '\n'.join(lines) + '\n'


def common_worst_grid(analysis: dict, masks: Dict[str, tuple], n: int,
                      k: int, path: str) -> Optional[str]:
    """Grid of the images most folds fail on, with the ensemble prediction."""
    from .overlay import write_rgb
    from .overlay import read_rgb
    from .worst import worst_grid
    by_stem = {stem(p): p for p in masks}
    rows = []
    for rec in analysis['images'][:n]:
        img_path = by_stem.get(rec['image'])
        if img_path is None:
            continue
        gt, pred = masks[img_path]
        rows.append((read_rgb(img_path), gt, pred,
                     f'{rec["image"]} worst in {rec["folds"]}/{k} '
                     f'ens J={rec["ensemble_jaccard"]:.2f}'))
    if not rows:
        return None
    write_rgb(path, worst_grid(rows))
    return path


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


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
    p.add_argument('--data-root', help='dataset folder (img/, labels/...)')
    p.add_argument('--labels', help='mask folder: labels or labels_fixed')
    p.add_argument('--pretrained', help="encoder weights, as tools/train.py")
    p.add_argument('--seed', type=int, help='training seed (config: 42)')
    p.add_argument('--no-clearml', action='store_true',
                   help='do not log to ClearML')
    p.add_argument('--clearml-project', help='ClearML project name')
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VAL',
                   help='config overrides, passed to every fold')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def choose_split(cfg: Config, wanted: str) -> str:
    if wanted != 'auto':
        root = cfg.test_dataloader.dataset.get('data_root', '')
        if not osp.isdir(osp.join(root, 'img', wanted)):
            raise UserError(f'{osp.join(root, "img", wanted)}: no such split; '
                            'use --eval-split val (the test split may be '
                            'held back)')
        return wanted
    root = cfg.test_dataloader.dataset.get('data_root', '')
    split = 'test' if osp.isdir(osp.join(root, 'img', 'test')) else 'val'
    print(f'evaluating on the {split} split'
          + ('' if split == 'test' else f' ({root}/img/test not found)'))
    return split


def check_folds_file(path: str, record: dict) -> None:
    """Refuse a work dir whose folds were cut differently."""
    if not osp.isfile(path):
        return
    with open(path) as f:
        old = json.load(f)
    if old.get('folds') != record['folds'] or \
            old.get('stems') != record['stems']:
        raise UserError(
            f'{path}: this work dir holds folds of another split (different '
            'data, --folds or --split-seed); use another --work-dir or '
            'delete it')


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    options = parse_cfg_options(args.cfg_options)
    cfg = load_config(args.config, options)
    set_data(cfg, args.data_root, args.labels)
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_kfold')
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

    if args.print_commands:
        for job in jobs:
            print(shlex.join(train_command(args, job, name, pool['split'])))
        return 0

    by_name = {j.name: j for j in jobs}
    if args.only_fold is not None:
        key = args.only_fold if args.only_fold == 'full' else \
            f'fold_{args.only_fold}'
        if key not in by_name:
            raise UserError(f'--only-fold {args.only_fold}: choose 0..'
                            f'{args.folds - 1}' +
                            ('' if args.no_full else " or 'full'"))
        to_train = [by_name[key]]
    elif args.eval_only:
        to_train = []
    else:
        to_train = [j for j in jobs if not j.done]
        for job in jobs:
            if job.done:
                print(f'{job.name}: done ({job.work_dir}), not trained again '
                      f'(--only-fold {job.name.replace("fold_", "")} retrains'
                      ' it)')
    failed = []
    for job in to_train:
        cmd = train_command(args, job, name, pool['split'],
                            python=sys.executable,
                            tool=str(REPO / 'tools' / 'train.py'))
        print(f'=== {job.name}: training on {len(job.train)} images'
              + (f', validating on {len(job.val)}' if job.val else '') +
              f' -> {job.work_dir}', flush=True)
        code = subprocess.call(cmd)
        if code != 0:
            failed.append(job.name)
            print(f'=== {job.name} failed (exit code {code}); re-run it '
                  f'alone with --only-fold '
                  f'{job.name.replace("fold_", "")}', flush=True)
    if failed:
        raise UserError(f'{", ".join(failed)} failed; fix the cause and '
                        're-run each with --only-fold K (the others are kept)')
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
    from .curves import load_runs, plot_curves
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
        from .clearml_record import record_task
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
