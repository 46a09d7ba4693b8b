"""Reading and writing label masks and photos: the one place that does IO.

Conventions (the layout the configs read):

* A **mask** is a single-channel ``uint8`` array of shape ``(H, W)`` stored
  as PNG; values are class indices (:data:`.class_schema.CLASSES`) or
  :data:`.class_schema.IGNORE_INDEX`.
* An **image** is a ``uint8`` BGR array of shape ``(H, W, 3)`` (OpenCV
  order) stored as JPEG. Grayscale, CMYK and PNG-coded inputs are converted
  to 3-channel BGR on reading, so writing them gives an RGB JPEG.

Files are read with ``Path.read_bytes`` + ``cv2.imdecode`` so that
unreadable files raise :class:`DataError` (not OpenCV warnings or ``None``).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import DataError
from .class_schema import IGNORE_INDEX, OBJECT_CLASSES

IMAGE_SUFFIX = '.jpg'
MASK_SUFFIX = '.png'
JPEG_QUALITY = 95


def _read_bytes(path: Path) -> np.ndarray:
    try:
        return np.frombuffer(Path(path).read_bytes(), np.uint8)
    except OSError as exc:
        raise DataError(f'{path}: cannot read file ({exc.strerror}); '
                        'check the path') from None


def decode_image(data: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    """Decode encoded image bytes to a BGR ``uint8`` ``(H, W, 3)`` array."""
    buf = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if img is None:
        raise DataError(f'{name}: not a readable image; re-export it as '
                        'JPEG or remove it')
    return img


def read_image(path: str | Path) -> np.ndarray:
    """Read a photo (any format OpenCV decodes) as BGR ``uint8 (H, W, 3)``."""
    return decode_image(_read_bytes(Path(path)), path)


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write a BGR ``(H, W, 3)`` or gray ``(H, W)`` ``uint8`` image as JPEG."""
    _write(path, image, '.jpg', [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])


def decode_mask(data: bytes | np.ndarray, name: str | Path) -> np.ndarray:
    """Decode PNG bytes to a ``uint8`` ``(H, W)`` mask.

    Anything that is not single-channel 8-bit is a :class:`DataError`: mmseg
    reads masks unchanged, so an RGB-stored mask would break training.
    """
    buf = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    mask = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if mask is None:
        raise DataError(f'{name}: not a readable mask image; re-export it '
                        'as PNG')
    if mask.ndim != 2:
        raise DataError(f'{name}: mask has {mask.shape[2]} channels; save it '
                        'as single-channel PNG of class indices (0 background,'
                        ' 1 cat, 2 dog, 255 ignore)')
    if mask.dtype != np.uint8:
        raise DataError(f'{name}: mask dtype is {mask.dtype}, expected uint8; '
                        'save it as 8-bit PNG')
    return mask


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask PNG as ``uint8`` ``(H, W)`` (values not checked here)."""
    return decode_mask(_read_bytes(Path(path)), path)


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Write a ``uint8`` ``(H, W)`` mask as single-channel PNG.

    Parent folders are created. Raises ``ValueError`` for a wrong
    shape/dtype (a programming error, not a data error).
    """
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f'mask must be uint8 (H, W), got {mask.dtype} '
                         f'{mask.shape}')
    _write(path, mask, '.png', [])


def _write(path: str | Path, array: np.ndarray, ext: str,
           params: list[int]) -> None:
    path = Path(path)
    ok, buf = cv2.imencode(ext, array, params)
    if not ok:
        raise DataError(f'{path}: OpenCV could not encode {ext}')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)  # never leave a half-written file behind


def class_value(label: str, source: str | Path, *,
                allow_background: bool = True) -> int:
    """Map an annotation-tool label to a mask value.

    ``cat`` -> 1, ``dog`` -> 2, ``ignore`` -> 255 and, when
    ``allow_background``, ``background``/``_background_`` -> 0
    (case-insensitive). Anything else is a :class:`DataError` naming
    ``source``.
    """
    key = label.strip().lower()
    if key in OBJECT_CLASSES:
        return OBJECT_CLASSES[key]
    if key == 'ignore':
        return IGNORE_INDEX
    if allow_background and key in ('background', '_background_'):
        return 0
    raise DataError(f"{source}: unknown label {label!r}; use 'cat', 'dog' "
                    "or 'ignore' (rename it in the annotation tool)")


def jpeg_components(data: bytes) -> int | None:
    """Number of colour components of a baseline/progressive JPEG.

    Reads the SOF segment header: 3 for YCbCr/RGB, 1 for grayscale, 4 for
    CMYK/YCCK. ``None`` when ``data`` is not a JPEG (e.g. a PNG named .jpg).
    """
    if data[:2] != b'\xff\xd8':
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2:i + 4], 'big')
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return data[i + 9] if i + 9 < len(data) else None
        i += 2 + length
    return None


def copy_as_rgb_jpeg(src: str | Path, dst: str | Path) -> tuple[int, int]:
    """Copy a photo to ``dst`` as a 3-channel JPEG; returns its ``(H, W)``.

    An RGB/YCbCr JPEG is copied byte for byte (no re-encoding loss);
    grayscale, CMYK and non-JPEG files (PNG named .jpg, ...) are decoded and
    written as JPEG. Unreadable files raise :class:`DataError`.
    """
    data = _read_bytes(Path(src)).tobytes()
    image = decode_image(data, src)
    dst = Path(dst)
    if jpeg_components(data) == 3:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    else:
        write_image(dst, image)
    return image.shape[0], image.shape[1]
