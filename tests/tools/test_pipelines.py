"""Tools that rearrange a config's pipeline also know the cached loaders
(``configs/pets/cpu_fast.py``): overfit mode, prediction, the run summary."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose

from custom_modules.datasets import cached_loading
from custom_modules.tools import predict, train
from custom_modules.tools.config import load_config
from custom_modules.visualization.hyperparameters import run_hyperparameters
from custom_modules.tools.inference import init_scope

CPU_FAST = 'configs/pets/cpu_fast.py'


@pytest.fixture()
def photo(tmp_path):
    """A 256x256 photo and its mask: a cat in the left half."""
    img = np.full((256, 256, 3), 120, np.uint8)
    mask = np.zeros((256, 256), np.uint8)
    mask[:, :128] = 1
    cv2.imwrite(str(tmp_path / 'a.jpg'), img)
    cv2.imwrite(str(tmp_path / 'a.png'), mask)
    cached_loading.clear_cache()
    yield tmp_path
    cached_loading.clear_cache()


def test_overfit_pipeline_resizes_cached_masks_with_the_image(photo):
    cfg = load_config(CPU_FAST)
    init_scope(cfg)
    steps = train.overfit_pipeline(cfg.val_dataloader.dataset.pipeline)
    assert [t['type'] for t in steps] == [
        'CachedLoadImageFromFile', 'CachedLoadAnnotations', 'Resize',
        'FastPackSegInputs']
    out = Compose(steps)(dict(
        img_path=str(photo / 'a.jpg'), seg_map_path=str(photo / 'a.png'),
        reduce_zero_label=False, seg_fields=[]))
    size = cfg.model.data_preprocessor.size[0]  # 256 photos shrunk to it
    assert size < 256
    assert out['inputs'].shape == (3, size, size)
    mask = out['data_samples'].gt_sem_seg.data[0].numpy()
    assert mask.shape == (size, size)
    half = size // 2
    assert (mask[:, :half] == 1).all() and (mask[:, half:] == 0).all()


def test_inference_pipeline_reads_no_mask(photo):
    cfg = load_config(CPU_FAST)
    init_scope(cfg)
    out = predict.inference_pipeline(cfg)(dict(img_path=str(photo / 'a.jpg')))
    size = cfg.model.data_preprocessor.size[0]
    assert out['inputs'].shape == (3, size, size)
    assert 'gt_sem_seg' not in out['data_samples']


def test_run_summary_lists_augmentations_not_loaders():
    summary = run_hyperparameters(load_config(CPU_FAST))
    assert summary['data.augmentations'] == (
        'RandomResize, FastRandomCrop, RandomFlip, FastPhotoMetricDistortion')
