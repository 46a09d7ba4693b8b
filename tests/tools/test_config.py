"""Config loading, typo-checked overrides, the pretrained switch; every config builds."""

import pytest
import torch
from mmengine.config import Config

from custom_modules.tools.config import (load_config, set_data,
                                            set_pretrained, use_clearml)
from custom_modules.common.errors import UserError
from helpers import SHIPPED_CONFIGS  # noqa: E402

CONFIGS = SHIPPED_CONFIGS


def test_missing_config_names_the_path():
    with pytest.raises(UserError, match='configs/pets/nope.py: config not '
                       'found'):
        load_config('configs/pets/nope.py')


@pytest.mark.parametrize('key,hint', [
    ('train_cfg.max_iter', "did you mean 'max_iters'"),
    ('model.decode_head.num_clases', "did you mean 'num_classes'"),
    ('train_dataloader.batchsize', "did you mean 'batch_size'"),
    ('model.decode_head.loss_decode.dice_weigth', "did you mean 'dice_weight'"),
    # one level down in a class that forwards **kwargs (CheckpointHook
    # passes them to save_checkpoint, which would fail at the first save)
    ('default_hooks.checkpoint.intervall', "did you mean 'interval'"),
    # the early-stopping hook forwards **kwargs to mmengine's
    ('default_hooks.early_stopping.patiense', "did you mean 'patience'"),
    # the old top-level switch names its new place
    ('early_stopping.enable',
     "no key 'early_stopping'; use default_hooks.early_stopping.enable"),
])
def test_cfg_option_typos_are_refused_with_a_suggestion(key, hint):
    with pytest.raises(UserError, match=hint):
        load_config('configs/pets/resnet_unet.py', {key: 1})


def test_new_module_arguments_and_existing_keys_are_accepted():
    cfg = load_config('configs/pets/resnet_unet.py', {
        'train_cfg.max_iters': 7,
        'model.decode_head.loss_decode.class_weight': [1.0, 2.0, 3.0],
        'work_dir': '/tmp/x'})
    assert cfg.train_cfg.max_iters == 7
    assert cfg.model.decode_head.loss_decode.class_weight == [1.0, 2.0, 3.0]


def test_nested_arguments_the_class_accepts_are_accepted():
    """The mmseg way to point a split at a folder: data_prefix is an
    argument of the dataset class though the config does not spell it out."""
    cfg = load_config('configs/pets/resnet_unet.py', {
        'test_dataloader.dataset.data_prefix.img_path': 'img/test',
        'default_hooks.checkpoint.out_dir': '/tmp/ckpts'})
    assert cfg.test_dataloader.dataset.data_prefix == dict(img_path='img/test')
    assert cfg.default_hooks.checkpoint.out_dir == '/tmp/ckpts'
    with pytest.raises(UserError, match="PetsDataset has no argument "
                       "'data_prefx'; did you mean 'data_prefix'"):
        load_config('configs/pets/resnet_unet.py',
                    {'test_dataloader.dataset.data_prefx.img_path': 'x'})


def test_data_pretrained_and_clearml_switches(tmp_path):
    cfg = load_config('configs/pets/deeplabv3plus.py')
    set_data(cfg, '/data/x', 'labels_fixed')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == '/data/x'
        assert cfg[key].dataset.labels == 'labels_fixed'
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    set_pretrained(cfg, 'none')
    assert cfg.model.pretrained is None and cfg.model.backbone.init_cfg is None
    weights = tmp_path / 'w.pth'
    weights.write_bytes(b'')
    set_pretrained(cfg, str(weights))
    assert cfg.model.backbone.init_cfg.checkpoint == str(weights)
    with pytest.raises(UserError, match='--pretrained file not found'):
        set_pretrained(cfg, str(tmp_path / 'missing.pth'))
    use_clearml(cfg, True, task_name='run1', tags=['a'])
    clearml = [b for b in cfg.visualizer.vis_backends
               if b['type'] == 'PetsClearMLVisBackend']
    assert clearml[0]['task_name'] == 'run1' and clearml[0]['tags'] == ['a']
    use_clearml(cfg, False)
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend']


@pytest.mark.parametrize('path', CONFIGS)
def test_every_config_builds_and_predicts_three_classes(path):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(path)
    assert cfg.model.decode_head.num_classes == 3
    assert cfg.default_hooks.checkpoint.save_best == 'mJaccard'
    assert 'SyncBN' not in cfg.pretty_text
    set_pretrained(cfg, 'none')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        logits = model.encode_decode(torch.randn(1, 3, 64, 64),
                                     [dict(img_shape=(64, 64))])
    assert logits.shape == (1, 3, 64, 64)


def test_fetch_pretrained_without_network_trains_from_scratch(monkeypatch):
    import urllib.error
    from mmengine.runner.checkpoint import CheckpointLoader

    from custom_modules.tools.config import (fetch_pretrained,
                                                pretrained_source)
    asked = []

    def offline(source, map_location=None):
        asked.append(source)
        raise urllib.error.URLError('Name or service not known')
    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', offline)
    cfg = load_config('configs/pets/resnet_unet.py')
    assert pretrained_source(cfg) == 'torchvision://resnet34'
    fetch_pretrained(cfg)
    assert asked == ['torchvision://resnet34']
    assert pretrained_source(cfg) is None  # from scratch now
    deeplab = load_config('configs/pets/deeplabv3plus.py')
    fetch_pretrained(deeplab)
    assert asked[-1] == 'open-mmlab://resnet50_v1c'
    assert pretrained_source(deeplab) is None


def test_fetch_pretrained_keeps_weights_it_could_load(monkeypatch):
    from mmengine.runner.checkpoint import CheckpointLoader

    from custom_modules.tools.config import (fetch_pretrained,
                                                pretrained_source)
    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint',
                        lambda source, map_location=None: {})
    cfg = load_config('configs/pets/resnet_unet.py')
    fetch_pretrained(cfg)
    assert pretrained_source(cfg) == 'torchvision://resnet34'


@pytest.mark.parametrize('item,message', [
    ('train_cfg.max_iters', 'give KEY=VALUE'),
    ("custom_hooks=[dict(type='ChannelsLastHook')]", 'write a child config'),
])
def test_unparseable_cfg_options_are_one_line_errors(item, message):
    from custom_modules.tools.config import parse_cfg_options
    with pytest.raises(UserError, match=message):
        parse_cfg_options([item])


def test_cfg_option_of_the_wrong_type_is_refused_before_the_run(tmp_path):
    from custom_modules.tools import train
    work = tmp_path / 'run'
    with pytest.raises(UserError, match=r'max_iters=abc: expects a number '
                       r'\(now 4000\)'):
        train.main(['configs/pets/resnet_unet.py', '--work-dir', str(work),
                    '--cfg-options', 'train_cfg.max_iters=abc'])
    assert not work.exists()
    with pytest.raises(UserError, match='expects True or False'):
        load_config('configs/pets/resnet_unet.py',
                    {'default_hooks.early_stopping.enable': 'yes'})
