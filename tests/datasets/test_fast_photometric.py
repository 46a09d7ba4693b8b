"""custom_modules.datasets.fast_photometric: mmseg's colour jitter from
lookup tables, the same images."""
import numpy as np
import pytest
from mmseg.datasets.transforms import PhotoMetricDistortion

from custom_modules.datasets.fast_photometric import (
    FastPhotoMetricDistortion, look_up)


@pytest.mark.parametrize('kwargs', [
    {}, dict(brightness_delta=80, contrast_range=(0.2, 2.5),
             saturation_range=(0.0, 3.0), hue_delta=90)])
def test_same_images_as_mmseg_for_the_same_random_state(kwargs):
    rng = np.random.default_rng(0)
    mmseg_jitter = PhotoMetricDistortion(**kwargs)
    fast_jitter = FastPhotoMetricDistortion(**kwargs)
    for seed in range(80):  # every branch: 4 coin flips and the mode
        h, w = (int(s) for s in rng.integers(8, 64, 2))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if seed % 5 == 0:  # a view, not contiguous (flipped)
            img = img[:, ::-1]
        outs = []
        for jitter in (mmseg_jitter, fast_jitter):
            np.random.seed(seed)
            out = jitter(dict(img=img.copy() if seed % 5 else img))
            outs.append((out['img'], np.random.randint(1 << 30)))
        assert outs[1][0].dtype == np.uint8
        assert np.array_equal(outs[0][0], outs[1][0]), seed
        assert outs[0][1] == outs[1][1]  # the same draws


def test_look_up_matches_indexing_for_any_layout():
    rng = np.random.default_rng(1)
    table = rng.integers(0, 256, 256, dtype=np.uint8)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    for view in (img, img[:, :, 1], img[:, ::-1], img[:, :, 0].copy()):
        assert np.array_equal(look_up(view, table), table[view])
        assert look_up(view, table).shape == view.shape


def test_float_images_keep_mmseg_arithmetic():
    img = np.random.default_rng(2).uniform(0, 255, (6, 6, 3)).astype(
        np.float32)
    outs = []
    for jitter in (PhotoMetricDistortion(), FastPhotoMetricDistortion()):
        np.random.seed(3)
        outs.append(jitter(dict(img=img.copy()))['img'])
    assert np.array_equal(outs[0], outs[1])
