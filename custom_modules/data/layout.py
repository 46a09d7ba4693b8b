"""The dataset layout the configs read, and the one function that pairs files.

::

    DATA_ROOT/img/<split>/<stem>.jpg
    DATA_ROOT/<labels_dir>/<split>/<stem>.png   # labels, labels_fixed, ...

Splits are ``train``, ``val`` and ``test`` (any may be absent).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..common.errors import DataError
from .masks import IMAGE_SUFFIX, MASK_SUFFIX

SPLITS: tuple[str, ...] = ('train', 'val', 'test')
IMG_DIR = 'img'
DEFAULT_LABELS_DIR = 'labels'


def image_path(root: Path, split: str, stem: str) -> Path:
    """``root/img/<split>/<stem>.jpg``."""
    return Path(root) / IMG_DIR / split / f'{stem}{IMAGE_SUFFIX}'


def mask_path(root: Path, split: str, stem: str,
              labels_dir: str = DEFAULT_LABELS_DIR) -> Path:
    """``root/<labels_dir>/<split>/<stem>.png``."""
    return Path(root) / labels_dir / split / f'{stem}{MASK_SUFFIX}'


@dataclass
class Pair:
    """One image and its mask in a split."""
    split: str
    stem: str
    image: Path
    mask: Path


@dataclass
class Listing:
    """Result of :func:`list_pairs`: matched pairs and the orphans."""
    pairs: list[Pair] = field(default_factory=list)
    images_without_mask: list[Path] = field(default_factory=list)
    masks_without_image: list[Path] = field(default_factory=list)

    @property
    def orphans(self) -> list[Path]:
        return self.images_without_mask + self.masks_without_image


def present_splits(root: Path, labels_dir: str = DEFAULT_LABELS_DIR
                   ) -> list[str]:
    """Splits (in :data:`SPLITS` order) with an image or a mask folder."""
    root = Path(root)
    return [s for s in SPLITS if (root / IMG_DIR / s).is_dir()
            or (root / labels_dir / s).is_dir()]


def files_by_stem(folder: str | Path, suffix: str) -> dict[str, Path]:
    """``{stem: path}`` of the files in ``folder`` whose names end in
    ``suffix`` (any case), sorted by name; ``{}`` when there is no folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.name[:-len(suffix)]: p for p in sorted(folder.iterdir())
            if p.name.lower().endswith(suffix.lower()) and p.is_file()}


def pair_folders(image_dir: str | Path, mask_dir: str | Path,
                 image_suffix: str = IMAGE_SUFFIX,
                 mask_suffix: str = MASK_SUFFIX, split: str = '') -> Listing:
    """Pair the images in ``image_dir`` with the masks in ``mask_dir`` by
    stem (the name without its suffix); the rest are orphans. Sorted by
    stem; ``split`` is only recorded in each :class:`Pair`."""
    images = files_by_stem(image_dir, image_suffix)
    masks = files_by_stem(mask_dir, mask_suffix)
    listing = Listing()
    for stem in sorted(images.keys() | masks.keys()):
        if stem in images and stem in masks:
            listing.pairs.append(Pair(split, stem, images[stem], masks[stem]))
        elif stem in images:
            listing.images_without_mask.append(images[stem])
        else:
            listing.masks_without_image.append(masks[stem])
    return listing


