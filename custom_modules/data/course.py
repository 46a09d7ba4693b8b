"""Import a course-style folder (``prepare_data course``).

The source is laid out like the course's ``train_dataset_for_students``::

    SRC/img/<split>/*.jpg
    SRC/labels/<split>/*.png
    SRC/labels_fixed/<split>/*.png     # optional, any other labels* too

which is already the layout the configs read. Every labels folder is
validated with the hard checks of :func:`.check.check_dataset` (pairs,
readability, sizes, values) and then either

* ``link`` (default): ``OUT/img`` and ``OUT/labels*`` become symlinks to the
  source folders (absolute paths; nothing is copied), or
* ``copy``: the matched pairs are copied file by file (photos through
  :func:`.masks.copy_as_rgb_jpeg`, masks byte for byte).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .check import check_dataset
from ..common.errors import DataError
from .layout import IMG_DIR, image_path, list_pairs, mask_path, prepare_output
from .masks import copy_as_rgb_jpeg
from .progress import track

MODES = ('link', 'copy')


def find_labels_dirs(src: Path) -> list[str]:
    """Names of ``labels*`` folders in ``src`` (``labels`` first)."""
    names = sorted(p.name for p in src.iterdir()
                   if p.is_dir() and p.name.startswith('labels'))
    return sorted(names, key=lambda n: (n != 'labels', n))


def validate_course(src: str | Path) -> list[str]:
    """Run the hard checks on every labels folder; returns their names.

    Raises :class:`DataError` naming the first offending file (and how many
    problems there are) when any check fails.
    """
    src = Path(src)
    if not (src / IMG_DIR).is_dir():
        raise DataError(f'{src}: no {IMG_DIR}/ folder; pass the folder that '
                        'holds img/<split>/ and labels/<split>/')
    labels_dirs = find_labels_dirs(src)
    if 'labels' not in labels_dirs:
        raise DataError(f'{src}: no labels/ folder; the course layout needs '
                        'img/<split>/*.jpg and labels/<split>/*.png')
    for labels_dir in labels_dirs:
        result = check_dataset(src, labels_dir, analyse=False)
        if result.errors:
            first = result.errors[0]
            raise DataError(f'{first.path}: {first.kind} ({first.detail}); '
                            f'{len(result.errors)} problem(s) in '
                            f'{labels_dir}/, run tools/check_dataset.py {src} '
                            f'--labels-dir {labels_dir} for the list')
    return labels_dirs


def import_course(src: str | Path, out: str | Path, mode: str = 'link',
                  overwrite: bool = False) -> dict[str, int]:
    """Validate ``src`` and link or copy it into ``out``.

    Returns ``{labels_dir: number of pairs}``. ``out`` must not be inside
    ``src`` (or equal to it).
    """
    if mode not in MODES:
        raise DataError(f"unknown mode {mode!r}; use 'link' or 'copy'")
    src, out = Path(src).resolve(), Path(out)
    if out.resolve() == src or src in out.resolve().parents:
        raise DataError(f'{out}: output is inside the source {src}; choose '
                        'another --out')
    labels_dirs = validate_course(src)
    prepare_output(out, [IMG_DIR, *labels_dirs], overwrite)
    counts = {}
    if mode == 'link':
        for name in [IMG_DIR, *labels_dirs]:
            (out / name).symlink_to(src / name, target_is_directory=True)
        for labels_dir in labels_dirs:
            counts[labels_dir] = len(list_pairs(out, labels_dir).pairs)
        return counts
    copied: set[tuple[str, str]] = set()
    for labels_dir in labels_dirs:
        pairs = list_pairs(src, labels_dir).pairs
        for pair in track(pairs, f'copying {labels_dir}'):
            if (pair.split, pair.stem) not in copied:
                copy_as_rgb_jpeg(pair.image, image_path(out, pair.split,
                                                        pair.stem))
                copied.add((pair.split, pair.stem))
            dst = mask_path(out, pair.split, pair.stem, labels_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pair.mask, dst)
        counts[labels_dir] = len(pairs)
    return counts
