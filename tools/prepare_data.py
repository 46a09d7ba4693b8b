"""Prepare data/pets from what you have: one sub-command per source.

    python tools/prepare_data.py course DIR [--mode link|copy]
    python tools/prepare_data.py coco --ann instances_train2017.json \
        --images train2017/
    python tools/prepare_data.py oxford-pets \
        [--archives images.tar.gz annotations.tar.gz]
    python tools/prepare_data.py labelme DIR --images PHOTOS [--split train]

All write DATA_ROOT/img/<split>/*.jpg and DATA_ROOT/<labels-dir>/<split>/*.png
(default --out data/pets) and refuse to replace existing output unless
--overwrite. See docs/data.md.
"""
from __future__ import annotations

import argparse
import sys

from _package import mount, run

mount()  # custom_modules.data imports no torch

from custom_modules.data.layout import next_step  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='source', required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument('--out', default='data/pets',
                       help='dataset root to write (default: data/pets)')
        p.add_argument('--overwrite', action='store_true',
                       help='replace existing output')
        return p

    p = add('course', 'validate a course-style folder (img/, labels/, '
            'optional labels_fixed/) and link or copy it')
    p.add_argument('src', metavar='DIR')
    p.add_argument('--mode', choices=('link', 'copy'), default='link',
                   help='symlink the folders (default) or copy the files')

    p = add('coco', 'one 256x256 crop per COCO cat/dog instance')
    p.add_argument('--ann', required=True, help='COCO instances_*.json')
    p.add_argument('--images', required=True, help='folder of its photos')
    p.add_argument('--size', type=int, default=256, help='crop side (px)')
    p.add_argument('--margin', type=float, default=0.1,
                   help='context around the box, fraction of its long side')
    p.add_argument('--min-area', type=float, default=1024,
                   help='skip instances smaller than this (COCO area, px)')
    p.add_argument('--split', type=float, nargs=3, default=(0.7, 0.15, 0.15),
                   metavar=('TRAIN', 'VAL', 'TEST'),
                   help='shares of photos (default 0.7 0.15 0.15)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--labels-dir', default='labels')

    p = add('oxford-pets', 'Oxford-IIIT Pet trimaps -> background/cat/dog')
    p.add_argument('--archives', nargs=2, metavar='TAR_GZ',
                   help='local images.tar.gz and annotations.tar.gz (any '
                   'order) instead of downloading')
    p.add_argument('--download-dir', default='data/downloads',
                   help='where downloads are kept (default data/downloads)')
    p.add_argument('--size', type=int, default=256,
                   help='shorter side -> SIZE, centre SIZE x SIZE crop; 0 '
                   'keeps the original size (default 256)')
    p.add_argument('--val-fraction', type=float, default=0.1,
                   help='share of trainval that becomes val (default 0.1)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--labels-dir', default='labels')

    p = add('labelme', 'LabelMe JSON polygons (labels cat/dog) -> masks')
    p.add_argument('src', metavar='DIR', help='folder of LabelMe *.json')
    p.add_argument('--images', help='folder of the photos (default: '
                   'imagePath relative to each JSON)')
    p.add_argument('--split', default='train')
    p.add_argument('--labels-dir', default='labels',
                   help='e.g. labels_fixed to add re-annotated masks')
    p.add_argument('--masks-only', action='store_true',
                   help='write masks only (photos are already in --out)')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.source == 'course':
        from custom_modules.data.course import import_course
        counts = import_course(args.src, args.out, args.mode, args.overwrite)
        summary = ', '.join(f'{k}: {v} pairs' for k, v in counts.items())
    elif args.source == 'coco':
        from custom_modules.data.coco_crops import prepare_from_coco
        counts = prepare_from_coco(
            args.ann, args.images, args.out, size=args.size,
            margin=args.margin, min_area=args.min_area,
            fractions=tuple(args.split), seed=args.seed,
            labels_dir=args.labels_dir, overwrite=args.overwrite)
        summary = ', '.join(f'{k}: {v}' for k, v in counts.items())
    elif args.source == 'oxford-pets':
        from custom_modules.data.oxford import prepare_oxford
        counts = prepare_oxford(
            args.out, args.archives, args.download_dir, args.size,
            args.val_fraction, args.seed, args.labels_dir, args.overwrite)
        skipped = counts.pop('skipped')
        summary = ', '.join(f'{k}: {v}' for k, v in counts.items())
        summary += f'; skipped {len(skipped)}'
        for name, reason in list(skipped.items())[:10]:
            print(f'  skipped {name}: {reason}', file=sys.stderr)
    else:
        from custom_modules.data.labelme import convert_labelme_dir
        n = convert_labelme_dir(args.src, args.out, args.split,
                                args.labels_dir, args.images, args.masks_only,
                                args.overwrite)
        summary = f'{n} masks in {args.labels_dir}/{args.split}'
    print(f'{args.source} -> {args.out}: {summary}')
    print(next_step(args.out, getattr(args, 'labels_dir', 'labels'),
                    [args.split] if args.source == 'labelme' else None))
    return 0


if __name__ == '__main__':
    run(main)
