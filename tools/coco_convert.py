"""Masks <-> COCO instances JSON, for annotation tools such as CVAT.

    python tools/coco_convert.py to-coco data/pets/labels/train \
        --out train_coco.json
    python tools/coco_convert.py from-coco cvat_export.json \
        --out data/pets/labels_cvat/train

to-coco: one annotation per connected piece, categories cat (1) and dog (2),
compressed RLE (exact, default) or --format polygon. from-coco: one PNG per
image entry, values by category name. See docs/data.md.
"""
from __future__ import annotations

import argparse

from _package import mount, run

mount()  # custom_modules.data imports no torch

from custom_modules.data.coco import coco_to_masks, masks_to_coco  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('to-coco', help='mask folder -> COCO JSON')
    p.add_argument('masks', metavar='MASK_DIR')
    p.add_argument('--out', required=True, help='COCO JSON to write')
    p.add_argument('--format', choices=('rle', 'polygon'), default='rle')
    p.add_argument('--with-ignore', action='store_true',
                   help='also export 255 regions as category "ignore"')
    p.add_argument('--overwrite', action='store_true')
    p = sub.add_parser('from-coco', help='COCO JSON -> mask folder')
    p.add_argument('coco', metavar='JSON')
    p.add_argument('--out', required=True, help='folder for <stem>.png masks')
    p.add_argument('--overwrite', action='store_true')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == 'to-coco':
        n = masks_to_coco(args.masks, args.out, args.format, args.with_ignore,
                          args.overwrite)
        print(f"{args.out}: {n['images']} images, {n['annotations']} "
              f'annotations ({args.format})')
    else:
        n = coco_to_masks(args.coco, args.out, args.overwrite)
        print(f'{args.out}: {n} masks')
    return 0


if __name__ == '__main__':
    run(main)