def list_pairs(root: str | Path, labels_dir: str = DEFAULT_LABELS_DIR,
               splits: list[str] | None = None, *,
               strict: bool = True) -> Listing:
    """Pair ``img/<split>/*.jpg`` with ``<labels_dir>/<split>/*.png`` by stem.

    ``splits`` defaults to :func:`present_splits`. With ``strict`` a missing
    root, no splits, no pairs or any orphan file (image without mask or mask
    without image) raises :class:`DataError` naming the first offender;
    without it the orphans are returned in the :class:`Listing`. Pairs are
    sorted by split order then stem.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f'{root}: data root not found; pass the folder that '
                        f'holds {IMG_DIR}/ and {labels_dir}/')
    if splits is None:
        splits = present_splits(root, labels_dir)
    if not splits:
        raise DataError(f'{root}: no {IMG_DIR}/<split> or {labels_dir}/<split>'
                        f' folders for splits {", ".join(SPLITS)}; lay the '
                        f'data out as {IMG_DIR}/train/*.jpg and '
                        f'{labels_dir}/train/*.png')
    listing = Listing()
    for split in splits:
        found = pair_folders(root / IMG_DIR / split, root / labels_dir / split,
                             split=split)
        listing.pairs += found.pairs
        listing.images_without_mask += found.images_without_mask
        listing.masks_without_image += found.masks_without_image
    if strict:
        if listing.images_without_mask:
            p = listing.images_without_mask[0]
            raise DataError(f'{p}: image has no mask {labels_dir}/'
                            f'{p.parent.name}/{p.stem}{MASK_SUFFIX} '
                            f'({len(listing.images_without_mask)} such '
                            'images); add the masks or remove the images')
        if listing.masks_without_image:
            p = listing.masks_without_image[0]
            raise DataError(f'{p}: mask has no image {IMG_DIR}/'
                            f'{p.parent.name}/{p.stem}{IMAGE_SUFFIX} '
                            f'({len(listing.masks_without_image)} such masks);'
                            ' add the images or remove the masks')
        if not listing.pairs:
            raise DataError(f'{root}: no image/mask pairs in {IMG_DIR}/ and '
                            f'{labels_dir}/ for splits {splits}')
    return listing


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def prepare_output(root: str | Path, subdirs: list[str],
                   overwrite: bool) -> Path:
    """Get ``root`` ready for ``root/<d>`` for each ``d`` in ``subdirs``.

    An existing non-empty ``root/<subdir>`` raises :class:`DataError` unless
    ``overwrite``, in which case it is removed first (a symlink is unlinked,
    never followed, so a linked source is never deleted). Returns ``root``.
    """
    root = Path(root)
    existing = [root / d for d in subdirs
                if ((root / d).exists() or (root / d).is_symlink())
                and not _is_empty_dir(root / d)]
    if existing and not overwrite:
        raise DataError(f'{existing[0]} already exists; pass --overwrite to '
                        'replace it or choose another --out')
    for path in existing:
        if path.is_symlink() or path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path)
    root.mkdir(parents=True, exist_ok=True)
    return root


def refuse_existing_files(paths: list[Path], overwrite: bool) -> None:
    """Raise :class:`DataError` if a path exists (unless ``overwrite``)."""
    if overwrite:
        return
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        raise DataError(f'{existing[0]} already exists ({len(existing)} '
                        'output files do); pass --overwrite to replace them')


def read_json(path: str | Path, required: tuple, what: str, fix: str) -> dict:
    """Read a JSON object that must have the ``required`` top-level keys.

    Raises :class:`DataError` naming ``path`` for an unreadable file,
    invalid JSON or missing keys; ``what`` names the expected kind of file
    and ``fix`` says what to do.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise DataError(f'{path}: cannot read ({exc.strerror}); check the '
                        'path') from None
    except json.JSONDecodeError as exc:
        raise DataError(f'{path}: not valid JSON ({exc.msg} at line '
                        f'{exc.lineno}); {fix}') from None
    missing = [k for k in required
               if not isinstance(data, dict) or k not in data]
    if missing:
        raise DataError(f'{path}: not {what} (no {", ".join(missing)}); '
                        f'{fix}')
    return data


def check_command(root: str | Path, labels_dir: str = DEFAULT_LABELS_DIR,
                  splits: list[str] | None = None) -> str | None:
    """The ``tools/check_dataset.py`` command that checks what was written.

    Adds ``--labels-dir`` and ``--splits`` when they are not the defaults,
    and ``--masked-only`` when some photos have no mask in ``labels_dir``
    (masks for a few of the photos). ``None`` when a mask has no photo in
    ``root/img/<split>``: there is nothing to check the masks against.
    """
    listing = list_pairs(root, labels_dir, splits, strict=False)
    if listing.masks_without_image or not listing.pairs:
        return None
    parts = ['python tools/check_dataset.py', str(root)]
    if labels_dir != DEFAULT_LABELS_DIR:
        parts += ['--labels-dir', labels_dir]
    if splits:
        parts += ['--splits', *splits]
    if listing.images_without_mask:
        parts.append('--masked-only')
    return ' '.join(parts)


def next_step(root: str | Path, labels_dir: str = DEFAULT_LABELS_DIR,
              splits: list[str] | None = None) -> str:
    """What to run after writing ``root``: ``next: <check command>``, or
    what is missing when the masks have no photos beside them."""
    command = check_command(root, labels_dir, splits)
    if command:
        return f'next: {command}'
    where = f'{Path(root) / IMG_DIR}/{"|".join(splits or ["<split>"])}'
    return (f'next: the photos of these masks are not in {where}; write the '
            'masks into the data root that holds the photos (--out '
            'DATA_ROOT), or write the photos too (--images PHOTOS instead of '
            '--masks-only), then run tools/check_dataset.py on that root')
