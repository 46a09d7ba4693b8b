"""custom_modules.data.pairs: one-pixel-wide photos and masks (issue 28).

mmseg's ``LoadAnnotations`` squeezes the decoded mask, so a mask with a
side of one pixel loses that axis and every pipeline of the configs fails
on it (``The dim of value must be 2 or 3``); 2x2 works. The pair is
refused with one line that says so, in the pre-flight check and in
``tools/check_dataset.py``; a 100x1 mask is a single-channel mask.
"""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from custom_modules.data.check import check_dataset
from custom_modules.data.pairs import inspect_pair

VALID = (0, 1, 2, 255)
TOOLS = Path(__file__).resolve().parents[2] / 'tools'


def _pair(tmp_path, h, w, stem='p'):
    img, mask = tmp_path / f'{stem}.jpg', tmp_path / f'{stem}.png'
    cv2.imwrite(str(img), np.full((h, w, 3), 128, np.uint8))
    cv2.imwrite(str(mask), np.ones((h, w), np.uint8))
    return str(img), str(mask)


@pytest.mark.parametrize('h,w', [(1, 1), (100, 1), (1, 100)])
def test_a_one_pixel_side_is_refused_with_its_size(tmp_path, h, w):
    img, mask = _pair(tmp_path, h, w)
    problem, decoded = inspect_pair(img, mask, VALID)
    assert problem is not None and problem.kind == 'too_small'
    assert problem.path == mask
    assert problem.message == (
        f'{mask}: mask and image are {w}x{h} pixels (WxH); the training '
        'pipeline needs at least 2x2; remove the pair or export it larger')
    assert 'channels' not in problem.message
    assert decoded.shape == (h, w)


def test_two_pixels_are_enough(tmp_path):
    img, mask = _pair(tmp_path, 2, 2)
    assert inspect_pair(img, mask, VALID)[0] is None


def test_a_colour_mask_still_names_its_channels(tmp_path):
    img, _ = _pair(tmp_path, 100, 1)
    rgb = tmp_path / 'rgb.png'
    cv2.imwrite(str(rgb), np.zeros((100, 1, 3), np.uint8))
    problem, _ = inspect_pair(img, str(rgb), VALID)
    assert 'mask has 3 channels' in problem.message


def test_check_dataset_lists_the_tiny_pair_and_the_rest(tmp_path, synth):
    root = tmp_path / 'ds'
    synth.write_pair(root, 'val', 'good', synth.disk_mask())
    synth.write_pair(root, 'val', 'dot', np.ones((1, 1), np.uint8))
    synth.write_pair(root, 'val', 'line', np.ones((100, 1), np.uint8))
    result = check_dataset(root)
    kinds = {e.path.rsplit('/', 1)[-1]: e.kind for e in result.errors}
    assert kinds == {'dot.png': 'too_small', 'line.png': 'too_small'}
    assert [r.stem for r in result.records] == ['good']


def test_check_dataset_tool_lists_a_one_pixel_pair(tmp_path, synth):
    root = tmp_path / 'ds'
    synth.write_pair(root, 'train', 'good', synth.disk_mask())
    synth.write_pair(root, 'val', 'dot', np.ones((1, 1), np.uint8))
    proc = subprocess.run(
        [sys.executable, str(TOOLS / 'check_dataset.py'), str(root)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr + proc.stdout
    assert 'dot.png' in proc.stdout + proc.stderr
    assert 'needs at least 2x2' in proc.stdout + proc.stderr
