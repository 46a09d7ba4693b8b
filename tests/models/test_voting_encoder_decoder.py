"""Foreground vote: one pet class per image or per blob."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import custom_modules.plugins  # noqa: F401  (compat + registration)
from helpers import tiny_segmentor
from custom_modules.models import FlipTTA, vote_foreground


def _probs(labels, confidence=0.8, num_classes=3):
    """(C, H, W) probabilities whose argmax is ``labels``."""
    labels = torch.as_tensor(labels)
    rest = (1 - confidence) / (num_classes - 1)
    probs = torch.full((num_classes, *labels.shape), rest)
    probs.scatter_(0, labels[None], confidence)
    return probs


def test_image_vote_gives_all_foreground_the_majority_pet():
    labels = torch.zeros(6, 6, dtype=torch.long)
    labels[0:2, 0:2] = 1          # 4 cat pixels, one blob
    labels[4:6, 3:6] = 2          # 6 dog pixels, another blob
    out = vote_foreground(_probs(labels), mode='image')
    assert (out[labels == 0] == 0).all()
    assert (out[labels > 0] == 2).all()


def test_vote_weighs_probability_mass_not_pixel_count():
    labels = torch.zeros(4, 4, dtype=torch.long)
    labels[0, :3] = 1             # 3 cat pixels, barely cat
    labels[1, 0] = 2              # 1 dog pixel, very sure
    probs = _probs(labels)
    probs[:, labels == 1] = torch.tensor([0.1, 0.46, 0.44])[:, None]
    probs[:, 1, 0] = torch.tensor([0.0, 0.0, 1.0])
    # mass: cat 3 * 0.46 + 0.0 = 1.38; dog 3 * 0.44 + 1.0 = 2.32
    assert (vote_foreground(probs)[labels > 0] == 2).all()


def test_component_vote_keeps_separate_animals_apart():
    labels = torch.zeros(8, 8, dtype=torch.long)
    labels[0:3, 0:3] = 1
    labels[1, 1] = 2              # a dog pixel inside the cat
    labels[5:8, 5:8] = 2
    out = vote_foreground(_probs(labels), mode='component')
    assert (out[0:3, 0:3] == 1).all()
    assert (out[5:8, 5:8] == 2).all()
    # the image vote would make everything dog (10 dog vs 8 cat pixels)
    assert (vote_foreground(_probs(labels))[labels > 0] == 2).all()


def test_no_foreground_and_bad_mode():
    labels = torch.zeros(3, 3, dtype=torch.long)
    assert torch.equal(vote_foreground(_probs(labels)), labels)
    with pytest.raises(ValueError, match='vote mode'):
        vote_foreground(_probs(labels), mode='blob')


SIZE = 32


def _segmentor(fg_vote):
    return tiny_segmentor(
        SIZE, dict(type='VotingEncoderDecoder', fg_vote=fg_vote),
        decoder_channels=(16, 16, 8),
        loss_decode=dict(type='CEDiceLoss')).eval()


def _sample():
    s = SegDataSample(metainfo=dict(
        img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE), padding_size=[0, 0, 0, 0], img_path='0.jpg'))
    s.gt_sem_seg = PixelData(data=torch.zeros(1, SIZE, SIZE).long())
    return s


def _mixed_logits():
    """(1, 3, SIZE, SIZE): 16 rows barely cat, then 8 rows surely dog."""
    logits = torch.zeros(1, 3, SIZE, SIZE)
    logits[0, 1, 4:20] = 2.0      # p(cat) 0.49, p(dog) 0.44
    logits[0, 2, 4:20] = 1.9
    logits[0, 2, 20:28] = 5.0     # p(dog) 0.99
    return logits


@pytest.mark.parametrize('tta', [False, True])
def test_segmentor_votes_and_keeps_logits(tta, monkeypatch):
    """Same logits through a plain and a voting segmentor (and FlipTTA)."""
    plain, voting = _segmentor(None), _segmentor(dict(mode='image'))
    for model in (plain, voting):  # the network's output, flip-symmetric
        monkeypatch.setattr(model, 'inference',
                            lambda x, metas: _mixed_logits().expand(
                                x.shape[0], -1, -1, -1))
    models = [FlipTTA(m).eval() if tta else m for m in (plain, voting)]
    inputs = torch.zeros(1, 3, SIZE, SIZE)
    with torch.no_grad():
        a, b = (m.predict(inputs, [_sample()])[0] for m in models)
    assert torch.allclose(a.seg_logits.data, b.seg_logits.data)
    plain_pred, voted = a.pred_sem_seg.data[0], b.pred_sem_seg.data[0]
    assert set(plain_pred.unique().tolist()) == {0, 1, 2}
    assert (voted[4:28] == 2).all()  # dog mass 480 > cat mass 253
    assert torch.equal(voted[:4], plain_pred[:4])  # background untouched


def test_bad_mode_in_config_is_named():
    with pytest.raises(ValueError, match='model.fg_vote.mode'):
        _segmentor(dict(mode='pixels'))


def test_real_masks_never_hold_cat_and_dog(real_pets_root):
    """The premise of the image vote, on every real train and val mask."""
    both = []
    for split in ('train', 'val'):
        for path in sorted((real_pets_root / 'labels' / split).glob('*.png')):
            values = np.unique(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
            if {1, 2} <= set(values.tolist()):
                both.append(path.name)
    assert both == []


# --- class ids from class-innermost logits (a fast CPU argmax) --------------


def _plain_segmentor():
    """mmseg's own EncoderDecoder (its postprocess_result as shipped)."""
    return tiny_segmentor(SIZE, decoder_channels=(16, 16, 8),
                          loss_decode=dict(type='CEDiceLoss')).eval()


