"""Decode an image/mask pair as the training pipeline does and judge it.

The one verdict on a pair, shared by the training pre-flight check
(:mod:`custom_modules.datasets.file_checks`, run by ``PetsDataset``) and
``tools/check_dataset.py`` (:mod:`.check`). Decoding follows the configs'
pipeline (``LoadImageFromFile``: OpenCV, colour; ``LoadAnnotations``:
Pillow, unchanged) with OpenCV and Pillow directly, so the data tools
import no mmcv, mmengine or torch.
"""
from __future__ import annotations

import io
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .masks import decode_image


def truncated(data: bytes) -> bool:
    """True for a JPEG or PNG whose end is missing; other formats: False."""
    if data[:2] == b'\xff\xd8':  # JPEG: EOI must follow the last scan (SOS)
        sos = data.rfind(b'\xff\xda')
        return sos < 0 or data.find(b'\xff\xd9', sos) < 0
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return data.rfind(b'IEND') < 0
    return False


def _read(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


def _decode_image(data: bytes):
    """BGR ``(H, W, 3)`` as ``LoadImageFromFile`` decodes it (mmcv
    ``imfrombytes(flag='color', backend='cv2')``; the data tools' own
    :func:`.masks.decode_image`), or None."""
    try:
        return decode_image(data, '')
    except Exception:  # noqa: BLE001 - any decoder failure is "unreadable"
        return None


def _decode_mask(data: bytes):
    """The array ``LoadAnnotations`` decodes (mmcv ``imfrombytes(flag=
    'unchanged', backend='pillow')``: Pillow, channels as stored), or None.
    """
    try:
        with io.BytesIO(data) as buffer:
            return np.array(Image.open(buffer))
    except Exception:  # noqa: BLE001 - any decoder failure is "unreadable"
        return None


#: Smallest height and width of a pair: mmseg's ``LoadAnnotations``
#: squeezes the mask, so a side of one pixel is lost and every pipeline of
#: the configs fails on the 1-D (or 0-D) mask.
MIN_SIDE = 2


class PairProblem(NamedTuple):
    """What is wrong with an image/mask pair.

    ``kind`` is one of unreadable_image, truncated_image, unreadable_mask,
    truncated_mask, bad_values, size_mismatch, too_small (a side under
    :data:`MIN_SIDE` pixels); ``detail`` says what to do.
    """
    path: str
    kind: str
    detail: str

    @property
    def message(self) -> str:
        """``'<path>: <detail>'``, the one-line error."""
        return f'{self.path}: {self.detail}'


def inspect_pair(img_path: str, seg_path: str, valid_values: Sequence[int]
                 ) -> Tuple[Optional[PairProblem], Optional[np.ndarray]]:
    """Decode a pair as the pipeline does; ``(problem or None, mask)``.

    The mask (uint8/uint16 ``(H, W)``) is returned when it could be decoded,
    so callers that analyse masks (``tools/check_dataset.py``) read each
    file once and judge it exactly as training will.
    """
    problem = PairProblem
    try:
        img_bytes = _read(img_path)
    except OSError as err:
        return problem(img_path, 'unreadable_image',
                       f'cannot read the image ({err.strerror})'), None
    if truncated(img_bytes):
        return problem(img_path, 'truncated_image', 'image file is truncated '
                       '(incomplete copy or download); copy it again or '
                       'remove it and its mask'), None
    image = _decode_image(img_bytes)
    if image is None:
        return problem(img_path, 'unreadable_image', 'not a readable image; '
                       're-export it as JPEG or remove it and its mask'), None
    try:
        seg_bytes = _read(seg_path)
    except OSError as err:
        return problem(seg_path, 'unreadable_mask',
                       f'cannot read the mask ({err.strerror})'), None
    if truncated(seg_bytes):
        return problem(seg_path, 'truncated_mask', 'mask file is truncated; '
                       'copy or export it again'), None
    mask = _decode_mask(seg_bytes)
    if mask is None:
        return problem(seg_path, 'unreadable_mask', 'not a readable mask; '
                       're-export it as a single-channel PNG'), None
    if mask.ndim == 3 and mask.shape[2] == 1:  # (H, W, 1): one channel
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        channels = mask.shape[2] if mask.ndim == 3 else mask.ndim
        return problem(seg_path, 'unreadable_mask', f'mask has '
                       f'{channels} channels; save it as a '
                       'single-channel PNG of class indices'), None
    present = np.unique(mask) if mask.dtype != np.uint8 else \
        np.flatnonzero(np.bincount(mask.ravel(), minlength=256))
    bad = sorted(int(v) for v in present if int(v) not in valid_values)
    if bad:
        classes = ', '.join(str(v) for v in valid_values)
        return problem(seg_path, 'bad_values', f'mask values {bad[:8]} are '
                       f'not class indices or ignore ({classes}); fix the '
                       'mask'), mask
    if image.shape[:2] != mask.shape:
        (ih, iw), (mh, mw) = image.shape[:2], mask.shape
        return problem(seg_path, 'size_mismatch', f'mask is {mw}x{mh} but its '
                       f'image {img_path} is {iw}x{ih} (WxH); export the mask '
                       'at the image size'), mask
    if min(mask.shape) < MIN_SIDE:
        (mh, mw) = mask.shape
        return problem(seg_path, 'too_small', f'mask and image are {mw}x{mh} '
                       f'pixels (WxH); the training pipeline needs at least '
                       f'{MIN_SIDE}x{MIN_SIDE}; remove the pair or export it '
                       'larger'), mask
    return None, mask
