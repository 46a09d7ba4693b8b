"""custom_modules.datasets.fast_random_crop: mmseg's crops, cheaper."""
import numpy as np
import pytest
from mmseg.datasets.transforms import RandomCrop

from custom_modules.datasets.fast_random_crop import (FastRandomCrop,
                                                      class_counts)


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
def test_class_counts_match_np_unique(seg_map):
    labels, counts = np.unique(seg_map, return_counts=True)
    assert class_counts(seg_map, 255).tolist() == \
        counts[labels != 255].tolist()
