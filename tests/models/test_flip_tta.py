"""FlipTTA: averaged softmax of image and mirror, one batched forward."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import custom_modules.plugins  # noqa: F401  (compat + registration)
from custom_modules.models import FlipTTA
from helpers import tiny_segmentor

SIZE = 32


def _segmentor():
    return tiny_segmentor(SIZE, decoder_channels=(16, 16, 8, 8, 8),
                          loss_decode=dict(type='CEDiceLoss')).eval()


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


def test_multi_scale_averages_the_flip_probabilities_of_each_scale():
    """scales=(1.0, 2.0): the mean of the flip average at the input size
    and at twice it (resized back by the head to the input's size)."""
    import torch.nn.functional as F
    seg = _segmentor()
    x = torch.randn(1, 3, SIZE, SIZE)
    metas = [s.metainfo for s in _samples(1)]
    with torch.no_grad():
        one = FlipTTA(module=seg).eval().flip_probs(x, metas)
        big = F.interpolate(x, size=(2 * SIZE, 2 * SIZE), mode='bilinear',
                            align_corners=False)
        at_two = FlipTTA(module=seg).eval().flip_probs(big, metas)
        both = FlipTTA(module=seg, scales=(1.0, 2.0)).eval().flip_probs(
            x, metas)
    assert both.shape == one.shape == at_two.shape == (1, 3, SIZE, SIZE)
    torch.testing.assert_close(both, (one + at_two) / 2)
    assert not torch.allclose(both, one)  # the second scale really counted


def test_scaled_sides_are_multiples_of_32():
    from custom_modules.models.flip_tta import scaled
    x = torch.zeros(1, 3, 256, 200)
    assert scaled(x, 1.0) is x
    assert scaled(x, 1.25).shape[-2:] == (320, 256)  # 250 -> 256
    assert scaled(x, 0.75).shape[-2:] == (192, 160)  # 150 -> 160
    assert scaled(torch.zeros(1, 3, 32, 32), 0.1).shape[-2:] == (32, 32)


def test_scales_must_be_positive():
    with pytest.raises(ValueError, match='positive'):
        FlipTTA(module=_segmentor(), scales=(1.0, 0.0))
    with pytest.raises(ValueError, match='positive'):
        FlipTTA(module=_segmentor(), scales=())


@pytest.mark.parametrize('mode, scales', [('flip', (1.0,)),
                                          ('ms', (0.75, 1.0, 1.25, 1.5))])
def test_wrap_tta_modes(mode, scales):
    from mmengine.config import Config
    from custom_modules.tools.inference import wrap_tta
    cfg = Config(dict(model=dict(type='EncoderDecoder'),
                      tta_model=dict(type='FlipTTA')))
    wrap_tta(cfg, mode)
    assert cfg.model.type == 'FlipTTA'
    assert tuple(cfg.model.scales) == scales
    assert cfg.model.module.type == 'EncoderDecoder'
    # a config's own scales are the ms set; flip stays one scale
    cfg = Config(dict(model=dict(type='EncoderDecoder'),
                      tta_model=dict(type='FlipTTA', scales=(1.0, 2.0))))
    wrap_tta(cfg, mode)
    assert tuple(cfg.model.scales) == ((1.0,) if mode == 'flip'
                                       else (1.0, 2.0))
    with pytest.raises(ValueError, match="'flip' or 'ms'"):
        wrap_tta(Config(dict(model=dict(type='EncoderDecoder'))), 'zoom')
