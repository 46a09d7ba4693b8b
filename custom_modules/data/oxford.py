"""Build the pets dataset from the Oxford-IIIT Pet archives
(``prepare_data oxford-pets``).

Archives (official URLs below, or local copies): ``images.tar.gz`` holds
``images/<name>.jpg``; ``annotations.tar.gz`` holds ``annotations/list.txt``
(lines ``<name> <class id> <species> <breed id>``, species 1 = cat,
2 = dog, ``#`` comments), ``annotations/trainval.txt``,
``annotations/test.txt`` and ``annotations/trimaps/<name>.png`` (1 pet,
2 background, 3 border). macOS ``._*`` files in the archives are ignored.

Each trimap becomes a mask (:func:`trimap_to_mask`): pet -> 1 (cat) or
2 (dog) by the species in ``list.txt``, background -> 0, the border band ->
255 (ignored by loss and metrics). The official test split is kept as
``test``; ``val`` is carved from trainval with :func:`.splits.split_items`
and a fixed seed.

Size: Oxford photos are ~200-500 px and not square. With ``size > 0``
(default 256, like the course data) the shorter side is resized to
``size`` and the centre ``size x size`` square is kept (photo: area/linear
interpolation; mask: nearest). ``size = 0`` keeps the original size (the
configs' pipelines resize and crop anyway). Every photo is decoded and
re-encoded as a 3-channel JPEG, so grayscale, CMYK or PNG-coded files come
out as RGB JPEG; files OpenCV cannot decode are skipped and reported.
"""
from __future__ import annotations

import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .download import download
from ..common.errors import DataError
from .class_schema import IGNORE_INDEX
from .layout import DEFAULT_LABELS_DIR, IMG_DIR, image_path, mask_path, \
    prepare_output
from .masks import decode_image, decode_mask, write_image, write_mask
from .progress import track
from .splits import split_items

IMAGES_URL = 'https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz'
ANNOTATIONS_URL = ('https://www.robots.ox.ac.uk/~vgg/data/pets/data/'
                   'annotations.tar.gz')
OFFLINE_HINT = ('if offline, fetch images.tar.gz and annotations.tar.gz '
                'elsewhere and pass '
                '--archives IMAGES.tar.gz ANNOTATIONS.tar.gz')
#: trimap value -> mask value; the pet value (1) is replaced by the species.
TRIMAP_PET, TRIMAP_BACKGROUND, TRIMAP_BORDER = 1, 2, 3


@dataclass
class OxfordAnnotations:
    """What ``annotations.tar.gz`` provides."""
    species: dict[str, int]            # name -> 1 cat / 2 dog
    trainval: list[str]
    test: list[str]
    trimaps: dict[str, bytes] = field(repr=False)  # name -> PNG bytes


def parse_list(text: str, source: str = 'list.txt') -> dict[str, int]:
    """``{name: species}`` from ``list.txt``-style lines (``#`` = comment)."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        parts = line.split()
        if len(parts) < 3 or parts[2] not in ('1', '2'):
            raise DataError(f'{source} line {n}: expected "<name> <class id> '
                            f'<species 1|2> <breed id>", got {line.strip()!r}')
        out[parts[0]] = int(parts[2])
    return out


def trimap_to_mask(trimap: np.ndarray, species: int) -> np.ndarray:
    """``uint8`` ``(H, W)`` mask from a trimap (values 1/2/3).

    1 (pet) -> ``species`` (1 cat, 2 dog); 2 (background) -> 0; 3 (border)
    and any unexpected value -> 255.
    """
    mask = np.full(trimap.shape, IGNORE_INDEX, np.uint8)
    mask[trimap == TRIMAP_PET] = species
    mask[trimap == TRIMAP_BACKGROUND] = 0
    return mask


def _member_name(member: tarfile.TarInfo) -> str:
    return member.name[2:] if member.name.startswith('./') else member.name


def archive_kind(path: Path) -> str:
    """``'images'`` or ``'annotations'``: the top folder of the archive."""
    try:
        with tarfile.open(path, 'r|*') as tar:
            for member in tar:
                top = _member_name(member).split('/')[0]
                if top in ('images', 'annotations'):
                    return top
    except (tarfile.TarError, OSError) as exc:
        raise DataError(f'{path}: not a readable tar archive ({exc}); '
                        'download it again') from None
    raise DataError(f'{path}: has no images/ or annotations/ folder; pass '
                    'the Oxford-IIIT Pet images.tar.gz and annotations.tar.gz')


def read_annotations(path: Path) -> OxfordAnnotations:
    """Read list/trainval/test and all trimaps from ``annotations.tar.gz``."""
    texts: dict[str, str] = {}
    trimaps: dict[str, bytes] = {}
    with tarfile.open(path, 'r|*') as tar:
        for member in tar:
            name = _member_name(member)
            base = name.rsplit('/', 1)[-1]
            if not member.isfile() or base.startswith('._'):
                continue
            if name in ('annotations/list.txt', 'annotations/trainval.txt',
                        'annotations/test.txt'):
                texts[base] = tar.extractfile(member).read().decode()
            elif name.startswith('annotations/trimaps/') and \
                    base.endswith('.png'):
                trimaps[base[:-4]] = tar.extractfile(member).read()
    missing = [k for k in ('list.txt', 'trainval.txt', 'test.txt')
               if k not in texts]
    if missing:
        raise DataError(f'{path}: annotations/{missing[0]} missing; pass the '
                        'official annotations.tar.gz')
    species = parse_list(texts['list.txt'], f'{path}:list.txt')
    return OxfordAnnotations(
        species, sorted(parse_list(texts['trainval.txt'], 'trainval.txt')),
        sorted(parse_list(texts['test.txt'], 'test.txt')), trimaps)


def resize_square(image: np.ndarray, mask: np.ndarray, size: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Shorter side -> ``size``, then the centre ``size x size`` square.

    ``size <= 0`` returns the inputs unchanged.
    """
    if size <= 0:
        return image, mask
    h, w = mask.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, (nw, nh), interpolation=interp)
    mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
    y0, x0 = (nh - size) // 2, (nw - size) // 2
    return (image[y0:y0 + size, x0:x0 + size],
            mask[y0:y0 + size, x0:x0 + size])


