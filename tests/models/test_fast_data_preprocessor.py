"""FastSegDataPreProcessor: mmseg's SegDataPreProcessor's batches, bit for
bit."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.structures import SegDataSample

from custom_modules.models import FastSegDataPreProcessor

MEAN_STD = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def batch(shapes, seed=0, channels=3):
    """Fresh uint8 images and int64 maps of the given (H, W) shapes."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for h, w in shapes:
        inputs.append(torch.randint(0, 256, (channels, h, w),
                                    dtype=torch.uint8, generator=g))
        sample = SegDataSample(metainfo=dict(img_path=f'{h}x{w}.jpg'))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 3, (1, h, w), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def both(data_shapes, training=True, **kwargs):
    """(mmseg's output, the fast one's) for two copies of one batch."""
    mmseg = SegDataPreProcessor(**kwargs)(batch(data_shapes), training)
    fast = FastSegDataPreProcessor(**kwargs)(batch(data_shapes), training)
    return mmseg, fast


SETTINGS = [
    dict(size=(64, 64), bgr_to_rgb=True, **MEAN_STD),
    dict(size=(64, 64), bgr_to_rgb=False, pad_val=1.5, seg_pad_val=7,
         **MEAN_STD),
    dict(size_divisor=16, bgr_to_rgb=True, **MEAN_STD),
    dict(size=(64, 64)),  # no normalization: float of the uint8 values
]


@pytest.mark.parametrize('settings', SETTINGS)
@pytest.mark.parametrize('shapes', [
    [(64, 64)] * 4,  # a batch of full crops: one stack
    [(64, 64), (40, 64), (64, 33), (17, 20)],  # smaller images padded
])
def test_training_batches_are_mmsegs_bit_for_bit(settings, shapes):
    mmseg, fast = both(shapes, **settings)
    assert fast['inputs'].dtype == torch.float32
    assert fast['inputs'].shape == mmseg['inputs'].shape
    assert torch.equal(fast['inputs'], mmseg['inputs'])
    for a, b in zip(mmseg['data_samples'], fast['data_samples']):
        assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)
        for key in ('img_shape', 'pad_shape', 'padding_size', 'img_path'):
            assert a.metainfo[key] == b.metainfo[key], key


def test_padding_is_the_pad_value_after_normalization():
    _, fast = both([(64, 64), (40, 50)], size=(64, 64), pad_val=0,
                   **MEAN_STD)
    padded = fast['inputs'][1]
    assert (padded[:, 40:] == 0).all() and (padded[:, :, 50:] == 0).all()
    assert (padded[:, :40, :50] != 0).any()


def test_inference_batches_are_mmsegs():
    mmseg, fast = both([(48, 48)] * 2, training=False, size=(64, 64),
                       **MEAN_STD)
    assert torch.equal(fast['inputs'], mmseg['inputs'])


def test_a_one_channel_batch_is_not_channel_swapped():
    kwargs = dict(size=(32, 32), bgr_to_rgb=True)
    mmseg = SegDataPreProcessor(**kwargs)(batch([(32, 32)] * 2, channels=1),
                                          True)
    fast = FastSegDataPreProcessor(**kwargs)(
        batch([(32, 32)] * 2, channels=1), True)
    assert torch.equal(fast['inputs'], mmseg['inputs'])
