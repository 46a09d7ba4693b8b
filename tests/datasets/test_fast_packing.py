"""custom_modules.datasets.fast_packing: mmseg's packing, numpy's copy."""
import numpy as np
import pytest
from mmseg.datasets.transforms import PackSegInputs

from custom_modules.datasets.fast_packing import FastPackSegInputs


def _images():
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    return {'contiguous': hwc,
            'cropped view': np.pad(hwc, ((2, 2), (3, 3), (0, 0)))[2:-2, 3:-3],
            'flipped view': hwc[:, ::-1],
            'gray': hwc[..., 0].copy(),
            'float32': hwc.astype(np.float32) / 3}


@pytest.mark.parametrize('kind', list(_images()))
def test_same_inputs_and_samples_as_mmseg(kind):
    img = _images()[kind]
    mask = np.random.default_rng(1).integers(0, 3, img.shape[:2],
                                             dtype=np.uint8)
    results = dict(img=img, gt_seg_map=mask, img_path='a.jpg',
                   seg_map_path='a.png', ori_shape=img.shape[:2],
                   img_shape=img.shape[:2], pad_shape=img.shape[:2],
                   scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
                   reduce_zero_label=False)
    expected = PackSegInputs()(dict(results))
    got = FastPackSegInputs()(dict(results))
    assert got['inputs'].dtype == expected['inputs'].dtype
    assert got['inputs'].is_contiguous()
    assert got['inputs'].equal(expected['inputs'])
    assert got['data_samples'].gt_sem_seg.data.equal(
        expected['data_samples'].gt_sem_seg.data)
    assert got['data_samples'].metainfo == expected['data_samples'].metainfo
