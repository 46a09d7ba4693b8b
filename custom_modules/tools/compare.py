"""``tools/compare.py``: one table of training runs, side by side.

For each work dir: its config, the key hyperparameters (the same flat
summary the ClearML tasks carry, :func:`run_hyperparameters`), the best val
metrics per class (from ``scalars.json``, :func:`read_scalars`), training
time, and test results when ``tools/test.py`` left them there, with the
checkpoint each test scored (flagged ``NOT FROM THIS RUN`` when it is not a
file of that work dir); plus one overlaid curves PNG.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .. import plugins  # noqa: F401  (the patched, registered stack first)
from ..common.curves import best_step, plot_curves, read_scalars, run_label, \
    scalar_files, values_at
from ..common.errors import UserError
from ..visualization.hyperparameters import run_hyperparameters
from .arguments import compare_parser as build_parser
from .provenance import foreign_checkpoint

#: Column -> flat hyperparameter keys joined (see run_hyperparameters).
KEY_COLUMNS = (
    ('model', ('model.backbone', 'model.depth', 'model.decode_head')),
    ('pretrained', ('model.pretrained',)),
    ('optimizer', ('optimizer.type',)),
    ('lr', ('optimizer.lr',)),
    ('schedule', ('schedule.max_iters', 'schedule.schedulers')),
    ('batch', ('data.batch_size',)),
    ('labels', ('data.labels',)),
    ('augmentations', ('data.augmentations',)),
)


def run_config(work_dir: str) -> Optional[str]:
    """The config a run dumped: ``<work_dir>/*.py`` (newest), else the
    newest ``<timestamp>/vis_data/config.py``."""
    for pattern in ('*.py', osp.join('*', 'vis_data', 'config.py')):
        found = sorted(glob.glob(osp.join(work_dir, pattern)),
                       key=osp.getmtime)
        if found:
            return found[-1]
    return None


def loss_summary(hp: dict) -> str:
    """'CEDiceLoss ce_weight=1.0 dice_weight=1.0' from the loss.* keys."""
    parts = []
    for key, value in hp.items():
        if not key.startswith('loss.'):
            continue
        name = key[len('loss.'):]
        if name.endswith('type'):
            parts.append(str(value))
        elif 'weight' in name and value is not None:
            parts.append(f'{name.rsplit(".", 1)[-1]}={value}')
    return ' '.join(parts)


def is_training_run(path: str) -> bool:
    """A work dir with training curves (a test-only dir has none)."""
    return bool(scalar_files(path)) and any(
        k.startswith('train/') for k in read_scalars(path))


def find_runs(paths: Sequence[str]) -> List[str]:
    """Training work dirs among ``paths``; a folder of runs (a k-fold dir)
    gives its runs. Paths that are not runs are reported and skipped."""
    runs = []
    for path in paths:
        if not osp.isdir(path):
            continue
        if is_training_run(path):
            runs.append(path)
            continue
        subs = sorted(d for d in glob.glob(osp.join(path, '*'))
                      if osp.isdir(d) and is_training_run(d))
        if subs:
            runs.extend(subs)
        else:
            print(f'skipped {path}: no training run in it')
    return runs


def _read_record(path: str, left: str, *required: str) -> Optional[dict]:
    """The JSON object in ``path`` (None when there is no file); a file cut
    short (a run killed while writing it), not JSON or without the
    ``required`` keys is one warning, saying what is ``left`` empty."""
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
    except (OSError, ValueError):  # JSONDecodeError, UnicodeDecodeError
        record = None
    if not isinstance(record, dict) or any(k not in record
                                           for k in required):
        print(f'warning: {path}: unreadable (truncated or not a JSON '
              f'object), {left}')
        return None
    return record


def summarize_run(work_dir: str, label: Optional[str] = None) -> dict:
    """Everything the comparison shows about one run."""
    curves = read_scalars(work_dir)
    best = best_step(curves)
    cfg_path = run_config(work_dir)
    hp: Dict = {}
    if cfg_path:
        from mmengine.config import Config
        try:
            hp = run_hyperparameters(Config.fromfile(cfg_path),
                                    this_machine=False)
        except Exception as err:  # an old or foreign config: table w/o it
            print(f'{cfg_path}: hyperparameters unreadable ({err})')
    summary = _read_record(osp.join(work_dir, 'run_summary.json'),
                           'its summary fields are left empty; rerun or '
                           'remove it') or {}
    seconds = summary.get('train_seconds')
    if seconds is None and 'train/time' in curves:
        steps, times = curves['train/time']
        seconds = float(sum(t * (s - p) for s, p, t in zip(
            steps, [0, *steps[:-1]], times)))
    train_steps = [s for k, (st, _) in curves.items()
                   if k.startswith('train/') for s in st]
    tests, tested = {}, {}
    for name in ('test_results', 'test_results_tta'):
        path = osp.join(work_dir, f'{name}.json')
        if osp.isfile(path):
            key = name.replace('test_results', 'test')
            record = _read_record(path, 'its test columns are left empty; '
                                  'run tools/test.py again', 'metrics')
            if record is None:
                continue
            tests[key] = record['metrics']
            tested[key] = tested_checkpoint(record.get('provenance'),
                                            work_dir)
    return dict(
        run=label or osp.basename(osp.normpath(work_dir)),
        work_dir=work_dir,
        config=osp.basename(cfg_path) if cfg_path else None,
        hyperparameters=hp,
        iters=int(max(train_steps)) if train_steps else None,
        stopped_early=summary.get('stopped_early'),
        stop_reason=summary.get('stop_reason'),
        best_iter=best[0] if best else None,
        best=values_at(curves, best[0]) if best else {},
        train_seconds=None if seconds is None else round(seconds, 1),
        test=tests, tested=tested)


def tested_checkpoint(provenance: Optional[dict], work_dir: str) -> dict:
    """Which checkpoint a test result scored: ``checkpoint`` (path),
    ``iter``, ``sha256``, ``foreign`` (not a file of ``work_dir``: the score
    is not this run's) and ``label`` for the table."""
    if not provenance:
        return dict(checkpoint=None, iter=None, sha256=None, foreign=None,
                    label='unknown (results file without provenance)')
    path = provenance.get('checkpoint')
    foreign = foreign_checkpoint(provenance, work_dir)
    label = osp.basename(path or '?')
    if foreign:
        label = f'NOT FROM THIS RUN: {path}'
    return dict(checkpoint=path, iter=provenance.get('checkpoint_iter'),
                sha256=provenance.get('checkpoint_sha256'), foreign=foreign,
                label=label)


def _classes(summaries: Sequence[dict]) -> List[str]:
    seen = []
    for s in summaries:
        for key in s['best']:
            if key.startswith('Jaccard.') and key[8:] not in seen:
                seen.append(key[8:])
    return seen


def stop_label(summary: dict) -> str:
    """What the iterations column adds when a run ended before
    ``max_iters``: ``' (early stop)'``, ``' (stopped: SIGTERM)'`` or ''."""
    if summary.get('stop_reason'):
        return f' (stopped: {summary["stop_reason"]})'
    return ' (early stop)' if summary.get('stopped_early') else ''


def comparison_rows(summaries: Sequence[dict]) -> list:
    """Header + one row per run (metrics in %)."""
    classes = _classes(summaries)
    header = ['run', 'config'] + [c for c, _ in KEY_COLUMNS] + \
        ['loss', 'tta', 'iters', 'best iter', 'val mJaccard'] + \
        [f'J {c}' for c in classes] + ['val mDice'] + \
        [f'D {c}' for c in classes] + ['test mJaccard', 'test+TTA mJaccard',
                                       'tested checkpoint', 'time (min)']

    def num(value, digits=2):
        return '' if value is None else f'{value:.{digits}f}'

    rows = [header]
    for s in summaries:
        hp, best = s['hyperparameters'], s['best']
        keys = [' '.join(str(hp[k]) for k in ks
                         if hp.get(k) not in (None, ''))
                for _, ks in KEY_COLUMNS]
        test, tta = s['test'].get('test', {}), s['test'].get('test_tta', {})
        iters = '' if s['iters'] is None else str(s['iters']) + stop_label(s)
        rows.append(
            [s['run'], s['config'] or ''] + keys +
            [loss_summary(hp), 'yes' if tta else 'no', iters,
             '' if s['best_iter'] is None else str(s['best_iter']),
             num(best.get('mJaccard'))] +
            [num(best.get(f'Jaccard.{c}')) for c in classes] +
            [num(best.get('mDice'))] +
            [num(best.get(f'Dice.{c}')) for c in classes] +
            [num(test.get('mJaccard')), num(tta.get('mJaccard')),
             tested_label(s.get('tested') or {}),
             num(None if s['train_seconds'] is None
                 else s['train_seconds'] / 60, 1)])
    return rows


def tested_label(tested: Dict[str, dict]) -> str:
    """The checkpoint(s) behind the test columns: one label when plain
    and TTA tested the same file, else ``test: ...; tta: ...``."""
    labels = {k: v['label'] for k, v in tested.items()}
    if len(set(labels.values())) <= 1:
        return next(iter(labels.values()), '')
    return '; '.join(f'{k.replace("test_", "") if k != "test" else "plain"}'
                     f': {v}' for k, v in labels.items())


def differing_hyperparameters(summaries: Sequence[dict]) -> Dict[str, list]:
    """Flat hyperparameters whose values are not the same in every run."""
    keys = sorted({k for s in summaries for k in s['hyperparameters']})
    out = {}
    for key in keys:
        values = [s['hyperparameters'].get(key) for s in summaries]
        if len({json.dumps(v, default=str) for v in values}) > 1:
            out[key] = values
    return out


def markdown(rows: list) -> str:
    lines = ['| ' + ' | '.join(rows[0]) + ' |',
             '|' + '|'.join(['---'] * len(rows[0])) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(map(str, r)) + ' |'
                              for r in rows[1:]])


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    out = osp.normpath(args.out)
    runs = [r for r in find_runs(args.work_dirs) if osp.normpath(r) != out]
    if not runs:
        raise UserError(f'{" ".join(args.work_dirs)}: no training runs (work '
                        'dirs with <timestamp>/vis_data/scalars.json)')
    summaries = [summarize_run(r, run_label(r, runs)) for r in runs]
    rows = comparison_rows(summaries)
    diff = differing_hyperparameters(summaries)
    os.makedirs(out, exist_ok=True)
    text = markdown(rows)
    if diff:
        text += '\n\nHyperparameters that differ:\n\n' + markdown(
            [['key'] + [s['run'] for s in summaries]] +
            [[k] + ['' if v is None else str(v) for v in vals]
             for k, vals in diff.items()])
    png = plot_curves({s['run']: read_scalars(s['work_dir'])
                       for s in summaries},
                      osp.join(out, 'compare_curves.png'))
    with open(osp.join(out, 'compare.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(out, 'compare.json'), 'w') as f:
        json.dump(dict(runs=summaries, differing=diff), f, indent=2,
                  default=str)
    print(text)
    for summary in summaries:
        for key, tested in (summary.get('tested') or {}).items():
            if tested['foreign']:
                print(f'warning: {summary["run"]}: {key.replace("test", "test_results")}.json '
                      f'scored {tested["checkpoint"]}, not a checkpoint of '
                      f'{summary["work_dir"]}; its test columns are not this '
                      'run\'s')
    print(f'\nfiles: {osp.join(out, "compare.md")}, '
          f'{osp.join(out, "compare.json")}, {png}')
    return 0
