"""Merge the JSON files of ``recipe_sweep.py`` into one Markdown table.

    python benchmarks/sweep_table.py benchmarks/results/recipe_sweep_*.json

One row per variant, named from its name in ``cpu_recipe_sweep.sh`` (encoder,
crop, peak learning rate, what else differs): val mDice of the final
checkpoint as ``seed 42 / seed 1`` for each test (``plain``, ``flip``,
``ms``, ``novote``), the mean of the plain scores where every seed ran,
and the dog-class Dice of the plain test. Below the table, the gain of
each test over ``plain`` across all runs (min, max, mean), which is what
the docs quote for TTA and for the image vote. ``–`` marks a run that is
not in the files.
"""
import argparse
import json
import sys

TESTS = ('plain', 'flip', 'ms', 'novote')
SUFFIXES = {  # the name endings of benchmarks/cpu_recipe_sweep.sh
    'lr5e-4': 'peak 5e-4',
    'unfrozen': 'every stage trained',
    'wd1e-2': 'weight decay 1e-2',
}


def describe(variant: str) -> str:
    """'Lite1, 320, peak 5e-4' from a variant name such as ``l1_320_lr5e-4``
    (``l<lite>_<crop>[_<change>]``, peak 1e-3 unless a change says so)."""
    parts = variant.split('_')
    if len(parts) < 2 or not parts[0][1:].isdigit() \
            or not parts[1].isdigit():
        return variant
    words = [f'Lite{parts[0][1:]}', parts[1]]
    changes = [SUFFIXES.get(p, p) for p in parts[2:]]
    if not any(c.startswith('peak') for c in changes):
        words.append('peak 1e-3')
    return ', '.join(words + changes)


def load_rows(paths: list) -> list:
    """Every run of every file; a later file's run replaces an earlier one
    of the same variant and seed."""
    runs = {}
    for path in paths:
        with open(path) as f:
            for row in json.load(f)['rows']:
                runs[row['variant'], row['seed']] = row
    return list(runs.values())


def _score(row, test, key='mDice'):
    return ((row or {}).get(test) or {}).get(key)


def _pair(values):
    return ' / '.join('–' if v is None else f'{v:.2f}' for v in values)


def table(rows: list, seeds=(42, 1)) -> str:
    """The Markdown table, one line per variant in name order."""
    by_variant = {}
    for row in rows:
        by_variant.setdefault(row['variant'], {})[row['seed']] = row
    seed_names = ' / '.join(map(str, seeds))
    lines = [f'| candidate | iterations | plain (seed {seed_names}) | mean | '
             'flip | ms | novote | Dice dog (plain) |',
             '|---|---|---|---|---|---|---|---|']
    for variant in sorted(by_variant):
        runs = [by_variant[variant].get(s) for s in seeds]
        first = next(r for r in runs if r)
        plain = [_score(r, 'plain') for r in runs]
        mean = (f'{sum(plain) / len(plain):.2f}'
                if None not in plain else '–')
        cells = [describe(variant), str(first['iters']),
                 _pair(plain), mean]
        cells += [_pair([_score(r, t) for r in runs]) for t in TESTS[1:]]
        cells.append(_pair([_score(r, 'plain', 'Dice.dog') for r in runs]))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def gains(rows: list) -> dict:
    """Per test: the change of mDice over ``plain`` across all runs."""
    out = {}
    for test in TESTS[1:]:
        diffs = [_score(r, test) - _score(r, 'plain') for r in rows
                 if _score(r, test) is not None
                 and _score(r, 'plain') is not None]
        if diffs:
            out[test] = dict(runs=len(diffs), min=round(min(diffs), 2),
                             max=round(max(diffs), 2),
                             mean=round(sum(diffs) / len(diffs), 2))
    return out


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('results', nargs='+', help="recipe_sweep.py's JSON files")
    p.add_argument('--seeds', nargs='+', type=int, default=[42, 1])
    args = p.parse_args(argv)
    rows = load_rows(args.results)
    print(table(rows, args.seeds))
    print()
    for test, g in gains(rows).items():
        print(f"{test} - plain over {g['runs']} runs: {g['min']:+.2f} to "
              f"{g['max']:+.2f}, mean {g['mean']:+.2f}")
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
