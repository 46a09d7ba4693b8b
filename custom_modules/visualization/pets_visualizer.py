"""The training/validation pictures that reach ClearML and vis_data/."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from ..data.class_schema import CLASSES as PETS_CLASSES
from ..common.overlay import comparison_picture


def _mask(sample: SegDataSample, key: str) -> Optional[np.ndarray]:
    """The (H, W) uint8 class-id map stored under ``key``, or None."""
    if sample is None or key not in sample:
        return None
    return sample.get(key).data[0].cpu().numpy().astype(np.uint8)


@VISUALIZERS.register_module()
class PetsVisualizer(SegLocalVisualizer):
    """:class:`SegLocalVisualizer` whose pictures say what they show.

    mmseg's ``SegVisualizationHook`` pictures are two unlabelled halves
    (ground truth | prediction, class names drawn on the blobs). Here each
    picture is the photo, the ground truth, the prediction and the errors,
    each panel titled, with the class legend below
    (:func:`custom_modules.common.overlay.comparison_picture`, the same
    picture as ``tools/test.py --show-dir``). Datasets with other classes
    than the pets' fall back to mmseg's drawing.

    ``image``: the RGB photo (H, W, 3) uint8; the masks in ``data_sample``
    must have the same H and W (mmseg's hook passes the original image and
    original-size masks).
    """

    @master_only
    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True, draw_pred: bool = True,
                       show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        gt = _mask(data_sample, 'gt_sem_seg') if draw_gt else None
        pred = _mask(data_sample, 'pred_sem_seg') if draw_pred else None
        classes = (self.dataset_meta or {}).get('classes')
        if pred is None or (classes and tuple(classes) != PETS_CLASSES):
            return super().add_datasample(
                name, image, data_sample, draw_gt, draw_pred, show,
                wait_time, out_file, step, with_labels)
        picture = comparison_picture(image, gt, pred, osp.basename(name))
        if show:
            self.show(picture, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(picture), out_file)
        else:
            self.add_image(name, picture, step)
