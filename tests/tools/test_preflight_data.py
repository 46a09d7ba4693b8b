"""Bad data through ``tools/train.py``'s pre-flight check (issue 28): a
one-pixel photo+mask in val, nine bad files, a train split whose masks are
all ignore. One line, exit 2, no work dir; or one warning where training
can go on."""
import shutil

import cv2
import numpy as np
import pytest
from helpers import TINY_RESNET18_UNET

from custom_modules.common.errors import run_cli
from custom_modules.tools import preflight, train
from custom_modules.tools.config import load_config, set_data

CONFIG = 'configs/pets/resnet18_unet.py'


@pytest.fixture
def pets(tiny_pets, tmp_path):
    root = tmp_path / 'pets'
    shutil.copytree(tiny_pets, root)
    return root


def _train(root, work, capsys):
    argv = [CONFIG, '--data-root', str(root), '--work-dir', str(work),
            '--pretrained', 'none', '--no-clearml',
            '--cfg-options', *TINY_RESNET18_UNET]
    with pytest.raises(SystemExit) as done:
        run_cli(train.main, argv)
    out = capsys.readouterr()
    assert 'Traceback' not in out.out + out.err
    errors = [line for line in out.err.splitlines()
              if line.startswith('error:')]
    return done.value.code, errors


def test_one_pixel_pair_in_val_is_one_line(pets, tmp_path, capsys):
    """Was an IndexError traceback from data/pairs.py."""
    cv2.imwrite(str(pets / 'img/val/dot.jpg'), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(pets / 'labels/val/dot.png'), np.ones((1, 1), np.uint8))
    work = tmp_path / 'work'
    code, errors = _train(pets, work, capsys)
    assert code == 2
    assert errors == [
        f'error: {pets}/labels/val/dot.png: mask and image are 1x1 pixels '
        '(WxH); the training pipeline needs at least 2x2; remove the pair or '
        'export it larger']
    assert not work.exists()


def test_nine_bad_files_are_counted(pets, tmp_path, capsys):
    (pets / 'labels/train/train_000.png').unlink()
    (pets / 'img/train/train_001.jpg').unlink()
    for i in range(2, 8):
        cv2.imwrite(str(pets / f'labels/train/train_{i:03d}.png'),
                    np.full((64, 64), 9, np.uint8))
    cv2.imwrite(str(pets / 'img/train/x.jpg'), np.zeros((1, 1, 3), np.uint8))
    cv2.imwrite(str(pets / 'labels/train/x.png'), np.ones((1, 1), np.uint8))
    work = tmp_path / 'work'
    code, errors = _train(pets, work, capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(f'error: {pets}/img/train/train_000.jpg: '
                                'image has no mask')
    assert '(and 8 more; ' in errors[0]
    assert 'train_001.png, train_002.png, train_003.png, ...)' in errors[0]
    assert not work.exists()


def test_train_split_all_ignore_is_refused(pets, tmp_path, capsys):
    """Was trained at loss 0.0000 with no warning."""
    for mask in (pets / 'labels/train').iterdir():
        cv2.imwrite(str(mask), np.full((64, 64), 255, np.uint8))
    work = tmp_path / 'work'
    code, errors = _train(pets, work, capsys)
    assert code == 2
    assert errors == [
        f'error: {pets}/labels/train: all 8 masks of this split are 255 '
        '(ignore) everywhere, so there is nothing to learn or score (the '
        'loss would be 0); fix the masks (0 background, 1 cat, 2 dog) or '
        'pass the mask folder with --labels']
    assert not work.exists()


def test_preflight_warns_once_about_all_ignore_masks(pets, tmp_path,
                                                     recwarn):
    cv2.imwrite(str(pets / 'labels/train/train_002.png'),
                np.full((64, 64), 255, np.uint8))
    cfg = load_config(CONFIG)
    set_data(cfg, str(pets))
    cfg.work_dir = str(tmp_path / 'work')
    preflight.preflight(cfg)
    found = [str(w.message) for w in recwarn
             if 'no labelled pixel' in str(w.message)]
    assert found == [f'{pets}/labels/train: 1 of 8 masks have no labelled '
                     'pixel (255, ignore, everywhere) and add nothing to '
                     'training or scores: train_002.png; fix them or remove '
                     'the pairs']
