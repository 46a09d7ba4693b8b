"""The Fast* modules are implementations of their own, not mmseg's under
another name: each is a distinct registered subclass that overrides the
methods it speeds up, and those overrides are the code that runs. (Their
outputs are compared with mmseg's in the test file of each module.)"""
import numpy as np
import pytest
import torch
from mmseg.datasets.transforms import (PackSegInputs, PhotoMetricDistortion,
                                       RandomCrop)
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS, TRANSFORMS

import custom_modules.datasets.fast_photometric as fast_photometric
import custom_modules.datasets.fast_random_crop as fast_random_crop
from custom_modules.datasets import (FastPackSegInputs,
                                     FastPhotoMetricDistortion,
                                     FastRandomCrop)
from custom_modules.models import FastSegDataPreProcessor

VARIANTS = [
    (FastRandomCrop, RandomCrop, TRANSFORMS, ('crop_bbox',)),
    (FastPhotoMetricDistortion, PhotoMetricDistortion, TRANSFORMS,
     ('convert', 'hue')),
    (FastPackSegInputs, PackSegInputs, TRANSFORMS, ('transform',)),
    (FastSegDataPreProcessor, SegDataPreProcessor, MODELS, ('forward',)),
]


@pytest.mark.parametrize('fast,base,registry,methods', VARIANTS,
                         ids=[v[0].__name__ for v in VARIANTS])
def test_a_registered_subclass_that_overrides(fast, base, registry,
                                              methods):
    assert fast is not base and issubclass(fast, base)
    assert registry.get(fast.__name__) is fast
    for name in methods:
        assert name in vars(fast), f'{fast.__name__} does not override {name}'


def _results(size=32):
    rng = np.random.default_rng(0)
    return dict(img=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
                gt_seg_map=rng.integers(0, 3, (size, size), dtype=np.uint8),
                seg_fields=['gt_seg_map'], img_shape=(size, size),
                ori_shape=(size, size), img_path='x.jpg',
                seg_map_path='x.png', reduce_zero_label=False)


def test_the_photometric_look_up_is_what_runs(monkeypatch):
    calls = []
    real = fast_photometric.look_up
    monkeypatch.setattr(fast_photometric, 'look_up',
                        lambda *a: calls.append(1) or real(*a))
    np.random.seed(0)
    for _ in range(8):
        FastPhotoMetricDistortion().transform(_results())
    assert calls


def test_the_crop_counts_are_what_runs(monkeypatch):
    calls = []
    real = fast_random_crop.class_counts
    monkeypatch.setattr(fast_random_crop, 'class_counts',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    np.random.seed(0)
    FastRandomCrop(crop_size=(16, 16), cat_max_ratio=0.75).transform(
        _results())
    assert calls


def test_the_training_batch_is_built_by_the_fast_path(monkeypatch):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    calls = []
    real = FastSegDataPreProcessor._normalized_batch
    monkeypatch.setattr(FastSegDataPreProcessor, '_normalized_batch',
                        lambda self, *a, **k: calls.append(1) or
                        real(self, *a, **k))
    pre = FastSegDataPreProcessor(mean=[0, 0, 0], std=[1, 1, 1],
                                  size=(16, 16))
    sample = SegDataSample(gt_sem_seg=PixelData(
        data=torch.zeros(1, 16, 16, dtype=torch.uint8)))
    sample.set_metainfo(dict(img_shape=(16, 16), ori_shape=(16, 16)))
    pre(dict(inputs=[torch.zeros(3, 16, 16, dtype=torch.uint8)],
             data_samples=[sample]), training=True)
    assert calls
