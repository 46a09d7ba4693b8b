"""Build the pets dataset from a COCO instances file (``prepare_data coco``).

For every ``cat`` or ``dog`` instance (``iscrowd == 0``, ``area >=
min_area``) one square crop is cut around its bounding box, resized to
``size x size`` and saved as ``<image_id:012d>_<ann_id>`` (the naming of the
course data). The mask of a crop labels *every* cat/dog pixel of the photo
inside the crop by its class (other instances and crowd regions included),
not only the instance the crop was made for; everything else is 0.

Crop geometry (:func:`square_box`): side = longest bbox side times
``1 + 2 * margin``, capped at the shorter photo side; centred on the bbox
centre and shifted to lie inside the photo. Photos are resized with
``INTER_AREA`` (shrinking) or ``INTER_LINEAR``; masks with nearest neighbour.

The split is by *photo* (so crops of one photo never land in two splits):
COCO image ids are split with :func:`.splits.split_items` and a fixed seed.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from .coco import annotation_to_binary, load_coco
from ..common.errors import DataError
from .class_schema import OBJECT_CLASSES
from .layout import DEFAULT_LABELS_DIR, IMG_DIR, image_path, mask_path, \
    prepare_output
from .masks import read_image, write_image, write_mask
from .progress import track
from .splits import split_items


def square_box(bbox: list[float], height: int, width: int,
               margin: float = 0.1) -> tuple[int, int, int]:
    """Square crop ``(x0, y0, side)`` in pixels around a COCO ``[x, y, w, h]``.

    See the module docstring for the rule; the box always lies inside the
    ``height x width`` photo.
    """
    x, y, w, h = bbox
    side = math.ceil(max(w, h, 1) * (1 + 2 * margin))
    side = max(1, min(side, height, width))
    x0 = int(round(x + w / 2 - side / 2))
    y0 = int(round(y + h / 2 - side / 2))
    x0 = min(max(x0, 0), width - side)
    y0 = min(max(y0, 0), height - side)
    return x0, y0, side


def semantic_mask(anns: list[dict], values: dict[int, int], height: int,
                  width: int) -> np.ndarray:
    """``uint8 (H, W)`` mask of every annotation with a class in ``values``.

    ``values`` maps COCO category id -> mask value; larger annotations are
    painted first, so where a cat and a dog overlap the smaller one wins.
    """
    mask = np.zeros((height, width), np.uint8)
    for ann in sorted(anns, key=lambda a: -float(a.get('area') or 0)):
        if ann['category_id'] in values:
            mask[annotation_to_binary(ann, height, width)] = \
                values[ann['category_id']]
    return mask


def _resize(array: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    if array.shape[0] == size and array.shape[1] == size:
        return array
    interp = (cv2.INTER_NEAREST if nearest else
              cv2.INTER_AREA if array.shape[0] > size else cv2.INTER_LINEAR)
    return cv2.resize(array, (size, size), interpolation=interp)


def prepare_from_coco(ann_file: str | Path, images_dir: str | Path,
                      out: str | Path, *, size: int = 256,
                      margin: float = 0.1, min_area: float = 1024,
                      fractions: tuple[float, ...] = (0.7, 0.15, 0.15),
                      seed: int = 0, labels_dir: str = DEFAULT_LABELS_DIR,
                      overwrite: bool = False) -> dict[str, int]:
    """Write ``out/img/<split>/*.jpg`` and ``out/<labels_dir>/<split>/*.png``.

    ``fractions`` are the train/val/test shares of photos. Returns the
    number of crops per split. Raises :class:`DataError` when the file has
    no cat/dog category, no usable instance, or a needed photo is missing.
    """
    coco = load_coco(ann_file)
    images_dir = Path(images_dir)
    values, anns_by_image, infos, seeds = _pet_instances(
        coco, ann_file, images_dir, out, min_area)
    split_names = ('train', 'val', 'test')
    parts = split_items(sorted(seeds), fractions, seed)
    split_of = {i: s for s, ids in zip(split_names, parts) for i in ids}
    prepare_output(out, [IMG_DIR, labels_dir], overwrite)
    counts = {s: 0 for s in split_names}
    for image_id in track(sorted(seeds), 'COCO crops'):
        info = infos[image_id]
        photo = read_image(images_dir / info['file_name'])
        h, w = photo.shape[:2]
        if (h, w) != (int(info['height']), int(info['width'])):
            raise DataError(f"{images_dir / info['file_name']}: photo is "
                            f"{w}x{h} but {ann_file} says {info['width']}x"
                            f"{info['height']}; pass the matching --images")
        full = semantic_mask(anns_by_image[image_id], values, h, w)
        split = split_of[image_id]
        for ann in seeds[image_id]:
            x0, y0, side = square_box(ann['bbox'], h, w, margin)
            stem = f'{image_id:012d}_{ann["id"]}'
            box = (slice(y0, y0 + side), slice(x0, x0 + side))
            write_image(image_path(out, split, stem),
                        _resize(photo[box], size, False))
            write_mask(mask_path(out, split, stem, labels_dir),
                       _resize(full[box], size, True))
            counts[split] += 1
    return counts


def _pet_instances(coco: dict, ann_file, images_dir: Path, out,
                   min_area: float):
    """Check the inputs; the cat/dog category values, annotations by
    image, image infos and the instances to crop (by image id)."""
    out_img = (Path(out) / IMG_DIR).resolve()
    if out_img == images_dir.resolve() or out_img in \
            images_dir.resolve().parents:
        raise DataError(f'{images_dir}: the photos are inside the output '
                        f'{out_img}; choose another --out')
    values = {c['id']: OBJECT_CLASSES[c['name'].lower()]
              for c in coco['categories']
              if c['name'].lower() in OBJECT_CLASSES}
    if not values:
        raise DataError(f'{ann_file}: no "cat" or "dog" category; pass a COCO '
                        'instances_*.json')
    anns_by_image: dict[int, list[dict]] = {}
    for ann in coco['annotations']:
        anns_by_image.setdefault(ann['image_id'], []).append(ann)
    infos = {img['id']: img for img in coco['images']}
    seeds = {i: [a for a in anns if a['category_id'] in values
                 and not a.get('iscrowd') and float(a['area']) >= min_area]
             for i, anns in anns_by_image.items()}
    seeds = {i: a for i, a in seeds.items() if a and i in infos}
    if not seeds:
        raise DataError(f'{ann_file}: no cat/dog instance with area >= '
                        f'{min_area}; lower --min-area')
    missing = [images_dir / infos[i]['file_name'] for i in sorted(seeds)
               if not (images_dir / infos[i]['file_name']).is_file()]
    if missing:
        raise DataError(f'{missing[0]}: photo not found ({len(missing)} '
                        'missing); pass the folder of this annotation file\'s '
                        'photos as --images')
    return values, anns_by_image, infos, seeds