def locate_archives(archives: list[str | Path] | None, download_dir: Path
                    ) -> tuple[Path, Path]:
    """``(images.tar.gz, annotations.tar.gz)``, given in any order or
    downloaded."""
    if archives:
        paths = [Path(p) for p in archives]
        for p in paths:
            if not p.is_file():
                raise DataError(f'{p}: archive not found; check --archives')
        kinds = {archive_kind(p): p for p in paths}
        if set(kinds) != {'images', 'annotations'}:
            raise DataError(f'--archives {" ".join(map(str, paths))}: need '
                            'both images.tar.gz and annotations.tar.gz')
        return kinds['images'], kinds['annotations']
    return (download(IMAGES_URL, download_dir / 'images.tar.gz', OFFLINE_HINT),
            download(ANNOTATIONS_URL, download_dir / 'annotations.tar.gz',
                     OFFLINE_HINT))


def prepare_oxford(out: str | Path, archives: list[str | Path] | None = None,
                   download_dir: str | Path = 'data/downloads',
                   size: int = 256,
                   val_fraction: float = 0.1, seed: int = 0,
                   labels_dir: str = DEFAULT_LABELS_DIR,
                   overwrite: bool = False) -> dict:
    """Write the pets as ``out/img/<split>`` + ``out/<labels_dir>/<split>``.

    Returns ``{'train': n, 'val': n, 'test': n, 'skipped': {name: reason}}``.
    """
    images_tar, ann_tar = locate_archives(archives, Path(download_dir))
    ann = read_annotations(ann_tar)
    usable = set(ann.species) & set(ann.trimaps)
    train, val = split_items([n for n in ann.trainval if n in usable],
                             [1 - val_fraction, val_fraction], seed)
    split_of = {n: 'train' for n in train}
    split_of.update({n: 'val' for n in val})
    split_of.update({n: 'test' for n in ann.test if n in usable})
    if not split_of:
        raise DataError(f'{ann_tar}: no image has both a list.txt entry and a '
                        'trimap; pass the official annotations.tar.gz')
    prepare_output(out, [IMG_DIR, labels_dir], overwrite)
    counts: dict = {'train': 0, 'val': 0, 'test': 0}
    skipped: dict[str, str] = {}
    seen = set()
    with tarfile.open(images_tar, 'r|*') as tar:
        for member in track(tar, 'Oxford pets', total=None):
            stem, pair = _photo_and_trimap(tar, member, split_of, ann,
                                           skipped)
            if pair is None:
                continue
            image, trimap = pair
            image, mask = resize_square(
                image, trimap_to_mask(trimap, ann.species[stem]), size)
            split = split_of[stem]
            write_image(image_path(out, split, stem), image)
            write_mask(mask_path(out, split, stem, labels_dir), mask)
            counts[split] += 1
            seen.add(stem)
    for stem in sorted(set(split_of) - seen):
        skipped[stem] = 'listed but no images/<name>.jpg in the archive'
    if not seen:
        raise DataError(f'{images_tar}: no usable images/<name>.jpg; pass the '
                        'official images.tar.gz')
    counts['skipped'] = skipped
    return counts


def _photo_and_trimap(tar, member, split_of: dict, ann, skipped: dict):
    """(stem, (photo, trimap)) of one archive member, or (stem, None) when
    it is not a listed photo or cannot be used (the reason in ``skipped``)."""
    name = _member_name(member)
    base = name.rsplit('/', 1)[-1]
    stem = base.rsplit('.', 1)[0]
    if (not member.isfile() or base.startswith('._')
            or not name.startswith('images/')
            or not base.lower().endswith('.jpg')):
        return stem, None
    if stem not in split_of:
        skipped[stem] = 'not in list.txt/trainval/test or no trimap'
        return stem, None
    data = tar.extractfile(member).read()
    try:
        image = decode_image(data, base)
        trimap = decode_mask(ann.trimaps[stem], f'trimaps/{stem}.png')
    except DataError as exc:
        skipped[stem] = str(exc)
        return stem, None
    if trimap.shape != image.shape[:2]:
        skipped[stem] = f'trimap {trimap.shape} != photo {image.shape[:2]}'
        return stem, None
    return stem, (image, trimap)
