"""Pre-flight check of every image/mask pair, before a run starts.

A bad file otherwise surfaces hours into training, inside a data-loader
worker, as an OpenCV assertion or a CUDA "device-side assert". Each pair is
decoded once, the way the configs' pipeline decodes it
(``LoadImageFromFile``: OpenCV, colour; ``LoadAnnotations``: Pillow,
unchanged), and must be:

- readable and complete (a JPEG must end with its end-of-image marker after
  the last scan, a PNG with its ``IEND`` chunk: decoders return a grey-filled
  picture for a truncated file instead of failing);
- a mask with one channel whose values are class indices or the ignore
  index (255);
- an image and a mask of the same height and width.

Grayscale and RGBA images are fine: the pipeline converts them to 3-channel
colour. The result per pair is cached by (path, size, mtime) of both files,
so the val dataset built again by the Runner, or a second run in the same
process, costs only ``os.stat``.
"""
from __future__ import annotations

import os
from typing import (Dict, Iterable, List, NamedTuple, Optional, Sequence,
                    Tuple)

import mmcv
import numpy as np

_Key = Tuple
_cache: Dict[_Key, Optional[str]] = {}


def _stat(path: str) -> Tuple[str, int, int]:
    st = os.stat(path)
    return path, st.st_size, st.st_mtime_ns


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


def _decode(data: bytes, flag: str, backend: str):
    try:
        return mmcv.imfrombytes(data, flag=flag, backend=backend)
    except Exception:  # noqa: BLE001 - any decoder failure is "unreadable"
        return None


class PairProblem(NamedTuple):
    """What is wrong with an image/mask pair.

    ``kind`` is one of unreadable_image, truncated_image, unreadable_mask,
    truncated_mask, bad_values, size_mismatch; ``detail`` says what to do.
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
    image = _decode(img_bytes, 'color', 'cv2')
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
    mask = _decode(seg_bytes, 'unchanged', 'pillow')
    if mask is None:
        return problem(seg_path, 'unreadable_mask', 'not a readable mask; '
                       're-export it as a single-channel PNG'), None
    mask = mask.squeeze()
    if mask.ndim != 2:
        return problem(seg_path, 'unreadable_mask', f'mask has '
                       f'{mask.shape[-1]} channels; save it as a '
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
    return None, mask


def check_pair(img_path: str, seg_path: str,
               valid_values: Sequence[int]) -> Optional[str]:
    """The problem with one image/mask pair as a one-line message, or None."""
    problem, _ = inspect_pair(img_path, seg_path, valid_values)
    return problem.message if problem else None


def check_pairs(pairs: Iterable[Tuple[str, str]],
                valid_values: Sequence[int]) -> List[str]:
    """Problems of all pairs (cached per unchanged pair), in input order."""
    valid = tuple(sorted(valid_values))
    problems = []
    for img_path, seg_path in pairs:
        try:
            key = (_stat(img_path), _stat(seg_path), valid)
        except OSError:
            key = None
        if key is not None and key in _cache:
            problem = _cache[key]
        else:
            problem = check_pair(img_path, seg_path, valid)
            if key is not None:
                _cache[key] = problem
        if problem:
            problems.append(problem)
    return problems
