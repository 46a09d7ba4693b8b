"""The k-fold report: per-class table, worst-image overlap, pictures."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from ...common.worst import stem


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
    from ...common.worst import overlap_report, worst_n
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
    from ...common.overlay import write_rgb
    from ...common.overlay import read_rgb
    from ...common.worst import worst_grid
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
