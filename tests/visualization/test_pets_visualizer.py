"""The pictures sent to ClearML and vis_data/ during validation name their
panels and carry the class legend, like every other picture."""
import numpy as np
import torch
from mmengine.structures import PixelData
from mmengine.visualization import BaseVisBackend
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample

import custom_modules.plugins  # noqa: F401  (compat + registration)
from custom_modules.common import overlay


class CapturingBackend(BaseVisBackend):
    def __init__(self, save_dir=None):
        super().__init__(save_dir)
        self.images = {}

    @property
    def experiment(self):
        return self

    def _init_env(self):
        pass

    def add_image(self, name, image, step=0, **kwargs):
        self.images[name] = image


def sample(h=48, w=64, gt=True):
    s = SegDataSample()
    mask = torch.zeros(1, h, w, dtype=torch.int64)
    mask[:, :, :w // 2] = 1
    pred = mask.clone()
    pred[:, :h // 2, w // 2:] = 2
    if gt:
        s.gt_sem_seg = PixelData(data=mask)
    s.pred_sem_seg = PixelData(data=pred)
    return s


def build(classes=('background', 'cat', 'dog')):
    vis = VISUALIZERS.build(dict(type='PetsVisualizer',
                                 name=f'pets_vis_{len(classes)}_{id(classes)}'))
    backend = CapturingBackend()
    vis._vis_backends = {'capture': backend}
    vis.dataset_meta = dict(classes=classes,
                            palette=[[0, 0, 0], [255, 128, 0], [0, 128, 255],
                                     [9, 9, 9]][:len(classes)])
    return vis, backend


def test_validation_picture_has_titled_panels_and_the_legend():
    vis, backend = build()
    image = np.full((48, 64, 3), 120, np.uint8)
    vis.add_datasample('val_img/a.jpg', image, sample(), step=3)
    picture = backend.images['val_img/a.jpg']
    s = sample()
    expected = overlay.comparison_picture(
        image, s.gt_sem_seg.data[0].numpy().astype(np.uint8),
        s.pred_sem_seg.data[0].numpy().astype(np.uint8), 'a.jpg')
    assert np.array_equal(picture, expected)
    assert picture.shape[1] == 4 * 64  # photo | truth | prediction | errors
    strip = overlay.legend_strip(picture.shape[1],
                                 overlay.legend_entries(errors=True))
    assert np.array_equal(picture[48:], strip)


def test_without_ground_truth_no_errors_panel():
    vis, backend = build()
    image = np.full((48, 64, 3), 120, np.uint8)
    vis.add_datasample('b', image, sample(gt=False))
    picture = backend.images['b']
    assert picture.shape[1] == 2 * 64
    strip = overlay.legend_strip(picture.shape[1], overlay.legend_entries())
    assert np.array_equal(picture[48:], strip)


def test_other_classes_fall_back_to_mmseg_drawing():
    vis, backend = build(classes=('a', 'b', 'c', 'd'))
    image = np.full((48, 64, 3), 120, np.uint8)
    vis.add_datasample('c', image, sample())
    assert backend.images['c'].shape == (48, 2 * 64, 3)  # mmseg: gt | pred
