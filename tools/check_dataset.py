"""Check a dataset root: hard errors, soft findings, statistics and a report.

    python tools/check_dataset.py data/pets [--labels-dir labels_fixed]
        [--masked-only]

Hard errors (each offending file is printed; exit status 1): image without
mask or mask without image, unreadable files, size mismatch, mask values
other than 0/1/2/255. Soft findings are listed but not fatal. The report
folder (default work_dirs/data_check/<root>_<labels-dir>) gets report.md,
stats.json, class_balance.png and area_hist.png. Exit status 2: nothing to
check (bad path) or the report files exist (use --overwrite).
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from _package import mount, run

mount()  # custom_modules.data imports no torch

from custom_modules.data.check import Thresholds, check_dataset  # noqa: E402
from custom_modules.data.layout import refuse_existing_files  # noqa: E402
from custom_modules.data.report import report_files, write_report  # noqa
from custom_modules.data.stats import split_stats  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    d = Thresholds()
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', metavar='DATA_ROOT')
    parser.add_argument('--labels-dir', default='labels')
    parser.add_argument('--splits', nargs='+', help='default: all present')
    parser.add_argument('--report-dir', help='default: work_dirs/data_check/'
                        '<root name>_<labels dir>')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing report files')
    parser.add_argument('--masked-only', action='store_true',
                        help='check only the photos that have a mask in '
                        '--labels-dir (a folder re-annotating some of them)')
    parser.add_argument('--full-fraction', type=float, default=d.full_fraction)
    parser.add_argument('--many-components', type=int,
                        default=d.many_components)
    parser.add_argument('--tiny-fraction', type=float, default=d.tiny_fraction)
    parser.add_argument('--max-aspect', type=float, default=d.max_aspect)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    th = Thresholds(args.full_fraction, args.many_components,
                    args.tiny_fraction, args.max_aspect)
    root = Path(args.root)
    report_dir = Path(args.report_dir or Path('work_dirs', 'data_check',
                      f'{root.resolve().name}_{args.labels_dir}'))
    # fail before the (possibly long) check, not after it
    refuse_existing_files(report_files(report_dir), args.overwrite)
    result = check_dataset(root, args.labels_dir, args.splits, th,
                           masked_only=args.masked_only)
    stats = split_stats(result.records, result.splits)
    write_report(result, stats, report_dir, th, overwrite=args.overwrite)
    for e in result.errors:
        print(f'ERROR {e.path}: {e.kind}: {e.detail}')
    kinds = Counter(f.kind for f in result.findings)
    soft = ', '.join(f'{k} {n}' for k, n in sorted(kinds.items())) or 'none'
    print(f'{len(result.records)} masks checked in {", ".join(result.splits)}'
          f'; {len(result.errors)} hard errors; soft findings: {soft}')
    for group, s in stats.items():
        shares = ', '.join(f"{c} {100 * e['pixel_share']:.2f}%"
                           for c, e in s['classes'].items())
        print(f"{group}: {s['images']} images, pixel shares: {shares}")
    print(f'report: {report_dir}/report.md')
    return 1 if result.errors else 0


if __name__ == '__main__':
    run(main)
