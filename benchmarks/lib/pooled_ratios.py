"""Per-block runner / bare ratios (:mod:`.alternating`), and pooled over
several saved ``benchmarks/throughput.py`` invocations
(benchmarks/pooled_ratios.py). No torch: reads and computes only."""
import json
import statistics
from pathlib import Path


def block_ratios(runner_img_s, bare_img_s) -> list:
    """Runner / bare img/s of each block (the two lists in block order)."""
    return [r / b for r, b in zip(runner_img_s or [], bare_img_s or [])]


def pooled(files, configs) -> dict:
    """``{config: dict(runs=[(median, block, blocks)], pooled=median)}``."""
    out = {c: dict(runs=[], ratios=[]) for c in configs}
    for path in files:
        rows = json.loads(Path(path).read_text())['rows']
        for row in rows:
            entry = out.get(row['config'])
            ratios = block_ratios(row.get('runner_rounds'),
                                  row.get('bare_rounds'))
            if entry is None or not ratios:
                continue
            entry['runs'].append((row['runner_over_bare'], row.get('block'),
                                  row.get('rounds')))
            entry['ratios'] += ratios
    return {c: dict(runs=e['runs'],
                    pooled=round(statistics.median(e['ratios']), 3)
                    if e['ratios'] else None, blocks=len(e['ratios']))
            for c, e in out.items()}


def markdown(result: dict) -> str:
    """:func:`pooled`'s result as a markdown table."""
    lines = ['| config | per invocation (block × blocks) | pooled | blocks |',
             '|---|---|---|---|']
    for config, r in result.items():
        runs = ', '.join(f'{m:.3f} ({b} × {n})' for m, b, n in r['runs'])
        pool = '–' if r['pooled'] is None else f"{r['pooled']:.3f}"
        lines.append(f'| {config} | {runs} | {pool} | {r["blocks"]} |')
    return '\n'.join(lines)
