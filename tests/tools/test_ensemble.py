"""Ensembles average softmax probabilities (not logits, not votes)."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from custom_modules.models import FlipTTA
from custom_modules.tools.ensemble import (average_probs, ensemble_probs,
                                              model_probs, to_predictions)


class FixedLogits(torch.nn.Module):
    """A stand-in segmentor whose ``inference`` returns given logits, the
    next ``len(inputs)`` rows each call (from the first again at the end)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits
        self.calls = []

    def inference(self, inputs, metas):
        start = sum(self.calls) % len(self.logits)
        self.calls.append(inputs.shape[0])
        return self.logits[start:start + inputs.shape[0]]


def probs_logits(p):
    """Logits whose softmax over dim 1 is ``p``: shape (1, C, 1, 1)."""
    return torch.tensor(p).log().view(1, -1, 1, 1)


def test_average_of_softmax_differs_from_votes_and_logit_mean():
    # one confident model for class 1, two lukewarm ones for class 2
    a = FixedLogits(probs_logits([0.05, 0.90, 0.05]))
    b = FixedLogits(probs_logits([0.15, 0.40, 0.45]))
    c = FixedLogits(probs_logits([0.15, 0.40, 0.45]))
    x = torch.zeros(1, 3, 1, 1)
    probs = ensemble_probs([a, b, c], x, [{}])
    expected = torch.tensor([0.35 / 3, 1.70 / 3, 0.95 / 3]).view(1, 3, 1, 1)
    torch.testing.assert_close(probs, expected)
    assert int(probs.argmax(1)) == 1              # probability average
    votes = [int(m.logits.argmax(1)) for m in (a, b, c)]
    assert max(set(votes), key=votes.count) == 2  # majority vote disagrees
    torch.testing.assert_close(probs.sum(1), torch.ones(1, 1, 1))


def test_average_probs_checks_its_input():
    p = torch.rand(2, 3, 4, 4).softmax(1)
    torch.testing.assert_close(average_probs([p]), p)
    torch.testing.assert_close(average_probs([p, 1 - p]),
                               torch.full_like(p, 0.5))
    with pytest.raises(ValueError):
        average_probs([])
    with pytest.raises(ValueError, match='shape'):
        average_probs([p, p[:, :, :2]])


def test_flip_tta_members_use_flip_probs():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 6)  # the image's, then its mirror's
    seg = FixedLogits(logits)
    tta = FlipTTA(module=seg)
    x = torch.zeros(1, 3, 4, 6)
    probs = model_probs(tta, x, [{}])
    soft = logits.softmax(1)
    torch.testing.assert_close(probs, (soft[:1] + soft[1:].flip(-1)) / 2)
    assert seg.calls == [1, 1]  # on the CPU: image, then mirror
    plain = model_probs(seg, x, [{}])
    torch.testing.assert_close(plain, soft[:1])


def test_to_predictions_argmax_of_the_averaged_probabilities():
    torch.manual_seed(0)
    seg = MODELS.build(ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1]),
        backbone=dict(type='ResNet', depth=18, init_cfg=None,
                      base_channels=8, stem_channels=8),
        decode_head=dict(type='ResNetUNetHead', in_channels=(8, 16, 32, 64),
                         decoder_channels=(8, 8, 8, 8, 8), num_classes=3,
                         loss_decode=dict(type='CEDiceLoss')),
        test_cfg=dict(mode='whole'))).eval()
    probs = torch.rand(2, 3, 8, 8).softmax(1)
    samples = []
    for i in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(8, 8), ori_shape=(8, 8),
                                        padding_size=[0, 0, 0, 0]))
        s.gt_sem_seg = PixelData(data=torch.zeros(1, 8, 8).long())
        samples.append(s)
    out = to_predictions(seg, probs, samples)
    for i, s in enumerate(out):
        assert torch.equal(s.pred_sem_seg.data[0], probs[i].argmax(0))
        torch.testing.assert_close(s.seg_logits.data.softmax(0), probs[i])
