"""Class weights for CEDiceLoss from a labels folder.

    python tools/class_weights.py data/pets [--split train] \
        [--labels-dir labels]
    python tools/class_weights.py data/pets/labels/train --method inverse

Prints the pixel counts and both weightings as JSON, then the ready
--cfg-options string for tools/train.py. Formulas: see
custom_modules/data/class_weights.py.
"""
from __future__ import annotations

import argparse

from _package import mount, run

mount()  # custom_modules.data imports no torch

from custom_modules.data.class_weights import (  # noqa: E402
    class_weights, to_json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('path', metavar='PATH',
                        help='dataset root (has img/) or a folder of masks')
    parser.add_argument('--split', default='train',
                        help='split when PATH is a dataset root')
    parser.add_argument('--labels-dir', default='labels')
    parser.add_argument('--method', choices=('median', 'inverse'),
                        default='median', help='weights in the cfg string')
    parser.add_argument('--print', dest='what', default='both',
                        choices=('both', 'json', 'cfg'),
                        help='what to print (default both)')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    result = class_weights(args.path, args.split, args.labels_dir, args.method)
    if args.what in ('both', 'json'):
        print(to_json(result))
    if args.what in ('both', 'cfg'):
        print(result['cfg_options'])
    return 0


if __name__ == '__main__':
    run(main)
