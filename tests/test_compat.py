"""custom_modules.compat: mmcv.ops stand-ins, safe loading, torchvision://,
and the entry point that applies them (version checks, idempotence)."""
import importlib.util
import os
import pickle
import sys

import pytest
import torch

import custom_modules.plugins  # noqa: F401  (compat + registration)
from custom_modules import compat


def test_mmseg_models_import_with_mmcv_lite():
    import mmseg.models  # noqa: F401 - failed with 'No module named mmcv._ext'
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if importlib.util.find_spec('mmcv._ext') is None:
        assert isinstance(sys.modules['mmcv.ops'], compat.mmcv_ops._OpsStandIn)


@pytest.mark.skipif(importlib.util.find_spec('mmcv._ext') is not None,
                    reason='full mmcv build: nothing is replaced')
def test_missing_op_raises_module_not_found_naming_it():
    import mmcv.ops
    with pytest.raises(ModuleNotFoundError, match='mmcv.ops.PSAMask'):
        mmcv.ops.PSAMask
    with pytest.raises(ModuleNotFoundError):
        from mmcv.ops import CrissCrossAttention  # noqa: F401
    with pytest.raises(AttributeError):
        mmcv.ops.__wrapped__
    assert mmcv.ops.point_sample is compat.point_sample


def test_point_sample_matches_bilinear_interpolation():
    feats = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    # centre of pixel (row 1, col 2) with align_corners=False
    points = torch.tensor([[[(2 + 0.5) / 5, (1 + 0.5) / 4]]]).repeat(2, 1, 1)
    out = compat.point_sample(feats, points)
    assert out.shape == (2, 3, 1)
    torch.testing.assert_close(out[..., 0], feats[:, :, 1, 2])
    # halfway between columns 2 and 3 -> mean of both
    points = torch.tensor([[[3.0 / 5, 1.5 / 4]]]).repeat(2, 1, 1)
    expected = (feats[:, :, 1, 2] + feats[:, :, 1, 3]) / 2
    torch.testing.assert_close(compat.point_sample(feats, points)[..., 0],
                               expected)


def _textbook_focal(logits, target, gamma, alpha, weight=None):
    n, c = logits.shape
    out = torch.zeros(n, c, dtype=torch.float64)
    for i in range(n):
        for j in range(c):
            p = 1 / (1 + torch.exp(-logits[i, j].double()))
            if target[i] == j:
                v = -alpha * (1 - p) ** gamma * torch.log(p)
            else:
                v = -(1 - alpha) * p ** gamma * torch.log(1 - p)
            if weight is not None and target[i] < c:
                v = v * weight[target[i]]
            out[i, j] = v
    return out


@pytest.mark.parametrize('gamma,alpha', [(2.0, 0.25), (0.0, 0.5), (1.5, 0.9)])
def test_sigmoid_focal_loss_matches_textbook_formula(gamma, alpha):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 4, generator=g) * 3
    target = torch.tensor([0, 1, 2, 3, 4, 1, 0])  # 4 == no class
    weight = torch.tensor([0.5, 1.0, 2.0, 3.0])
    expected = _textbook_focal(logits, target, gamma, alpha, weight)
    got = compat.sigmoid_focal_loss(logits, target, gamma, alpha, weight,
                                    'none')
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-6)
    mean = compat.sigmoid_focal_loss(logits, target, gamma, alpha, None)
    torch.testing.assert_close(
        mean.double(), _textbook_focal(logits, target, gamma, alpha).sum() / 7,
        rtol=1e-5, atol=1e-6)


def test_sigmoid_focal_loss_has_gradient():
    logits = torch.randn(5, 3, requires_grad=True)
    compat.sigmoid_focal_loss(logits, torch.tensor([0, 1, 2, 0, 3])).backward()
    assert logits.grad.abs().sum() > 0


def _mmengine_checkpoint(tmp_path):
    """A checkpoint as mmengine's Runner writes it (HistoryBuffer, numpy)."""
    import numpy as np
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import save_checkpoint
    hub = MessageHub.get_instance('compat_test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('best_score', np.float64(61.5))
    model = torch.nn.Linear(3, 2)
    path = tmp_path / 'ckpt.pth'
    save_checkpoint({'state_dict': model.state_dict(),
                     'message_hub': hub.state_dict(),
                     'meta': {'iter': 4, 'eta': np.float64(1.5),
                              'arr': np.arange(3)}}, str(path))
    return path, model


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path, model = _mmengine_checkpoint(tmp_path)
    with pytest.raises(pickle.UnpicklingError):  # plain torch refuses it...
        with torch.serialization.safe_globals([]):
            torch.serialization.clear_safe_globals()
            try:
                torch.load(path, weights_only=True)
            finally:
                torch.serialization.add_safe_globals(
                    compat.CHECKPOINT_SAFE_GLOBALS)
    ckpt = _load_checkpoint(str(path))  # ...through mmengine it loads
    torch.testing.assert_close(ckpt['state_dict']['weight'], model.weight)
    assert ckpt['meta']['iter'] == 4
    assert float(ckpt['message_hub']['runtime_info']['best_score']) == 61.5
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert buf.current() == 0.5


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_crafted_pickle_that_runs_code_is_refused(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _RunsCode(marker)}, path)
    with pytest.raises(compat.UnsafeCheckpointError) as err:
        _load_checkpoint(str(path))
    assert not marker.exists()
    assert str(path) in str(err.value) and 'system' in str(err.value)


