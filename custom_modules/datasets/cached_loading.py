"""Loading transforms that keep decoded images and masks in memory.

The whole pets set is small (318 photos of 256x256x3 plus masks, about
80 MB decoded), so decoding each file once per worker process and copying it
afterwards saves the JPEG/PNG decode on every later epoch. Use them in place
of ``LoadImageFromFile`` / ``LoadAnnotations`` (``configs/pets/cpu_fast.py``
does); each data-loader worker fills its own cache, so keep
``persistent_workers=True`` or the caches die with the workers every epoch.
"""
from __future__ import annotations

from typing import Dict, Hashable, Optional

import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

#: Transform types that read the photo / the mask from disk, plain and
#: cached: code that rearranges a pipeline looks them up here.
IMAGE_LOADERS = ('LoadImageFromFile', 'CachedLoadImageFromFile')
MASK_LOADERS = ('LoadAnnotations', 'CachedLoadAnnotations')

_IMAGES: Dict[Hashable, np.ndarray] = {}
_MASKS: Dict[Hashable, np.ndarray] = {}


def clear_cache() -> None:
    """Forget every cached image and mask of this process."""
    _IMAGES.clear()
    _MASKS.clear()


def _frozen(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.setflags(write=False)
    return array


@TRANSFORMS.register_module()
class CachedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that decodes each path once per process.

    Later calls return a writable copy of the cached array (uint8 (H, W, 3),
    BGR, or float32 with ``to_float32``); a file changed on disk after its
    first read is not re-read until :func:`clear_cache`.
    """

    def transform(self, results: dict) -> Optional[dict]:
        key = (results['img_path'], self.color_type, self.imdecode_backend,
               self.to_float32)
        img = _IMAGES.get(key)
        if img is None:
            results = super().transform(results)
            if results is None:
                return None
            _IMAGES[key] = _frozen(results['img'])
            return results
        results['img'] = img.copy()
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class CachedLoadAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that decodes each mask once per process.

    The cached mask is the one after ``reduce_zero_label`` and ``label_map``,
    keyed by both, so datasets that remap labels differently never share an
    entry.
    """

    def _load_seg_map(self, results: dict) -> None:
        label_map = results.get('label_map')
        key = (results['seg_map_path'], results.get('reduce_zero_label'),
               None if label_map is None else tuple(sorted(label_map.items())))
        mask = _MASKS.get(key)
        if mask is None:
            super()._load_seg_map(results)
            _MASKS[key] = _frozen(results['gt_seg_map'])
            return
        results['gt_seg_map'] = mask.copy()
        results['seg_fields'].append('gt_seg_map')