def _samples_of(shapes, padding):
    samples = []
    for shape in shapes:
        sample = SegDataSample()
        sample.set_metainfo(dict(ori_shape=shape, img_shape=(SIZE, SIZE),
                                 padding_size=padding))
        samples.append(sample)
    return samples


def _tied_logits():
    """(2, 3, SIZE, SIZE) small integers: many ties between classes; one
    NaN (which argmax counts as the largest)."""
    logits = torch.randint(0, 3, (2, 3, SIZE, SIZE),
                           generator=torch.Generator().manual_seed(0)).float()
    logits[0, 1, 2, 3] = float('nan')
    return logits


CASES = [(((SIZE, SIZE), (SIZE, SIZE)), [0, 0, 0, 0]),   # as they are
         (((40, 36), (20, 22)), [0, 2, 1, 0])]           # cropped, resized


def _assert_same_ids_class_innermost(mine, theirs):
    for a, b in zip(mine, theirs):
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
        assert torch.allclose(a.seg_logits.data, b.seg_logits.data,
                              equal_nan=True)
        assert a.seg_logits.data.stride()[0] == 1  # class axis innermost
        assert b.seg_logits.data.stride()[0] != 1  # mmseg's: outermost


@pytest.mark.parametrize('shapes,padding', CASES)
def test_postprocess_gives_mmsegs_ids_from_class_innermost_logits(
        shapes, padding):
    """VotingEncoderDecoder (no vote): the ids and logits of mmseg's own
    postprocess_result (ties, NaN, padding removed, resized), its CPU
    logits handed over with the class axis innermost."""
    from mmseg.models.segmentors.base import BaseSegmentor
    ours, plain = _segmentor(None), _plain_segmentor()
    assert type(plain).postprocess_result is BaseSegmentor.postprocess_result
    logits = _tied_logits()
    mine = ours.postprocess_result(logits.clone(), _samples_of(shapes,
                                                               padding))
    theirs = plain.postprocess_result(logits.clone(),
                                      _samples_of(shapes, padding))
    _assert_same_ids_class_innermost(mine, theirs)
    if shapes[0] == (SIZE, SIZE):
        assert mine[0].pred_sem_seg.data[0, 2, 3] == 1  # NaN: the largest


def test_the_vote_also_gets_class_innermost_logits():
    voting = _segmentor(dict(mode='image'))
    out = voting.postprocess_result(_mixed_logits(), [_sample()])
    assert out[0].seg_logits.data.stride()[0] == 1
    assert (out[0].pred_sem_seg.data[0, 4:28] == 2).all()


@pytest.mark.parametrize('shapes,padding', CASES)
def test_flip_tta_hands_a_plain_segmentor_class_innermost_logits(
        shapes, padding, monkeypatch):
    """FlipTTA around mmseg's own EncoderDecoder: the ids mmseg's
    postprocess_result takes from the same log-probabilities."""
    plain = _plain_segmentor()
    logits = _tied_logits()
    monkeypatch.setattr(plain, 'inference', lambda x, metas: logits[
        :x.shape[0]])
    tta = FlipTTA(plain).eval()
    inputs = torch.zeros(2, 3, SIZE, SIZE)
    with torch.no_grad():
        mine = tta.predict(inputs, _samples_of(shapes, padding))
        log_probs = tta.flip_probs(inputs, [{}] * 2).clamp_min(1e-12).log()
    theirs = plain.postprocess_result(log_probs, _samples_of(shapes,
                                                             padding))
    _assert_same_ids_class_innermost(mine, theirs)


def test_ensembles_hand_the_segmentor_class_innermost_logits():
    from custom_modules.tools.ensemble import to_predictions
    plain = _plain_segmentor()
    probs = _tied_logits().nan_to_num(0.5).softmax(1)
    shapes, padding = CASES[1]
    mine = to_predictions(plain, probs, _samples_of(shapes, padding))
    theirs = plain.postprocess_result(probs.clamp_min(1e-12).log(),
                                      _samples_of(shapes, padding))
    _assert_same_ids_class_innermost(mine, theirs)


def test_class_axis_innermost_leaves_other_tensors_alone():
    from custom_modules.models.voting_encoder_decoder import \
        class_axis_innermost
    nchw = torch.randn(2, 3, 4, 5)
    moved = class_axis_innermost(nchw)
    assert moved.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(moved, nchw)
    flat = torch.randn(3, 4, 5)
    assert class_axis_innermost(flat) is flat
