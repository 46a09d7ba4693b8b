"""Cached loading: each file decoded once per process, copies handed out."""
import mmcv
import numpy as np
import pytest

from custom_modules.datasets import cached_loading
from custom_modules.datasets.cached_loading import (CachedLoadAnnotations,
                                                    CachedLoadImageFromFile)


@pytest.fixture
def decodes(monkeypatch):
    """Count mmcv.imfrombytes calls; start and end with an empty cache."""
    calls = []
    real = mmcv.imfrombytes

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(mmcv, 'imfrombytes', counting)
    cached_loading.clear_cache()
    yield calls
    cached_loading.clear_cache()


def _pair(root):
    img = sorted((root / 'img' / 'train').glob('*.jpg'))[0]
    mask = root / 'labels' / 'train' / (img.stem + '.png')
    return str(img), str(mask)


def test_image_decoded_once_and_copies_are_independent(tiny_pets, decodes):
    img_path, _ = _pair(tiny_pets)
    load = CachedLoadImageFromFile()
    first = load(dict(img_path=img_path))['img']
    first[:] = 0  # a later transform writing into its array
    second = load(dict(img_path=img_path))
    assert len(decodes) == 1
    assert second['img'].any() and second['img'].flags.writeable
    assert second['ori_shape'] == second['img'].shape[:2]
    np.testing.assert_array_equal(
        second['img'], mmcv.imread(img_path))


def test_mask_cache_is_keyed_by_label_mapping(tiny_pets, decodes):
    _, mask_path = _pair(tiny_pets)
    load = CachedLoadAnnotations()

    def run(label_map):
        return load(dict(seg_map_path=mask_path, reduce_zero_label=False,
                         label_map=label_map, seg_fields=[]))['gt_seg_map']

    plain = run(None)
    again = run(None)
    assert len(decodes) == 1
    np.testing.assert_array_equal(plain, again)
    mapped = run({1: 2, 2: 1})
    assert len(decodes) == 2
    assert ((plain == 1) == (mapped == 2)).all()
