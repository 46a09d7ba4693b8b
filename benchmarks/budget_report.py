"""Table and overlaid curves of finished budget runs.

    python benchmarks/budget_report.py work_dirs/budget/cpu_fast \
        work_dirs/budget/resnet18_unet work_dirs/budget/deeplabv3plus

Reads each <work_dir>/budget.json (benchmarks/budget.py), prints a markdown
table (one row per run, named after its work dir), writes it between the
``budget`` markers of docs/benchmarks.md and the curves to
docs/img/budget_curves.png.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_modules.common.errors import run_cli  # noqa: E402


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+')
    p.add_argument('--doc', default=str(ROOT / 'docs' / 'benchmarks.md'),
                   help="markdown file to update ('' to skip)")
    p.add_argument('--png', default=str(ROOT / 'docs' / 'img' /
                                        'budget_curves.png'))
    p.add_argument('--json', default=str(ROOT / 'benchmarks' / 'results' /
                                         'budget.json'))
    args = p.parse_args(argv)
    import custom_modules.plugins  # noqa: F401  (compat + registration)
    from custom_modules.hooks import plot_budget_curve
    from benchmarks.lib.budget import (budget_table, load_result,
                                                run_name)
    from benchmarks.lib.throughput import replace_section
    results = [dict(load_result(d), name=Path(d).name)
               for d in args.work_dirs]
    table = budget_table(results)
    print(table)
    Path(args.png).parent.mkdir(parents=True, exist_ok=True)
    plot_budget_curve([(run_name(r), r['points']) for r in results],
                      args.png)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    if args.doc:
        rel = Path(args.png).resolve().relative_to(
            Path(args.doc).resolve().parent)
        replace_section(args.doc, 'budget', table + f'\n![val metrics '
                        f'against training minutes]({rel.as_posix()})\n')
    return 0


if __name__ == '__main__':
    run_cli(main)
