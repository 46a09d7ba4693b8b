"""Write a :class:`.check.CheckResult` as a report folder.

Files written under ``report_dir``:

* ``report.md`` - errors, findings and statistics tables, links to the plots;
* ``stats.json`` - ``{'check': {...errors, findings}, 'stats': {split: ...},
  'thresholds': {...}}`` with the numbers of :mod:`.stats`;
* ``class_balance.png`` - pixel share and image share per class and split;
* ``area_hist.png`` - histogram of cat/dog piece areas (% of image, log x).

Plots use matplotlib's object API with the Agg canvas (no GUI, no pyplot
global state).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .check import CheckResult, Thresholds
from .class_schema import CLASSES
from .layout import refuse_existing_files


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_class_balance(stats: dict, path: Path) -> None:
    """Bar charts of pixel share and image share per class for each split."""
    groups = list(stats)
    fig = _figure(10, 4)
    panels = [('pixel_share', 'share of pixels (%)'),
              ('image_share', 'images containing (%)')]
    for i, (key, title) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        width = 0.8 / len(groups)
        for j, g in enumerate(groups):
            vals = [100 * stats[g]['classes'][c][key] for c in CLASSES]
            xs = np.arange(len(CLASSES)) + j * width
            bars = ax.bar(xs, vals, width, label=g)
            ax.bar_label(bars, fmt='%.1f', fontsize=7)
        ax.set_xticks(np.arange(len(CLASSES)) + width * (len(groups) - 1) / 2,
                      CLASSES)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def plot_area_hist(stats: dict, path: Path) -> None:
    """Histogram of non-tiny cat/dog piece areas (% of image, log bins)."""
    group = 'all' if 'all' in stats else next(iter(stats))
    by_class = stats[group]['object_area_fraction_by_class']
    fig = _figure(6, 4)
    ax = fig.add_subplot(1, 1, 1)
    values = [100 * np.asarray(v) for v in by_class.values()]
    nonempty = [v for v in values if v.size]
    if nonempty:
        lo = max(min(v.min() for v in nonempty), 1e-3)
        bins = np.logspace(np.log10(lo), np.log10(100), 30)
        ax.hist(values, bins=bins, label=list(by_class), stacked=True)
        ax.set_xscale('log')
        ax.legend()
    ax.set_xlabel('object piece area (% of image)')
    ax.set_ylabel('pieces')
    ax.set_title(f'object area distribution ({group})')
    fig.tight_layout()
    fig.savefig(path)


def _pct(x: float) -> str:
    return f'{100 * x:.2f}%'


def render_markdown(result: CheckResult, stats: dict, th: Thresholds) -> str:
    """The text of ``report.md``."""
    lines = [f'# Dataset check: `{result.root}` (`{result.labels_dir}`)', '',
             f'Splits: {", ".join(result.splits) or "none"}. '
             f'Hard errors: **{len(result.errors)}**. '
             f'Soft findings: **{len(result.findings)}**.', '']
    lines += ['## Statistics', '',
              '| split | images | class | images containing | pixel share '
              '| instances/image | instances/image (present) |',
              '|---|---|---|---|---|---|---|']
    for g, s in stats.items():
        for c in CLASSES:
            e = s['classes'][c]
            inst = (f"{e['instances_per_image']:.2f}" if 'instances' in e
                    else '')
            inst_p = (f"{e['instances_per_image_present']:.2f}"
                      if 'instances' in e else '')
            lines.append(f"| {g} | {s['images']} | {c} | {e['images']} "
                         f"({_pct(e['image_share'])}) | "
                         f"{_pct(e['pixel_share'])} | {inst} | {inst_p} |")
    lines += ['', 'Pixel share = class pixels / pixels not 255. Instances = '
              'connected pieces (8-connectivity) of at least '
              f'{th.tiny_fraction:.2%} of the image.', '',
              '| split | ignore (255) share | image sizes | object area '
              'median (% of image) | p5 | p95 |', '|---|---|---|---|---|---|']
    for g, s in stats.items():
        a = s['object_area_fraction']
        q = [_pct(a[k]) if a['count'] else '-' for k in ('p50', 'p5', 'p95')]
        sizes = ', '.join(s['image_sizes'][:4]) + (
            ' ...' if len(s['image_sizes']) > 4 else '')
        lines.append(f"| {g} | {_pct(s['ignore_share'])} | {sizes} | "
                     f'{q[0]} | {q[1]} | {q[2]} |')
    lines += ['', '![class balance](class_balance.png)', '',
              '![object areas](area_hist.png)', '']
    lines += ['## Hard errors', '']
    lines += [f'- `{e.path}`: {e.kind}: {e.detail}' for e in result.errors] \
        or ['None.']
    lines += ['', '## Soft findings', '']
    kinds = Counter(f.kind for f in result.findings)
    lines += [f'- {k}: {n} file(s)' for k, n in sorted(kinds.items())] \
        or ['None.']
    if result.findings:
        lines += ['', '| file | finding | detail |', '|---|---|---|']
        lines += [f'| `{Path(f.path).name}` | {f.kind} | {f.detail} |'
                  for f in result.findings]
    lines += ['', 'Thresholds: ' + ', '.join(
        f'{k}={v}' for k, v in asdict(th).items()), '']
    return '\n'.join(lines)


REPORT_FILES = ('report.md', 'stats.json', 'class_balance.png',
                'area_hist.png')


def report_files(report_dir: str | Path) -> list[Path]:
    """The files :func:`write_report` writes in ``report_dir``."""
    return [Path(report_dir) / name for name in REPORT_FILES]


def write_report(result: CheckResult, stats: dict, report_dir: str | Path,
                 th: Thresholds = Thresholds(), overwrite: bool = False
                 ) -> Path:
    """Write the report folder (see module docstring); returns its path.

    Existing report files are refused unless ``overwrite``, which replaces
    just those files (nothing else in ``report_dir`` is touched).
    """
    report_dir = Path(report_dir)
    refuse_existing_files(report_files(report_dir), overwrite)
    report_dir.mkdir(parents=True, exist_ok=True)
    payload = {'check': result.to_dict(), 'stats': stats,
               'thresholds': asdict(th)}
    (report_dir / 'stats.json').write_text(json.dumps(payload, indent=2))
    (report_dir / 'report.md').write_text(render_markdown(result, stats, th))
    if stats:
        plot_class_balance(stats, report_dir / 'class_balance.png')
        plot_area_hist(stats, report_dir / 'area_hist.png')
    return report_dir
