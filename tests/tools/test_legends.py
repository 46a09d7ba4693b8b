"""Every picture kind ends with one legend naming each class in its colour:
worst.png, the --show-dir panels (with and without ground truth) and the
tools/predict.py overlays."""
import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from custom_modules.datasets.pets import PETS_CLASSES, PETS_PALETTE
from custom_modules.hooks import TestOutputsHook as OutputsHook
from custom_modules.common import overlay, worst


def photo_and_masks(h=48, w=64):
    image = np.full((h, w, 3), 120, np.uint8)
    gt = np.zeros((h, w), np.uint8)
    gt[:, :w // 2] = 1
    pred = gt.copy()
    pred[:h // 2, w // 2:] = 2
    return image, gt, pred


def assert_legend(picture, errors, height):
    """``picture`` is ``height`` rows of tiles, then the legend whose
    entries name every class (and the errors' colours) in its colours."""
    entries = overlay.legend_entries(errors)
    strip = overlay.legend_strip(picture.shape[1], entries)
    assert picture.shape[0] == height + strip.shape[0]
    assert np.array_equal(picture[height:], strip)
    names = [name for name, _ in entries]
    assert [n.split(' ')[0] for n in names[:3]] == list(PETS_CLASSES)
    assert ('error' in names) == errors and ('ignored' in names) == errors
    for name, colour in entries:  # each swatch is drawn in its colour
        assert (strip == colour).all(-1).sum() >= 8 * 8, name
    assert [tuple(c) for _, c in entries[:3]] == \
        [tuple(c) for c in PETS_PALETTE]


def test_legend_wraps_to_the_picture_width():
    entries = overlay.legend_entries(errors=True)
    wide = overlay.legend_strip(600, entries)
    narrow = overlay.legend_strip(64, entries)
    assert wide.shape == (20, 600, 3)
    assert narrow.shape[0] > wide.shape[0] and narrow.shape[1] == 64


def test_worst_png_has_the_legend():
    image, gt, pred = photo_and_masks()
    grid = worst.worst_grid([(image, gt, pred, 'a #1 J=0.50'),
                             (image, gt, gt, 'b #2 J=1.00')])
    assert grid.shape[1] == 4 * 64
    assert_legend(grid, errors=True, height=2 * 48)


def test_show_dir_panels_have_the_legend(tmp_path):
    image, gt, pred = photo_and_masks()
    cv2.imwrite(str(tmp_path / 'a.jpg'), image)
    hook = OutputsHook(str(tmp_path / 'results.json'),
                           show_dir=str(tmp_path / 'show'))
    hook.before_test(None)
    with_gt, without_gt = SegDataSample(), SegDataSample()
    for sample, name in ((with_gt, 'a.jpg'), (without_gt, 'a.jpg')):
        sample.set_metainfo(dict(img_path=str(tmp_path / name)))
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    with_gt.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    hook.after_test_iter(None, 0, outputs=[with_gt])
    picture = overlay.read_rgb(str(tmp_path / 'show' / 'a.png'))
    assert picture.shape[1] == 4 * 64  # image | GT | prediction | errors
    assert_legend(picture, errors=True, height=48)
    hook.after_test_iter(None, 0, outputs=[without_gt])
    picture = overlay.read_rgb(str(tmp_path / 'show' / 'a.png'))
    assert picture.shape[1] == 64
    assert_legend(picture, errors=False, height=48)


def test_predict_overlay_has_the_legend():
    image, _, pred = photo_and_masks()
    picture = overlay.prediction_picture(image, pred)
    assert_legend(picture, errors=False, height=48)
    # the photo part is the titled overlay
    assert np.array_equal(picture[:48], overlay.label_tile(
        overlay.overlay(image, pred), 'prediction'))


def test_errors_panel_shows_the_photo_under_the_errors():
    image, gt, pred = photo_and_masks()
    errors = overlay.error_map(gt, pred, image)
    assert (errors[:24, 32:] == (255, 0, 0)).all()  # wrong: red
    assert (errors[24:, 32:] == int(120 * 0.35)).all()  # right: dark photo