def test_getattr_in_checkpoint_is_limited_to_history_buffer(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    class _GetsAttr:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))
    path = tmp_path / 'evil_getattr.pth'
    torch.save({'x': _GetsAttr()}, path)
    with pytest.raises(compat.UnsafeCheckpointError):
        compat.load_checkpoint_file(str(path))


def test_torchvision_scheme_resolves_without_torchvision(tmp_path,
                                                          monkeypatch):
    """torchvision://resnet18 -> mmengine's URL table -> $TORCH_HOME cache."""
    from mmengine.runner.checkpoint import CheckpointLoader
    url = compat.torchvision_model_urls()['resnet18']
    cache = tmp_path / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    weights = {'conv1.weight': torch.full((64, 3, 7, 7), 0.25)}
    torch.save(weights, cache / url.rsplit('/', 1)[1])
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    loaded = CheckpointLoader.load_checkpoint('torchvision://resnet18')
    torch.testing.assert_close(loaded['conv1.weight'], weights['conv1.weight'])
    with pytest.raises(KeyError, match='unknown torchvision model'):
        CheckpointLoader.load_checkpoint('torchvision://resnet19')


def _one_cycle(total=10):
    """The one-cycle scheduler as a config builds it (mmseg scope)."""
    from mmseg.registry import PARAM_SCHEDULERS
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    return optimizer, PARAM_SCHEDULERS.build(dict(
        type='OneCycleLR', optimizer=optimizer, eta_max=0.1,
        total_steps=total, by_epoch=False))


def test_one_cycle_is_the_projects_subclass_and_mmengines_is_untouched():
    from mmengine.optim.scheduler import OneCycleLR as MMEngineOneCycleLR

    from custom_modules.optim import OneCycleLR
    _, sched = _one_cycle()
    assert type(sched) is OneCycleLR
    assert MMEngineOneCycleLR.state_dict is not OneCycleLR.state_dict
    assert 'state_dict' not in vars(MMEngineOneCycleLR)  # not patched


def test_one_cycle_scheduler_state_loads_with_weights_only(tmp_path):
    """Its state used to hold a bound method, pickling the scheduler."""
    from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint
    optimizer, sched = _one_cycle()
    for _ in range(4):
        optimizer.step()
        sched.step()
    path = tmp_path / 'one_cycle.pth'
    save_checkpoint({'param_schedulers': [sched.state_dict()]}, str(path))
    state = _load_checkpoint(str(path))['param_schedulers'][0]
    assert 'anneal_func' not in state
    # resuming continues the same schedule
    optimizer2, resumed = _one_cycle()
    resumed.load_state_dict(state)
    sched.step()
    resumed.step()
    assert optimizer2.param_groups[0]['lr'] == pytest.approx(
        optimizer.param_groups[0]['lr'])
    # an old state that still holds the method is accepted, the method not
    old = dict(state, anneal_func='stale')
    resumed.load_state_dict(old)
    assert callable(resumed.anneal_func)


def test_apply_installed_every_patch_this_stack_needs():
    """On the pinned stack (mmcv-lite, no torchvision) every patch applies."""
    status = compat.apply()
    assert set(status) == {p.name for p in compat.PATCHES}
    expected_aside = set()
    if importlib.util.find_spec('mmcv._ext') is not None:
        expected_aside.add('mmcv_ops')
    if importlib.util.find_spec('torchvision') is not None:
        expected_aside.add('torchvision_scheme')
    aside = {k for k, v in status.items() if v.startswith('stepped aside')}
    assert aside == expected_aside, status


def test_apply_is_idempotent_and_installs_wrap_once():
    """A second apply(), and a second install of each patch, wraps nothing
    twice: the objects mmengine sees stay the same."""
    from mmengine.dist import utils
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim.scheduler.param_scheduler import \
        OneCycleParamScheduler as OneCycle
    from mmengine.runner.checkpoint import CheckpointLoader
    from mmseg.models.segmentors.base import BaseSegmentor
    before = (utils._init_dist_pytorch, MMDistributedDataParallel.__init__,
              OneCycle.state_dict, CheckpointLoader._schemes[''],
              sys.modules['mmcv.ops'], BaseSegmentor.postprocess_result)
    status = dict(compat.apply())
    assert compat.apply() == status
    for patch in compat.PATCHES:
        if status[patch.name] == 'applied':
            patch.install()
    after = (utils._init_dist_pytorch, MMDistributedDataParallel.__init__,
             OneCycle.state_dict, CheckpointLoader._schemes[''],
             sys.modules['mmcv.ops'], BaseSegmentor.postprocess_result)
    assert after == before


