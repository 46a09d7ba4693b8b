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
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..data.pairs import PairProblem, inspect_pair, truncated  # noqa: F401

_Key = Tuple
_cache: Dict[_Key, Optional[str]] = {}


def _stat(path: str) -> Tuple[str, int, int]:
    st = os.stat(path)
    return path, st.st_size, st.st_mtime_ns


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
