"""Learning curves: read a run's ``scalars.json`` and plot train vs val.

mmengine's ``LocalVisBackend`` appends one JSON object per logging event to
``<work_dir>/<timestamp>/vis_data/scalars.json``, e.g.::

    {"train/loss": 1.86, "train/lr": 4.6e-05, ..., "iter": 10, "step": 10}
    {"val/mJaccard": 8.89, "val/loss": 1.2, "val/Jaccard.cat": 5.8, "step": 10}
    {"train/mJaccard": 12.3, "train/mDice": 20.1, "step": 10}

(``log_with_hierarchy=True`` gives the ``train/`` and ``val/`` prefixes.)
:func:`read_scalars` is the one parser: the end-of-training
:class:`~custom_modules.hooks.CurvesHook`, ``tools/plot_curves.py``,
``tools/compare.py`` and ``tools/kfold.py`` all read curves through it.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import UserError

#: key -> (steps, values), both 1-D arrays sorted by step.
Curves = Dict[str, Tuple[np.ndarray, np.ndarray]]

#: The panels of a curves picture: (title, metric name); each panel shows
#: ``train/<name>`` (solid) and ``val/<name>`` (dashed).
PANELS = (('loss', 'loss'), ('mJaccard (%)', 'mJaccard'),
          ('mDice (%)', 'mDice'))


def scalar_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a run, oldest first.

    ``path`` is a work dir (every ``<timestamp>/vis_data/scalars.json`` in
    it, sorted by timestamp, so a resumed run contributes all its parts), a
    ``vis_data`` folder or a ``scalars.json`` file.
    """
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files and osp.isfile(osp.join(path, 'scalars.json')):
        files = [osp.join(path, 'scalars.json')]
    return files


def parse_scalar_lines(lines) -> Dict[str, Dict[int, float]]:
    """key -> {step: value} from JSON lines; later lines win for a step.

    Lines that are not JSON objects with a ``step`` (a run killed while
    writing) are skipped; non-numeric values are ignored.
    """
    out: Dict[str, Dict[int, float]] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
            step = int(record['step'])
        except (ValueError, KeyError, TypeError):
            continue
        for key, value in record.items():
            if key in ('step', 'iter', 'epoch') or isinstance(value, bool) \
                    or not isinstance(value, (int, float)):
                continue
            out.setdefault(key, {})[step] = float(value)
    return out


def is_training_part(part: Dict[str, Dict[int, float]]) -> bool:
    """True when a parsed ``scalars.json`` has ``train/`` or ``val/`` keys
    (a training run); a test run logs only ``test/`` keys."""
    return any(k.startswith(('train/', 'val/')) for k in part)


def read_scalars(path: str) -> Curves:
    """All curves of a run, merged over its ``scalars.json`` files.

    When a later training file starts at step ``s`` (a resumed run, or a
    new run in the same work dir), the older files' points from step ``s``
    on are dropped, so a restart from scratch replaces the old curves and a
    resume continues them. A file without training points (``tools/test.py``
    in the run's work dir writes one starting at step 0) restarts nothing:
    see :func:`is_training_part`.

    Raises:
        UserError: ``path`` has no ``scalars.json``.
    """
    files = scalar_files(path)
    if not files:
        raise UserError(
            f'{path}: no <timestamp>/vis_data/scalars.json; give the work '
            'dir of a tools/train.py run (--work-dir)')
    merged: Dict[str, Dict[int, float]] = {}
    for file in files:
        with open(file) as f:
            part = parse_scalar_lines(f)
        steps = [s for series in part.values() for s in series]
        if not steps:
            continue
        if not is_training_part(part):
            for key, series in part.items():
                merged.setdefault(key, {}).update(series)
            continue
        start = min(steps)
        for key in list(merged):
            merged[key] = {s: v for s, v in merged[key].items() if s < start}
        for key, series in part.items():
            merged.setdefault(key, {}).update(series)
    curves: Curves = {}
    for key, series in merged.items():
        if series:
            steps = np.array(sorted(series), dtype=np.int64)
            curves[key] = (steps, np.array([series[s] for s in steps]))
    return curves


def best_step(curves: Curves, key: str = 'val/mJaccard',
              rule: str = 'greater') -> Optional[Tuple[int, float]]:
    """(step, value) of the best point of ``curves[key]``; the first one on
    ties (the earliest iteration reaching the best score). None if absent."""
    if key not in curves or not len(curves[key][0]):
        return None
    steps, values = curves[key]
    i = int(np.argmax(values) if rule == 'greater' else np.argmin(values))
    return int(steps[i]), float(values[i])


