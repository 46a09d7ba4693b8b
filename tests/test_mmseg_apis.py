"""mmseg's own inference API on every shipped config (issue 29).

``mmseg.apis.init_model`` + ``inference_model`` and ``MMSegInferencer`` find
the loading transforms of a config's test pipeline by their type names
(``LoadImageFromFile``, ``LoadAnnotations``): with a checkpoint saved by
``tools/train.py``, both must predict the masks ``tools/test.py --out``
writes for the same images (float32, as mmseg's API runs the model).
"""
import cv2
import mmcv
import numpy as np
import pytest

from helpers import FAST_ENV, REPO, run_tool

CONFIGS = sorted((REPO / 'configs' / 'pets').glob('*.py'))
LIGHT = [f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
         for key in ('num_workers=0', 'persistent_workers=False')] + [
    'train_dataloader.batch_size=2', 'default_hooks.visualization.draw=False']


def test_every_config_is_covered():
    assert {'cpu_fast.py', 'cpu_pretrained.py', 'resnet18_unet.py'} <= {
        c.name for c in CONFIGS}


@pytest.mark.parametrize('config', CONFIGS, ids=lambda c: c.stem)
def test_init_model_inference_model_and_inferencer_match_test_py(
        config, tiny_pets, tmp_path):
    work = tmp_path / 'work'
    run_tool('train.py', config, '--data-root', tiny_pets, '--work-dir', work,
             '--pretrained', 'none', '--no-clearml', '--max-iters', 1,
             '--cfg-options', *LIGHT, env=FAST_ENV)
    checkpoint = str(work / 'iter_1.pth')
    out = tmp_path / 'masks'
    run_tool('test.py', config, checkpoint, '--data-root', tiny_pets,
             '--work-dir', tmp_path / 'test', '--out', out, '--no-clearml',
             '--cfg-options', 'inference_precision=float32', *LIGHT,
             env=FAST_ENV)
    photos = sorted((tiny_pets / 'img' / 'val').glob('*.jpg'))
    expected = [cv2.imread(str(out / f'{p.stem}.png'), cv2.IMREAD_UNCHANGED)
                for p in photos]
    assert all(e is not None and e.shape == (64, 64) for e in expected)
    # the API on a cat photo and a dog photo (the first two)
    photos, expected = photos[:2], expected[:2]

    from mmseg.apis import MMSegInferencer, inference_model, init_model
    model = init_model(str(config), checkpoint, device='cpu')
    # files, then arrays (mmseg's first array call makes its model.cfg load
    # arrays from then on)
    for as_array in (False, True):
        for photo, mask in zip(photos, expected):
            image = mmcv.imread(str(photo)) if as_array else str(photo)
            result = inference_model(model, image)
            np.testing.assert_array_equal(
                result.pred_sem_seg.data[0].numpy(), mask, err_msg=photo.name)

    inferencer = MMSegInferencer(str(config), checkpoint, device='cpu')
    results = inferencer([str(p) for p in photos], return_datasamples=True)
    for photo, mask, result in zip(photos, expected, results):
        np.testing.assert_array_equal(
            result.pred_sem_seg.data[0].numpy(), mask, err_msg=photo.name)


@pytest.mark.parametrize('name', ['cpu_fast', 'cpu_pretrained'])
def test_cpu_recipes_validate_with_cached_loading_and_test_with_mmsegs(name):
    """The speed-up stays where files are read again and again (training,
    validation every val_interval); tests use mmseg's names."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs' / 'pets' / f'{name}.py'))

    def loaders(pipeline):
        return [t['type'] for t in pipeline if t['type'].startswith(
            ('Load', 'CachedLoad'))]
    cached = ['CachedLoadImageFromFile', 'CachedLoadAnnotations']
    assert loaders(cfg.train_dataloader.dataset.pipeline) == cached
    assert loaders(cfg.val_dataloader.dataset.pipeline) == cached
    for pipeline in (cfg.test_dataloader.dataset.pipeline, cfg.test_pipeline):
        assert loaders(pipeline) == ['LoadImageFromFile', 'LoadAnnotations']
    # the same steps otherwise
    strip = [{**t, 'type': t['type'].replace('Cached', '')}
             for t in cfg.val_dataloader.dataset.pipeline]
    assert strip == cfg.test_dataloader.dataset.pipeline
