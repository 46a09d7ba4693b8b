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
- an image and a mask of the same height and width, at least 2x2 pixels
  (mmseg's ``LoadAnnotations`` squeezes a side of one pixel away);
- in a split, at least one mask with a labelled pixel (a split whose masks
  are all 255, ignore, trains at loss 0 and scores nothing:
  ``PetsDataset`` refuses it, and warns about the masks that are all
  ignore when the split has some labelled ones).

Grayscale and RGBA images are fine: the pipeline converts them to 3-channel
colour. The result per pair is cached by (path, size, mtime) of both files,
so the val dataset built again by the Runner, or a second run in the same
process, costs only ``os.stat``.
"""
from __future__ import annotations

import os
from typing import (Collection, Dict, Iterable, List, NamedTuple, Optional,
                    Sequence, Tuple)

import numpy as np

from ..data.pairs import PairProblem, inspect_pair, truncated  # noqa: F401

_Key = Tuple


class PairVerdict(NamedTuple):
    """The check of one pair: its problem (or None) and whether its mask
    has a labelled pixel (a value outside ``unlabelled``; None when the
    mask could not be judged)."""
    problem: Optional[PairProblem]
    labelled: Optional[bool]


_cache: Dict[_Key, PairVerdict] = {}


def _stat(path: str) -> Tuple[str, int, int]:
    st = os.stat(path)
    return path, st.st_size, st.st_mtime_ns


def check_pair(img_path: str, seg_path: str, valid_values: Sequence[int],
               unlabelled: Collection[int] = (255,)) -> PairVerdict:
    """Decode one image/mask pair once and judge it (see the module doc);
    ``unlabelled``: the mask values that are no label (the ignore index)."""
    problem, mask = inspect_pair(img_path, seg_path, valid_values)
    labelled = None
    if mask is not None:
        labelled = bool(np.isin(mask, list(unlabelled), invert=True).any())
    return PairVerdict(problem, labelled)


def pair_verdicts(pairs: Iterable[Tuple[str, str]],
                  valid_values: Sequence[int],
                  unlabelled: Collection[int] = (255,)) -> List[PairVerdict]:
    """:func:`check_pair` of every pair, in input order; an unchanged pair
    (same path, size and mtime of both files) is judged once per process."""
    valid = tuple(sorted(valid_values))
    ignore = tuple(sorted(unlabelled))
    verdicts = []
    for img_path, seg_path in pairs:
        try:
            key = (_stat(img_path), _stat(seg_path), valid, ignore)
        except OSError:
            key = None
        if key is not None and key in _cache:
            verdict = _cache[key]
        else:
            verdict = check_pair(img_path, seg_path, valid, ignore)
            if key is not None:
                _cache[key] = verdict
        verdicts.append(verdict)
    return verdicts


def check_pairs(pairs: Iterable[Tuple[str, str]],
                valid_values: Sequence[int]) -> List[str]:
    """Problems of all pairs (cached per unchanged pair), in input order."""
    return [v.problem.message for v in pair_verdicts(pairs, valid_values)
            if v.problem]
