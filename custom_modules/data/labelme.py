"""LabelMe JSON -> masks (``prepare_data labelme``).

A LabelMe file holds ``imageHeight``, ``imageWidth``, ``imagePath``
(relative to the JSON) and ``shapes``; each shape has a ``label``
(``cat``/``dog``/``ignore``/``background``, case-insensitive, see
:func:`.masks.class_value`), a ``shape_type`` and ``points`` (``[x, y]``
floats, pixel coordinates). Shapes are painted in file order, later shapes
on top, as LabelMe itself does: ``polygon`` with ``cv2.fillPoly`` on points
rounded to the nearest pixel, ``rectangle`` (two corners) and ``circle``
(centre, point on the rim). ``point``/``line``/``linestrip`` have no area
and are skipped; any other type is a :class:`DataError`, and so are points
that are not ``[x, y]`` numbers, not finite, or more than one image size
outside the image. :func:`convert_labelme_dir` checks every file's shapes
before it writes anything: a bad file stops the conversion with nothing
written.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import DataError
from .layout import DEFAULT_LABELS_DIR, image_path, mask_path, read_json, \
    refuse_existing_files
from .masks import (IMAGE_SUFFIX, class_value, copy_as_rgb_jpeg,
                    decode_image, write_image, write_mask)
from .progress import track

NO_AREA_SHAPES = ('point', 'line', 'linestrip')


def load_labelme(path: str | Path) -> dict:
    """Read a LabelMe JSON and check the keys this module needs."""
    return read_json(path, ('shapes', 'imageHeight', 'imageWidth'),
                     'a LabelMe file', 're-save it in LabelMe')


def _points(shape: dict, where: str, height: int, width: int
            ) -> np.ndarray:
    """A shape's points as int32 ``(N, 2)`` pixel coordinates; a
    :class:`DataError` (``where``: file and shape) for points that are not
    a list of ``[x, y]`` numbers, not finite, or more than one image size
    outside the image (a little outside is clipped, as LabelMe allows)."""
    raw = shape.get('points')
    try:
        pts = np.asarray(raw, float)
    except (TypeError, ValueError):
        pts = None
    if pts is None or pts.ndim != 2 or pts.shape[1] != 2:
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + '...'
        detail = f' ({shown} is not a list of [x, y] pairs)' \
            if not isinstance(raw, list) else ''
        raise DataError(f'{where} has malformed points{detail}; redraw it in '
                        'LabelMe')
    if not np.isfinite(pts).all():
        raise DataError(f'{where} has a coordinate that is not a finite '
                        'number; redraw it in LabelMe')
    far = (pts[:, 0] < -width) | (pts[:, 0] > 2 * width) | \
        (pts[:, 1] < -height) | (pts[:, 1] > 2 * height)
    if far.any():
        x, y = pts[far][0]
        raise DataError(f'{where} has a point far outside the {width}x'
                        f'{height} image (x={x:g}, y={y:g}); redraw it in '
                        'LabelMe')
    return np.round(pts).astype(np.int32)


def _shapes(data: dict, source: Path):
    """``(kind, value, points, shape)`` of each shape that has an area,
    checked (label, type, points); :class:`DataError` names the file and
    the shape (1-based) for the first that cannot be rasterised."""
    height, width = int(data['imageHeight']), int(data['imageWidth'])
    shapes = data['shapes']
    if not isinstance(shapes, list):
        raise DataError(f'{source}: shapes is not a list; re-save it in '
                        'LabelMe')
    for index, shape in enumerate(shapes, 1):
        if not isinstance(shape, dict):
            raise DataError(f'{source}: shape {index} is not an object; '
                            're-save the file in LabelMe')
        kind = shape.get('shape_type') or 'polygon'
        value = class_value(str(shape.get('label', '')), source)
        if kind in NO_AREA_SHAPES:
            continue
        where = f'{source}: shape {index} ({shape.get("label")!r})'
        pts = _points(shape, where, height, width)
        if not ((kind == 'polygon' and len(pts) >= 3)
                or (kind in ('rectangle', 'circle') and len(pts) == 2)):
            raise DataError(f'{source}: cannot rasterise a {kind!r} shape '
                            f'with {len(pts)} points (label '
                            f'{shape.get("label")!r}); redraw it as a polygon')
        yield kind, value, pts


def check_shapes(data: dict, source: str | Path = 'LabelMe JSON') -> None:
    """Raise the :class:`DataError` :func:`shapes_to_mask` would, without
    painting (so a conversion can stop before it writes anything)."""
    for _ in _shapes(data, Path(source)):
        pass


def shapes_to_mask(data: dict, source: str | Path = 'LabelMe JSON'
                   ) -> np.ndarray:
    """Rasterise a loaded LabelMe dict to a ``uint8`` ``(H, W)`` mask."""
    source = Path(source)
    mask = np.zeros((int(data['imageHeight']), int(data['imageWidth'])),
                    np.uint8)
    for kind, value, pts in _shapes(data, source):
        if kind == 'polygon':
            cv2.fillPoly(mask, [pts], int(value))
        elif kind == 'rectangle':
            (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
            x0, y0 = max(int(x0), 0), max(int(y0), 0)
            mask[y0:y1 + 1, x0:x1 + 1] = value
        else:  # circle
            radius = int(round(float(np.linalg.norm(pts[1] - pts[0]))))
            cv2.circle(mask, (int(pts[0][0]), int(pts[0][1])), radius,
                       int(value), thickness=-1)
    return mask


def labelme_to_mask(path: str | Path) -> np.ndarray:
    """Mask (``uint8`` ``(H, W)``) of one LabelMe JSON file."""
    return shapes_to_mask(load_labelme(path), path)


def find_image(json_path: Path, data: dict, images_dir: Path | None
               ) -> Path | None:
    """The photo of a LabelMe file: ``images_dir/<imagePath name>`` if given,
    else ``imagePath`` relative to the JSON; ``None`` if it does not exist."""
    name = str(data.get('imagePath')
               or json_path.with_suffix(IMAGE_SUFFIX).name)
    name = name.replace('\\', '/')
    candidate = (images_dir / Path(name).name if images_dir is not None
                 else json_path.parent / name)
    return candidate if candidate.is_file() else None


def embedded_image(data: dict, source: Path):
    """Decode LabelMe's base64 ``imageData`` to BGR ``uint8 (H, W, 3)``."""
    try:
        raw = base64.b64decode(data['imageData'], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise DataError(f'{source}: imageData is not valid base64; re-save '
                        'the file in LabelMe') from None
    return decode_image(raw, f'{source} imageData')


def convert_labelme_dir(src: str | Path, out: str | Path, split: str = 'train',
                        labels_dir: str = DEFAULT_LABELS_DIR,
                        images_dir: str | Path | None = None,
                        masks_only: bool = False, overwrite: bool = False
                        ) -> int:
    """Convert every ``src/*.json`` into ``out``'s layout; returns the count.

    Writes ``out/<labels_dir>/<split>/<stem>.png`` and, unless
    ``masks_only``, the photo as ``out/img/<split>/<stem>.jpg`` (see
    :func:`.masks.copy_as_rgb_jpeg`; when the file is not found, the photo
    embedded in the JSON's ``imageData`` is used). The stem is the JSON's. Existing
    output files are refused unless ``overwrite``; a missing photo or one
    whose size differs from the JSON's is a :class:`DataError`.
    """
    src, out = Path(src), Path(out)
    files = sorted(src.glob('*.json')) if src.is_dir() else []
    if not files:
        raise DataError(f'{src}: no LabelMe *.json files found')
    images = Path(images_dir) if images_dir is not None else None
    jobs = []
    for path in files:
        data = load_labelme(path)
        check_shapes(data, path)  # stop before anything is written
        photo = None
        if not masks_only:
            photo = find_image(path, data, images)
            if photo is None and not data.get('imageData'):
                raise DataError(f'{path}: photo {data.get("imagePath")!r} not '
                                'found; pass --images DIR or --masks-only')
        jobs.append((path, data, photo))
    targets = [mask_path(out, split, p.stem, labels_dir) for p, _, _ in jobs]
    if not masks_only:
        targets += [image_path(out, split, p.stem) for p, _, _ in jobs]
    refuse_existing_files(targets, overwrite)
    for path, data, photo in track(jobs, 'LabelMe'):
        mask = shapes_to_mask(data, path)
        if not masks_only:
            dst = image_path(out, split, path.stem)
            if photo is not None:
                h, w = copy_as_rgb_jpeg(photo, dst)
            else:
                img = embedded_image(data, path)
                h, w = img.shape[:2]
                write_image(dst, img)
            if (h, w) != mask.shape:
                dst.unlink()
                raise DataError(f'{photo or path}: photo is {w}x{h} but '
                                f'{path.name} says {mask.shape[1]}x'
                                f'{mask.shape[0]}; wrong photo?')
        write_mask(mask_path(out, split, path.stem, labels_dir), mask)
    return len(jobs)