def test_mmcv_ops_steps_aside_with_a_full_mmcv_build(monkeypatch):
    real = importlib.util.find_spec

    def with_ext(name, *args):
        if name == 'mmcv._ext':
            return real('mmcv')  # any spec: "the compiled ops exist"
        return real(name, *args)
    monkeypatch.setattr(importlib.util, 'find_spec', with_ext)
    assert 'full mmcv build' in compat.mmcv_ops.needed()


def test_a_patch_written_for_another_version_steps_aside_and_says_so(
        monkeypatch):
    calls = []
    patch = compat.Patch('probe', ('mmengine', '0.9.'),
                         lambda: calls.append('installed'))
    monkeypatch.setattr(compat, 'PATCHES', (patch,))
    monkeypatch.setattr(compat, 'STATUS', {})
    with pytest.warns(UserWarning, match=r'probe written for mmengine 0\.9\.x'
                      r', found 0\.10\.\d+; not applied'):
        status = compat.apply()
    assert calls == []
    assert status['probe'].startswith('stepped aside: written for mmengine')


def test_importing_the_package_or_its_data_tools_patches_nothing(tmp_path):
    """Only the entry point (custom_modules.plugins) applies compat."""
    import subprocess
    code = ('import sys, custom_modules, custom_modules.data.masks, '
            'custom_modules.data.check; '
            'print(sorted(m for m in ("torch", "mmengine", "mmseg", '
            '"custom_modules.compat") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(
                             __import__('pathlib').Path(__file__)
                             .resolve().parents[1])))
    assert out.stdout.strip() == '[]'


def _segmentor_and_samples(ori_shapes, padding):
    from mmseg.models import EncoderDecoder
    from mmseg.structures import SegDataSample
    model = EncoderDecoder(
        backbone=dict(type='UNet', in_channels=3, base_channels=4,
                      num_stages=2, strides=(1, 1), enc_num_convs=(1, 1),
                      dec_num_convs=(1,), downsamples=(True,),
                      enc_dilations=(1, 1), dec_dilations=(1,)),
        decode_head=dict(type='FCNHead', in_channels=4, channels=4,
                         num_convs=0, concat_input=False, num_classes=3,
                         in_index=-1))
    samples = []
    for shape in ori_shapes:
        sample = SegDataSample()
        sample.set_metainfo(dict(ori_shape=shape, img_shape=(8, 8),
                                 padding_size=padding))
        samples.append(sample)
    return model, samples


def test_postprocess_gives_mmseg_ids_from_innermost_class_logits():
    """fast_class_ids: the same ids and logits as mmseg's own method (ties,
    NaN, padding removed, resized), with the class axis innermost in the
    stored logits, which is what makes the CPU argmax fast."""
    from mmseg.models.segmentors.base import BaseSegmentor
    patched = BaseSegmentor.postprocess_result
    assert patched.class_axis_innermost
    original = patched.__wrapped__
    # small integers: many ties between classes; one NaN
    logits = torch.randint(0, 3, (2, 3, 8, 8),
                           generator=torch.Generator().manual_seed(0)).float()
    logits[0, 1, 2, 3] = float('nan')
    for shapes, padding in ((((8, 8), (8, 8)), [0, 0, 0, 0]),
                            (((12, 10), (5, 6)), [0, 2, 1, 0])):
        model, mine = _segmentor_and_samples(shapes, padding)
        _, theirs = _segmentor_and_samples(shapes, padding)
        mine = model.postprocess_result(logits.clone(), mine)
        theirs = original(model, logits.clone(), theirs)
        for a, b in zip(mine, theirs):
            assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
            assert torch.allclose(a.seg_logits.data, b.seg_logits.data,
                                  equal_nan=True)
            assert a.seg_logits.data.stride()[0] == 1  # class innermost
    assert mine[0].pred_sem_seg.data[0, 2, 3] == 1  # NaN counts as largest


def test_class_axis_innermost_leaves_other_tensors_alone():
    from custom_modules.compat.postprocess import class_axis_innermost
    nchw = torch.randn(2, 3, 4, 5)
    moved = class_axis_innermost(nchw)
    assert moved.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(moved, nchw)
    flat = torch.randn(3, 4, 5)
    assert class_axis_innermost(flat) is flat
