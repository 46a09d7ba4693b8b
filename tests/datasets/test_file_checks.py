"""PetsDataset's pre-flight file check: each bad file is named with a fix;
grayscale and RGBA photos are converted, not rejected."""
import shutil

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

from custom_modules.datasets import DatasetError, PetsDataset, file_checks


@pytest.fixture
def root(tiny_pets, tmp_path):
    copy = tmp_path / 'ds'
    shutil.copytree(tiny_pets, copy)
    return copy


def _dataset(root, split='val', **kw):
    return PetsDataset(data_root=str(root), split=split, pipeline=[], **kw)


def _error(root, split='val'):
    with pytest.raises(DatasetError) as err:
        _dataset(root, split)
    return str(err.value)


def test_truncated_jpeg_is_named(root):
    path = root / 'img/val/val_001.jpg'
    data = path.read_bytes()
    # (some OpenCV/libjpeg builds decode this to a grey-filled picture)
    path.write_bytes(data[:len(data) // 2])
    message = _error(root)
    assert message.startswith(f'{path}: image file is truncated')
    assert 'copy it again or remove it' in message


def test_unreadable_image_and_mask_are_named(root):
    (root / 'img/val/val_000.jpg').write_bytes(b'not a picture')
    assert _error(root).startswith(
        f'{root}/img/val/val_000.jpg: not a readable image')
    shutil.copy(root / 'img/val/val_001.jpg', root / 'img/val/val_000.jpg')
    (root / 'labels/val/val_000.png').write_bytes(b'\x89PNG\r\n\x1a\nIEND')
    assert _error(root).startswith(
        f'{root}/labels/val/val_000.png: not a readable mask')


def test_mask_values_outside_classes_and_ignore(root):
    mask_path = root / 'labels/val/val_002.png'
    mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
    mask[0, :3] = (3, 7, 255)  # 255 (ignore) is fine
    cv2.imwrite(str(mask_path), mask)
    message = _error(root)
    assert message.startswith(f'{mask_path}: mask values [3, 7] are not '
                              'class indices or ignore (0, 1, 2, 255)')


def test_image_and_mask_of_different_sizes(root):
    mask_path = root / 'labels/val/val_003.png'
    cv2.imwrite(str(mask_path), np.zeros((60, 64), np.uint8))
    assert _error(root).startswith(
        f'{mask_path}: mask is 64x60 but its image '
        f'{root}/img/val/val_003.jpg is 64x64 (WxH)')


def test_colour_mask_is_refused(root):
    mask_path = root / 'labels/val/val_000.png'
    cv2.imwrite(str(mask_path), np.zeros((64, 64, 3), np.uint8))
    assert 'mask has 3 channels' in _error(root)


def test_several_bad_files_point_to_check_dataset(root):
    for stem in ('val_000', 'val_001'):
        (root / f'img/val/{stem}.jpg').write_bytes(b'broken')
    message = _error(root)
    assert 'val_000.jpg' in message and '(and 1 more;' in message
    assert f'tools/check_dataset.py {root} --labels-dir labels' in message


def test_check_can_be_turned_off(root):
    (root / 'img/val/val_000.jpg').write_bytes(b'broken')
    assert len(_dataset(root, check_files=False)) == 4


def test_unchanged_pairs_are_checked_once(root, monkeypatch):
    _dataset(root)
    calls = []
    original = file_checks.check_pair
    monkeypatch.setattr(file_checks, 'check_pair',
                        lambda *a: calls.append(a[0]) or original(*a))
    _dataset(root)
    assert calls == []  # cached by path, size and mtime
    (root / 'img/val/val_000.jpg').write_bytes(b'broken')
    with pytest.raises(DatasetError):
        _dataset(root)
    assert calls == [f'{root}/img/val/val_000.jpg']


def test_truncation_detection():
    ok, jpeg = cv2.imencode('.jpg', np.full((16, 16, 3), 99, np.uint8))
    ok, png = cv2.imencode('.png', np.zeros((16, 16), np.uint8))
    jpeg, png = jpeg.tobytes(), png.tobytes()
    assert not file_checks.truncated(jpeg)
    assert not file_checks.truncated(jpeg + b'trailing bytes')
    assert file_checks.truncated(jpeg[:-2])
    assert not file_checks.truncated(png)
    assert file_checks.truncated(png[:-12])
    assert not file_checks.truncated(b'BM other format')


def test_grayscale_and_rgba_images_are_converted(root):
    """A grayscale JPEG and an RGBA PNG stored as .jpg load as 3-channel
    images through the configs' train and test pipelines."""
    gray = cv2.imread(str(root / 'img/val/val_000.jpg'), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(root / 'img/val/val_000.jpg'), gray)
    rgba = cv2.cvtColor(cv2.imread(str(root / 'img/val/val_001.jpg')),
                        cv2.COLOR_BGR2BGRA)
    rgba[..., 3] = 128
    ok, png = cv2.imencode('.png', rgba)
    (root / 'img/val/val_001.jpg').write_bytes(png.tobytes())
    assert cv2.imread(str(root / 'img/val/val_001.jpg'),
                      cv2.IMREAD_UNCHANGED).shape == (64, 64, 4)

    ds = _dataset(root)  # accepted by the check
    cfg = Config.fromfile('configs/_base_/datasets/pets.py')
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        transform = Compose(pipeline)
        for i in (0, 1):
            inputs = transform(ds.get_data_info(i))['inputs']
            assert inputs.ndim == 3 and inputs.shape[0] == 3
    out = Compose(cfg.test_pipeline)(ds.get_data_info(0))
    img = out['inputs'].numpy()
    # grayscale: the three channels are equal
    assert np.array_equal(img[0], img[1]) and np.array_equal(img[1], img[2])
