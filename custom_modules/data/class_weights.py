"""Class weights for the loss from pixel counts (``tools/class_weights.py``).

Let ``p_c`` be the number of pixels of class ``c`` (255 is never counted),
``P_c`` the number of labelled (non-255) pixels in the masks that contain
class ``c``, ``T = sum_c p_c`` and ``K`` the number of classes.

* **median frequency** (Eigen & Fergus 2015): ``f_c = p_c / P_c``,
  ``w_c = median(f) / f_c``.
* **inverse frequency** (scikit-learn's "balanced"): ``w_c = T / (K * p_c)``;
  reported raw and normalised so that ``mean(w) = 1``.

A class with no pixel has no defined weight: :class:`DataError`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..common.errors import DataError
from .class_schema import CLASSES, IGNORE_INDEX
from .layout import DEFAULT_LABELS_DIR, IMG_DIR, list_pairs
from .masks import MASK_SUFFIX, read_mask
from .progress import track

METHODS = ('median', 'inverse')
CFG_KEY = 'model.decode_head.loss_decode.class_weight'


def mask_files(path: str | Path, split: str = 'train',
               labels_dir: str = DEFAULT_LABELS_DIR) -> list[Path]:
    """Mask files to weigh.

    ``path`` is either a dataset root (it has ``img/``): the masks of
    ``split`` paired by :func:`.layout.list_pairs`; or a folder of ``*.png``
    masks (searched recursively).
    """
    path = Path(path)
    if (path / IMG_DIR).is_dir():
        return [p.mask for p in list_pairs(path, labels_dir, [split]).pairs]
    files = sorted(path.rglob(f'*{MASK_SUFFIX}')) if path.is_dir() else []
    if not files:
        raise DataError(f'{path}: no *{MASK_SUFFIX} masks found; pass a data '
                        'root (with img/) or a folder of masks')
    return files


def count_pixels(files: list[Path], num_classes: int = len(CLASSES)
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels, present_pixels)``, both ``int64`` of shape ``(K,)``.

    ``pixels[c]`` = ``p_c``; ``present_pixels[c]`` = ``P_c`` (see module
    docstring). Values >= K other than 255 are a :class:`DataError`.
    """
    pixels = np.zeros(num_classes, np.int64)
    present = np.zeros(num_classes, np.int64)
    for path in track(files, 'counting pixels'):
        counts = np.bincount(read_mask(path).ravel(), minlength=256)
        bad = [v for v in np.flatnonzero(counts)
               if v >= num_classes and v != IGNORE_INDEX]
        if bad:
            raise DataError(f'{path}: value {bad[0]} is not a class or 255; '
                            'run tools/check_dataset.py')
        labelled = counts[:num_classes].sum()
        pixels += counts[:num_classes]
        present += np.where(counts[:num_classes] > 0, labelled, 0)
    return pixels, present


def compute_weights(pixels: np.ndarray, present: np.ndarray) -> dict:
    """Both methods from the counts of :func:`count_pixels` (JSON-ready).

    Returns ``{'median': [...], 'inverse': [...], 'inverse_normalised':
    [...], 'frequency': [...]}``, lists of K floats.
    """
    pixels = np.asarray(pixels, np.float64)
    if (pixels == 0).any():
        missing = [CLASSES[i] if i < len(CLASSES) else str(i)
                   for i in np.flatnonzero(pixels == 0)]
        raise DataError(f'class {missing[0]} has no pixels in these masks; '
                        'weights are undefined, use a split that contains it')
    freq = pixels / np.asarray(present, np.float64)
    median = np.median(freq) / freq
    inverse = pixels.sum() / (len(pixels) * pixels)
    return {'frequency': freq.tolist(), 'median': median.tolist(),
            'inverse': inverse.tolist(),
            'inverse_normalised': (inverse / inverse.mean()).tolist()}


def cfg_options(weights: list[float], digits: int = 4) -> str:
    """``--cfg-options model.decode_head.loss_decode.class_weight="[...]"``."""
    values = ', '.join(f'{w:.{digits}f}' for w in weights)
    return f'--cfg-options {CFG_KEY}="[{values}]"'


def class_weights(path: str | Path, split: str = 'train',
                  labels_dir: str = DEFAULT_LABELS_DIR,
                  method: str = 'median') -> dict:
    """Counts, both weightings and the cfg-options string for ``method``.

    ``method`` ``'median'`` uses the median-frequency weights,
    ``'inverse'`` the normalised inverse-frequency weights.
    """
    if method not in METHODS:
        raise DataError(f"unknown method {method!r}; use 'median' or "
                        "'inverse'")
    files = mask_files(path, split, labels_dir)
    pixels, present = count_pixels(files)
    weights = compute_weights(pixels, present)
    chosen = weights['median' if method == 'median' else 'inverse_normalised']
    return {'source': str(path), 'masks': len(files), 'classes': list(CLASSES),
            'pixels': pixels.tolist(), 'present_pixels': present.tolist(),
            **weights, 'method': method, 'cfg_options': cfg_options(chosen)}


def to_json(result: dict) -> str:
    """Pretty JSON of a :func:`class_weights` result."""
    return json.dumps(result, indent=2)
