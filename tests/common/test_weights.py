"""Strict weight loading with a readable mismatch report."""
import pytest
import torch
import torch.nn as nn

from custom_modules.models import FlipTTA
from custom_modules.common.weights import (CheckpointMismatchError,
                                                 load_weights)


class Net(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.body = nn.Conv2d(3, 4, 1)
        self.conv_seg = nn.Conv2d(4, classes, 1)


def test_loads_matching_weights_even_through_flip_tta(tmp_path):
    src = Net()
    path = tmp_path / 'ok.pth'
    torch.save({'state_dict': {f'module.{k}': v for k, v in
                               src.state_dict().items()}, 'meta': {}}, path)
    dst = FlipTTA(module=Net())
    load_weights(dst, str(path))
    torch.testing.assert_close(dst.module.conv_seg.weight, src.conv_seg.weight)


def test_mismatch_names_tensors_and_shapes(tmp_path):
    path = tmp_path / 'nineteen.pth'
    state = Net(classes=19).state_dict()
    state['extra.weight'] = torch.zeros(1)
    torch.save({'state_dict': state}, path)
    model = Net()
    before = model.body.weight.clone()
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(model, str(path))
    msg = str(err.value)
    assert str(path) in msg
    assert 'conv_seg.weight (19, 4, 1, 1) vs (3, 4, 1, 1)' in msg
    assert '1 unexpected: extra.weight' in msg
    torch.testing.assert_close(model.body.weight, before)  # nothing loaded
