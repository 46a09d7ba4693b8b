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


def _pairs(root, split='train'):
    imgs = sorted((root / 'img' / split).glob('*.jpg'))
    return [(str(p), str(root / 'labels' / split / (p.stem + '.png')))
            for p in imgs]


def test_cache_stops_at_its_byte_limit_with_identical_results(tiny_pets,
                                                             decodes):
    """Two photos' worth of bytes: two are kept, the rest decoded each
    time; every read returns what mmcv decodes."""
    pairs = _pairs(tiny_pets)
    assert len(pairs) >= 4
    one_image = mmcv.imread(pairs[0][0]).nbytes  # 64x64x3 uint8
    one_mask = mmcv.imread(pairs[0][1], 'unchanged').nbytes
    load_img = CachedLoadImageFromFile(max_cache_bytes=2 * one_image + 1)
    load_mask = CachedLoadAnnotations(max_cache_bytes=2 * one_mask + 1)
    for _ in range(3):  # three epochs
        for img_path, mask_path in pairs:
            img = load_img(dict(img_path=img_path))['img']
            np.testing.assert_array_equal(img, mmcv.imread(img_path))
            mask = load_mask(dict(seg_map_path=mask_path,
                                  reduce_zero_label=False,
                                  seg_fields=[]))['gt_seg_map']
            np.testing.assert_array_equal(
                mask, mmcv.imread(mask_path, 'unchanged'))
    held = cached_loading.cache_nbytes()
    assert held == dict(images=2 * one_image, masks=2 * one_mask)
    n = len(pairs)
    # images and masks: 2 decodes each once, the other n-2 every epoch
    assert len(decodes) == 2 * (2 + 3 * (n - 2))


def test_default_cache_limit_and_zero_caches_nothing(tiny_pets, decodes):
    img_path, _ = _pairs(tiny_pets)[0]
    assert CachedLoadImageFromFile().max_cache_bytes == \
        cached_loading.DEFAULT_MAX_CACHE_BYTES == 512 * 2 ** 20
    load = CachedLoadImageFromFile(max_cache_bytes=0)
    for _ in range(2):
        load(dict(img_path=img_path))
    assert len(decodes) == 2 and cached_loading.cache_nbytes()['images'] == 0
    with pytest.raises(ValueError, match='max_cache_bytes'):
        CachedLoadAnnotations(max_cache_bytes=-1)


def test_cache_limit_is_a_config_argument(tiny_pets, decodes):
    from mmseg.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='CachedLoadImageFromFile',
                                 max_cache_bytes=1))
    load(dict(img_path=_pairs(tiny_pets)[0][0]))
    assert cached_loading.cache_nbytes()['images'] == 0
