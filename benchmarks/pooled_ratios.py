"""Runner / bare-loop ratio of several throughput.py invocations, pooled.

    python benchmarks/pooled_ratios.py benchmarks/results/throughput_runs/*.json \
        --configs cpu_fast cpu_pretrained resnet18_unet

One invocation's median of a few blocks moves by several % on a shared
machine; this prints, per config, each file's median (and its block
layout) and the median of all block ratios together, as a markdown table
and, with ``--json``, as JSON. Rows without per-block figures (older
files) are skipped.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path


def block_ratios(row: dict) -> list:
    """Runner / bare img/s of each block of one measured row."""
    return [r / b for r, b in zip(row.get('runner_rounds') or [],
                                  row.get('bare_rounds') or [])]


def pooled(files, configs) -> dict:
    """``{config: dict(runs=[(median, block, blocks)], pooled=median)}``."""
    out = {c: dict(runs=[], ratios=[]) for c in configs}
    for path in files:
        rows = json.loads(Path(path).read_text())['rows']
        for row in rows:
            entry = out.get(row['config'])
            ratios = block_ratios(row)
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
    lines = ['| config | per invocation (block × blocks) | pooled | blocks |',
             '|---|---|---|---|']
    for config, r in result.items():
        runs = ', '.join(f'{m:.3f} ({b} × {n})' for m, b, n in r['runs'])
        pool = '–' if r['pooled'] is None else f"{r['pooled']:.3f}"
        lines.append(f'| {config} | {runs} | {pool} | {r["blocks"]} |')
    return '\n'.join(lines)


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('files', nargs='+', help='throughput.py JSON files')
    p.add_argument('--configs', nargs='+', required=True)
    p.add_argument('--json', action='store_true', help='print JSON instead')
    args = p.parse_args(argv)
    result = pooled(args.files, args.configs)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
