"""class_ids: the ids torch.argmax gives, ties and memory formats included."""
import torch

from custom_modules.common.class_ids import class_ids


def test_same_ids_as_argmax_on_nchw_and_channels_last_logits():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3, 32, 32, generator=gen)
    logits[:, :, :4] = 1.0  # ties everywhere in the top rows: first class
    expected = logits.argmax(1)
    assert torch.equal(class_ids(logits, dim=1), expected)
    last = logits.contiguous(memory_format=torch.channels_last)
    assert torch.equal(class_ids(last, dim=1), expected)
    assert (expected[:, :4] == 0).all()
    assert torch.equal(class_ids(logits[0], dim=0), expected[0])


def test_nan_wins_as_with_argmax():
    scores = torch.tensor([[0.1, float('nan'), 0.5], [0.9, 0.2, 0.3]])
    assert torch.equal(class_ids(scores, dim=1), scores.argmax(1))
    assert class_ids(scores, dim=1).tolist() == [1, 0]
