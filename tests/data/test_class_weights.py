"""custom_modules.data.class_weights: formulas checked by hand."""
import json

import numpy as np
import pytest

from custom_modules.data.class_weights import (class_weights, compute_weights,
                                               count_pixels)
from custom_modules.common.errors import DataError
from custom_modules.data.masks import write_mask


@pytest.fixture
def masks(tmp_path):
    """Two 10x10 masks: a = 80 bg + 20 cat; b = 50 bg + 40 dog + 10 ignore."""
    a = np.zeros((10, 10), np.uint8)
    a[:2] = 1
    b = np.zeros((10, 10), np.uint8)
    b[:4] = 2
    b[9] = 255
    write_mask(tmp_path / 'm' / 'a.png', a)
    write_mask(tmp_path / 'm' / 'sub' / 'b.png', b)
    return tmp_path / 'm'


def test_counts(masks):
    pixels, present = count_pixels(sorted(masks.rglob('*.png')))
    assert pixels.tolist() == [130, 20, 40]
    assert present.tolist() == [190, 100, 90]   # b has 90 labelled pixels


def test_formulas(masks):
    r = class_weights(masks)
    freq = np.array([130 / 190, 20 / 100, 40 / 90])
    np.testing.assert_allclose(r['frequency'], freq)
    np.testing.assert_allclose(r['median'], np.median(freq) / freq)
    inv = 190 / (3 * np.array([130, 20, 40]))
    np.testing.assert_allclose(r['inverse'], inv)
    np.testing.assert_allclose(r['inverse_normalised'], inv / inv.mean())
    assert np.mean(r['inverse_normalised']) == pytest.approx(1)
    assert r['median'][2] == pytest.approx(1)  # dog holds the median
    w = np.median(freq) / freq
    assert r['cfg_options'] == (
        '--cfg-options model.decode_head.loss_decode.class_weight='
        f'"[{w[0]:.4f}, {w[1]:.4f}, {w[2]:.4f}]"')
    inverse = class_weights(masks, method='inverse')['cfg_options']
    assert inverse.endswith(f'"[{inv[0] / inv.mean():.4f}, '
                            f'{inv[1] / inv.mean():.4f}, '
                            f'{inv[2] / inv.mean():.4f}]"')
    json.dumps(r)


def test_dataset_root_uses_split(make_dataset):
    root = make_dataset()
    r = class_weights(root, split='train')
    assert r['masks'] == 2
    with pytest.raises(DataError, match='class dog has no pixels'):
        class_weights(root, split='val')


def test_errors(tmp_path):
    with pytest.raises(DataError, match='no \\*.png masks found'):
        class_weights(tmp_path)
    with pytest.raises(DataError, match='unknown method'):
        class_weights(tmp_path, method='log')
    write_mask(tmp_path / 'x.png', np.full((2, 2), 5, np.uint8))
    with pytest.raises(DataError, match='x.png: value 5 is not a class'):
        class_weights(tmp_path)
    with pytest.raises(DataError):
        compute_weights(np.array([1, 0, 1]), np.array([1, 1, 1]))
