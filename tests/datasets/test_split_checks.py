"""PetsDataset's checks over a whole split (issue 28): every bad file is
counted (whatever mix of kinds) and a few are named; a split whose masks
are all ignore (255) is refused, and masks that are all ignore in a split
with labels are one warning."""
import warnings

import cv2
import numpy as np
import pytest

from custom_modules.datasets import DatasetError, PetsDataset


@pytest.fixture
def root(tmp_path):
    from conftest import make_pets_dataset
    return make_pets_dataset(tmp_path / 'ds', {'train': 12, 'val': 4},
                             size=32)


def _dataset(root, split='train', **kw):
    return PetsDataset(data_root=str(root), split=split, pipeline=[], **kw)


def _error(root, split='train'):
    with pytest.raises(DatasetError) as err:
        _dataset(root, split)
    return str(err.value)


def test_nine_bad_files_of_mixed_kinds_are_counted_and_named(root):
    """One photo without a mask, one mask without a photo and seven masks
    with bad values: the first is named, the other eight counted (was
    "and 1 more": only the unmatched files were counted)."""
    (root / 'labels/train/train_000.png').unlink()
    (root / 'img/train/train_001.jpg').unlink()
    for i in range(2, 9):
        cv2.imwrite(str(root / f'labels/train/train_{i:03d}.png'),
                    np.full((32, 32), 7, np.uint8))
    message = _error(root)
    assert message.startswith(f'{root}/img/train/train_000.jpg: image has '
                              'no mask train_000.png')
    assert ' (and 8 more; `python tools/check_dataset.py ' in message
    assert message.endswith('lists them all: train_001.png, train_002.png, '
                            'train_003.png, ...)')


def test_nine_bad_masks_are_counted(root):
    for i in range(9):
        cv2.imwrite(str(root / f'labels/train/train_{i:03d}.png'),
                    np.full((32, 32), 7, np.uint8))
    message = _error(root)
    assert 'train_000.png: mask values [7]' in message
    assert '(and 8 more; ' in message and 'train_003.png, ...)' in message


def _all_ignore(root, split, stems):
    for stem in stems:
        cv2.imwrite(str(root / f'labels/{split}/{stem}.png'),
                    np.full((32, 32), 255, np.uint8))


def test_a_split_without_any_labelled_pixel_is_refused(root):
    _all_ignore(root, 'train', [f'train_{i:03d}' for i in range(12)])
    message = _error(root)
    assert message == (
        f'{root}/labels/train: all 12 masks of this split are 255 (ignore) '
        'everywhere, so there is nothing to learn or score (the loss would '
        'be 0); fix the masks (0 background, 1 cat, 2 dog) or pass the mask '
        'folder with --labels')


def test_some_all_ignore_masks_are_one_warning(root):
    _all_ignore(root, 'train', ['train_003', 'train_007'])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert len(_dataset(root)) == 12  # training can go on
    messages = [str(w.message) for w in caught
                if 'no labelled pixel' in str(w.message)]
    assert messages == [
        f'{root}/labels/train: 2 of 12 masks have no labelled pixel (255, '
        'ignore, everywhere) and add nothing to training or scores: '
        'train_003.png, train_007.png; fix them or remove the pairs']


def test_labelled_splits_give_no_warning(root):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        _dataset(root)
        _dataset(root, 'val')
    assert not [w for w in caught if 'labelled' in str(w.message)]


def test_the_label_check_is_off_with_the_file_check(root):
    _all_ignore(root, 'val', [f'val_{i:03d}' for i in range(4)])
    assert len(_dataset(root, 'val', check_files=False)) == 4
    assert 'all 4 masks of this split' in _error(root, 'val')