def values_at(curves: Curves, step: int,
              prefix: str = 'val/') -> Dict[str, float]:
    """Every ``prefix`` curve's value at ``step`` (prefix stripped)."""
    out = {}
    for key, (steps, values) in curves.items():
        if key.startswith(prefix):
            hit = np.nonzero(steps == step)[0]
            if len(hit):
                out[key[len(prefix):]] = float(values[hit[0]])
    return out


def run_label(path: str, others: Sequence[str] = ()) -> str:
    """A short name for a run: its folder name, or the last two parts when
    two runs share a folder name (``a/fold_0`` vs ``b/fold_0``)."""
    path = osp.normpath(path)
    name = osp.basename(path)
    names = [osp.basename(osp.normpath(o)) for o in others]
    if names.count(name) > 1:
        return osp.join(osp.basename(osp.dirname(path)), name)
    return name


def label_offset(x: float, xmin: float, xmax: float
                 ) -> Tuple[Tuple[int, int], str]:
    """Where a point's label goes, ``(xytext in points, ha)``: to the left
    of a point in the right half of the x range, else to its right, so the
    label stays inside the axes in a short run (best at the first step)."""
    if xmax > xmin and (x - xmin) / (xmax - xmin) > 0.5:
        return (-10, -16), 'right'
    return (10, -16), 'left'


def plot_curves(runs: Dict[str, Curves], path: str,
                title: Optional[str] = None) -> str:
    """Write one PNG: a panel per metric (loss, mJaccard, mDice), one colour
    per run, train solid and val dashed, the best val mJaccard starred.

    Returns ``path``.
    """
    import matplotlib.pyplot as plt
    fig = curves_figure(runs, title)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def curves_figure(runs: Dict[str, Curves], title: Optional[str] = None):
    """The matplotlib figure :func:`plot_curves` saves."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if any(
        f'{s}/{p[1]}' in c for c in runs.values() for s in ('train', 'val'))]
    if not panels:
        raise UserError(f'no train/val loss or mJaccard curves to plot in '
                        f'{", ".join(runs)}')
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4),
                             squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, (panel_title, name) in zip(axes[0], panels):
        for i, (label, curves) in enumerate(runs.items()):
            color = colors[i % len(colors)]
            for split, style, marker in (('train', '-', '.'),
                                         ('val', '--', 'o')):
                key = f'{split}/{name}'
                if key in curves:
                    steps, values = curves[key]
                    few = len(steps) < 30
                    ax.plot(steps, values, style, color=color,
                            marker=marker if few else None, markersize=4,
                            mfc='none' if split == 'val' else color)
            best = best_step(curves)
            if best and name == 'mJaccard':
                ax.plot([best[0]], [best[1]], '*', color=color,
                        markersize=13, markeredgecolor='black')
                if len(runs) <= 3:
                    steps = np.concatenate([c[0] for c in curves.values()])
                    xytext, ha = label_offset(best[0], steps.min(),
                                              steps.max())
                    ax.annotate(f'best {best[1]:.1f} @ {best[0]}', best,
                                textcoords='offset points', xytext=xytext,
                                ha=ha, fontsize=8, color=color)
        ax.set_title(panel_title)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colors[i % len(colors)], lw=2, label=label)
               for i, label in enumerate(runs)]
    handles += [Line2D([], [], color='black', ls='-', marker='.',
                       label='train'),
                Line2D([], [], color='black', ls='--', marker='o', mfc='none',
                       label='val'),
                Line2D([], [], color='grey', ls='', marker='*', markersize=11,
                       markeredgecolor='black', label='best val mJaccard')]
    fig.legend(handles=handles, loc='lower center', fontsize=8,
               ncol=min(len(handles), 10), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08 + 0.04 * (len(handles) > 10), 1, 1))
    return fig


def load_runs(paths: Sequence[str]) -> Dict[str, Curves]:
    """label -> curves for each work dir (see :func:`run_label`)."""
    return {run_label(p, paths): read_scalars(p) for p in paths}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description='Overlay the learning curves (loss, mJaccard, mDice; '
        'train solid, val dashed) of one or more training runs in one PNG.')
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                   help='work dirs of tools/train.py runs')
    p.add_argument('--out', default='curves.png',
                   help='PNG to write (default: ./curves.png)')
    p.add_argument('--title', help='figure title')
    p.add_argument('--debug', action='store_true',
                   help='show full tracebacks')
    return p


def main(argv: Sequence[str]) -> int:
    """``tools/plot_curves.py``."""
    args = build_parser().parse_args(argv)
    runs = load_runs(args.work_dirs)
    plot_curves(runs, args.out, args.title)
    for label, curves in runs.items():
        best = best_step(curves)
        text = (f'best val mJaccard {best[1]:.2f} at iter {best[0]}'
                if best else 'no validation yet')
        print(f'{label}: {text}')
    print(f'curves: {args.out}')
    return 0
