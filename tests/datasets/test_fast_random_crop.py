"""custom_modules.datasets.fast_random_crop: mmseg's crops, cheaper."""
import numpy as np
import pytest
from mmseg.datasets.transforms import RandomCrop

from custom_modules.datasets.fast_random_crop import (FastRandomCrop,
                                                      class_counts,
                                                      value_counts)


def _sample(rng, size):
    """A pets-like sample: mostly background, one pet blob, some ignore."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
    mask[y:y + rng.integers(4, h // 2), x:x + rng.integers(4, w // 2)] = \
        rng.integers(1, 3)
    mask[rng.random((h, w)) < 0.01] = 255
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return dict(img=img, gt_seg_map=mask, seg_fields=['gt_seg_map'],
                img_shape=(h, w))


@pytest.mark.parametrize('ratio', [0.75, 0.95, 1.0])
def test_same_crops_as_mmseg_for_the_same_random_state(ratio):
    rng = np.random.default_rng(0)
    mmseg_crop = RandomCrop(crop_size=(48, 48), cat_max_ratio=ratio)
    fast_crop = FastRandomCrop(crop_size=(48, 48), cat_max_ratio=ratio)
    for seed in range(60):
        size = tuple(int(s) for s in rng.integers(32, 128, 2))
        sample = _sample(rng, size)
        if seed % 3 == 0:  # other label dtypes take the bincount path
            sample['gt_seg_map'] = sample['gt_seg_map'].astype(np.int64)
        results = {}
        for name, crop in (('mmseg', mmseg_crop), ('fast', fast_crop)):
            np.random.seed(seed)
            out = crop(dict(sample))
            # the same draws leave the generator in the same state
            results[name] = (out['img'], out['gt_seg_map'],
                             np.random.randint(1 << 30))
        (img, mask, after), (fast_img, fast_mask, fast_after) = \
            results['mmseg'], results['fast']
        assert np.array_equal(fast_img, img)
        assert np.array_equal(fast_mask, mask)
        assert fast_after == after


@pytest.mark.parametrize('seg_map', [
    np.array([[0, 0, 1], [255, 2, 2]], np.uint8),
    np.array([[0, 0, 0]], np.uint8),
    np.array([[255, 255]], np.uint8),
    np.array([[3, -1, 3], [7, 7, -1]], np.int64),
    np.array([[300, 2], [2, 255]], np.uint16)])
@pytest.mark.parametrize('likely', [
    (), (0, 1, 2, 255), (0, 2, 255), (3, 7), (-1, 0, 1, 2, 3, 7, 255, 300)])
def test_class_counts_match_np_unique(seg_map, likely):
    """With likely values that cover the map, miss some of its values, or
    hold values it lacks."""
    labels, counts = np.unique(seg_map, return_counts=True)
    assert class_counts(seg_map, 255, likely).tolist() == \
        counts[labels != 255].tolist()
    values, value_counts_ = value_counts(seg_map, likely)
    assert (values.tolist(), value_counts_.tolist()) == \
        (labels.tolist(), counts.tolist())


def test_the_crop_remembers_the_values_of_the_maps_it_saw():
    rng = np.random.default_rng(3)
    crop = FastRandomCrop(crop_size=(32, 32), cat_max_ratio=0.75)
    for pet in (1, 2):  # a cat's map, then a dog's
        sample = _pets_like(rng, (64, 64))
        sample['gt_seg_map'][sample['gt_seg_map'] == 3 - pet] = pet
        crop(sample)
    assert crop._likely == (0, 1, 2, 255)
    # a map with more than eight values: too many to compare one by one
    sample = _pets_like(rng, (64, 64))
    sample['gt_seg_map'][:, :10] = np.arange(10)
    crop(sample)
    assert crop._likely == ()


def _pets_like(rng, size, background=0.9):
    """Background but for one pet rectangle of about ``1 - background``."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    ph, pw = int(h * (1 - background) ** 0.5), int(w * (1 - background) ** 0.5)
    y, x = rng.integers(0, h - ph + 1), rng.integers(0, w - pw + 1)
    mask[y:y + ph, x:x + pw] = rng.integers(1, 3)
    mask[rng.random((h, w)) < 0.005] = 255
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return dict(img=img, gt_seg_map=mask, seg_fields=['gt_seg_map'],
                img_shape=(h, w))


@pytest.mark.parametrize('ratio', [0.75, 0.5])
def test_same_crops_as_mmseg_on_pets_sized_maps(ratio):
    """The sizes RandomResize gives pets photos for a 192 crop (96 to 384
    pixels a side), mostly background: every shortcut is taken here."""
    rng = np.random.default_rng(1)
    mmseg_crop = RandomCrop(crop_size=(192, 192), cat_max_ratio=ratio)
    fast_crop = FastRandomCrop(crop_size=(192, 192), cat_max_ratio=ratio)
    for seed in range(40):
        side = int(rng.integers(96, 385))
        sample = _pets_like(rng, (side, int(side * rng.uniform(0.7, 1.0))),
                            background=rng.uniform(0.6, 0.97))
        outs = []
        for crop in (mmseg_crop, fast_crop):
            np.random.seed(seed)
            out = crop(dict(sample))
            outs.append((out['gt_seg_map'], np.random.randint(1 << 30)))
        assert np.array_equal(outs[0][0], outs[1][0])
        assert outs[0][1] == outs[1][1]


def _crop_counts(monkeypatch, sample, ratio=0.75, crop_size=(192, 192)):
    """How many crop windows FastRandomCrop counts (the whole map's one
    count left out)."""
    from custom_modules.datasets import fast_random_crop
    calls = []
    real = fast_random_crop.value_counts

    def counting(seg_map, likely=()):
        calls.append(seg_map.shape)
        return real(seg_map, likely)
    monkeypatch.setattr(fast_random_crop, 'value_counts', counting)
    np.random.seed(0)
    FastRandomCrop(crop_size=crop_size, cat_max_ratio=ratio)(dict(sample))
    assert calls[0] == sample['gt_seg_map'].shape
    return len(calls) - 1


def test_counts_are_skipped_where_the_outcome_is_certain(monkeypatch):
    rng = np.random.default_rng(2)
    # no larger than the crop: one window, failing (70 % background, 20 %
    # ignored: 0.875 of the counted pixels) but not surely so by area; the
    # whole map's count serves its ten draws (mmseg: ten counts)
    small = _pets_like(rng, (150, 180))
    mask = small['gt_seg_map']
    mask[:] = 0
    mask[:15] = 1
    mask[15:45] = 255
    assert _crop_counts(monkeypatch, small) == 0
    # the same window at 90 % background is surely failing: not counted
    assert _crop_counts(monkeypatch, _pets_like(rng, (150, 180))) == 0
    # 256x256 at 95 % background: any 192x192 window is >= 75 % background
    assert _crop_counts(monkeypatch, _pets_like(rng, (256, 256), 0.95)) == 0
    # 384x384, 80 % background spread evenly: every window fails, but too
    # much lies outside a window to be sure; each of the ten draws counted
    spread = _pets_like(rng, (384, 384))
    spread['gt_seg_map'][:] = (rng.random((384, 384)) > 0.8).astype(np.uint8)
    assert _crop_counts(monkeypatch, spread) == 10

