"""FlipTTA: averaged softmax of image and mirror, one batched forward."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import custom_modules.plugins  # noqa: F401  (compat + registration)
from custom_modules.models import FlipTTA

SIZE = 32


def _segmentor():
    torch.manual_seed(0)
    return MODELS.build(ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size=(SIZE, SIZE)),
        backbone=dict(type='ResNet', depth=18, init_cfg=None),
        decode_head=dict(type='ResNetUNetHead', in_channels=(64, 128, 256, 512),
                         decoder_channels=(16, 16, 8, 8, 8), num_classes=3,
                         loss_decode=dict(type='CEDiceLoss')),
        test_cfg=dict(mode='whole'))).eval()


def _samples(n):
    out = []
    for i in range(n):
        s = SegDataSample(metainfo=dict(
            img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
            pad_shape=(SIZE, SIZE), padding_size=[0, 0, 0, 0],
            img_path=f'{i}.jpg'))
        s.gt_sem_seg = PixelData(data=torch.zeros(1, SIZE, SIZE).long())
        out.append(s)
    return out


def test_probabilities_are_the_flip_average_in_two_cpu_passes():
    seg = _segmentor()
    tta = FlipTTA(module=seg).eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    metas = [s.metainfo for s in _samples(2)]
    with torch.no_grad():
        plain = seg.inference(x, metas).softmax(1)
        mirror = seg.inference(x.flip(-1), metas).softmax(1).flip(-1)
        calls = []
        original = seg.inference
        seg.inference = lambda inp, m: calls.append(inp.shape[0]) or \
            original(inp, m)
        probs = tta.flip_probs(x, metas)
    assert calls == [2, 2]  # on the CPU: image batch, then mirror batch
    torch.testing.assert_close(probs, (plain + mirror) / 2)
    assert not torch.allclose(probs, plain)  # the mirror really counted
    torch.testing.assert_close(probs.sum(1), torch.ones(2, SIZE, SIZE))


def test_predict_keeps_log_probabilities_and_argmax():
    seg = _segmentor()
    tta = FlipTTA(module=seg).eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    samples = _samples(1)
    with torch.no_grad():
        probs = tta.flip_probs(x, [s.metainfo for s in samples])
        out = tta.predict(x, samples)[0]
    torch.testing.assert_close(out.seg_logits.data.softmax(0), probs[0])
    assert torch.equal(out.pred_sem_seg.data[0], probs[0].argmax(0))


def test_test_step_runs_preprocessing_and_rejects_training():
    tta = FlipTTA(module=_segmentor()).eval()
    data = dict(inputs=[torch.randint(0, 255, (3, SIZE, SIZE)).byte()],
                data_samples=_samples(1))
    with torch.no_grad():
        out = tta.test_step(data)
    assert out[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    with pytest.raises(ValueError, match='inference only'):
        tta(torch.zeros(1, 3, SIZE, SIZE), mode='loss')
