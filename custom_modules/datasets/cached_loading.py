"""Loading transforms that keep decoded images and masks in memory.

The whole pets set is small (318 photos of 256x256x3 plus masks, about
80 MB decoded), so decoding each file once per worker process and copying it
afterwards saves the JPEG/PNG decode on every later epoch. Use them in place
of ``LoadImageFromFile`` / ``LoadAnnotations`` in pipelines that read the
same files again and again (training and validation:
``configs/pets/cpu_fast.py`` does); each data-loader worker fills its own
cache, so keep ``persistent_workers=True`` or the caches die with the
workers every epoch.

Each cache (images, masks) holds at most ``max_cache_bytes`` of decoded
arrays per process (:data:`DEFAULT_MAX_CACHE_BYTES`, 512 MiB, unless the
transform's config sets it): files beyond it are decoded on every read and
not kept, so the ones already cached keep their hits epoch after epoch.
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

#: Default ``max_cache_bytes`` of each cache (images, masks) per process:
#: 512 MiB, the pets set decoded several times over, while a folder of
#: camera photos (72 MB each at 6000x4000) stops filling it after seven.
DEFAULT_MAX_CACHE_BYTES = 512 * 2 ** 20


class _Cache:
    """Read-only arrays by key, up to a byte total (nothing is evicted)."""

    def __init__(self) -> None:
        self.arrays: Dict[Hashable, np.ndarray] = {}
        self.nbytes = 0

    def get(self, key: Hashable) -> Optional[np.ndarray]:
        return self.arrays.get(key)

    def put(self, key: Hashable, array: np.ndarray, max_bytes: int) -> None:
        """Keep a read-only copy of ``array`` if it fits in ``max_bytes``."""
        if key in self.arrays or self.nbytes + array.nbytes > max_bytes:
            return
        array = array.copy()
        array.setflags(write=False)
        self.arrays[key] = array
        self.nbytes += array.nbytes

    def clear(self) -> None:
        self.arrays.clear()
        self.nbytes = 0


_IMAGES = _Cache()
_MASKS = _Cache()


def clear_cache() -> None:
    """Forget every cached image and mask of this process."""
    _IMAGES.clear()
    _MASKS.clear()


def cache_nbytes() -> Dict[str, int]:
    """Bytes held by this process's caches (``images``, ``masks``)."""
    return dict(images=_IMAGES.nbytes, masks=_MASKS.nbytes)


def _checked_limit(max_cache_bytes) -> int:
    if isinstance(max_cache_bytes, bool) or not isinstance(
            max_cache_bytes, int) or max_cache_bytes < 0:
        raise ValueError(f'max_cache_bytes={max_cache_bytes!r}: give a '
                         'number of bytes >= 0 (0 caches nothing)')
    return max_cache_bytes


class _CacheLimit:
    """``max_cache_bytes`` (checked) before the loader's own arguments."""

    def __init__(self, max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_cache_bytes = _checked_limit(max_cache_bytes)


@TRANSFORMS.register_module()
class CachedLoadImageFromFile(_CacheLimit, LoadImageFromFile):
    """``LoadImageFromFile`` that decodes each path once per process.

    Later calls return a writable copy of the cached array (uint8 (H, W, 3),
    BGR, or float32 with ``to_float32``); a file changed on disk after its
    first read is not re-read until :func:`clear_cache`.

    Args:
        max_cache_bytes: the most decoded image bytes this process keeps
            (:data:`DEFAULT_MAX_CACHE_BYTES`, 512 MiB); photos that do not
            fit any more are decoded on every read. ``0`` caches nothing.
        **kwargs: ``LoadImageFromFile``'s.
    """

    def transform(self, results: dict) -> Optional[dict]:
        key = (results['img_path'], self.color_type, self.imdecode_backend,
               self.to_float32)
        img = _IMAGES.get(key)
        if img is None:
            results = super().transform(results)
            if results is None:
                return None
            _IMAGES.put(key, results['img'], self.max_cache_bytes)
            return results
        results['img'] = img.copy()
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class CachedLoadAnnotations(_CacheLimit, LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that decodes each mask once per process.

    The cached mask is the one after ``reduce_zero_label`` and ``label_map``,
    keyed by both, so datasets that remap labels differently never share an
    entry.

    Args:
        max_cache_bytes: the most decoded mask bytes this process keeps
            (:data:`DEFAULT_MAX_CACHE_BYTES`, 512 MiB); masks that do not
            fit any more are decoded on every read. ``0`` caches nothing.
        **kwargs: ``LoadAnnotations``'s.
    """

    def _load_seg_map(self, results: dict) -> None:
        label_map = results.get('label_map')
        key = (results['seg_map_path'], results.get('reduce_zero_label'),
               None if label_map is None else tuple(sorted(label_map.items())))
        mask = _MASKS.get(key)
        if mask is None:
            super()._load_seg_map(results)
            _MASKS.put(key, results['gt_seg_map'], self.max_cache_bytes)
            return
        results['gt_seg_map'] = mask.copy()
        results['seg_fields'].append('gt_seg_map')
