"""custom_modules.compat: mmcv.ops stand-ins, safe loading, torchvision://,
and the entry point that applies them (version checks, idempotence)."""
import importlib.util
import os
import pickle
import re
import sys
from pathlib import Path

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
    from mmengine.optim.scheduler.param_scheduler import \
        OneCycleParamScheduler as OneCycle
    from mmengine.runner.checkpoint import CheckpointLoader
    before = (OneCycle.state_dict, CheckpointLoader._schemes[''],
              sys.modules['mmcv.ops'])
    status = dict(compat.apply())
    assert compat.apply() == status
    for patch in compat.PATCHES:
        if status[patch.name] == 'applied':
            patch.install()
    after = (OneCycle.state_dict, CheckpointLoader._schemes[''],
             sys.modules['mmcv.ops'])
    assert after == before


def test_what_has_a_public_way_is_not_patched():
    """Atomic writes, worker signals, CPU torchrun and fast class ids go
    through mmengine's extension points (a registered file backend and
    worker_init_fn, config keys, the project's own segmentor): mmengine's
    and mmseg's own code is what they ship."""
    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
    from mmengine.dist import utils
    from mmengine.fileio.backends import LocalBackend
    from mmengine.model import MMDistributedDataParallel
    from mmengine.runner import runner
    from mmseg.models.segmentors.base import BaseSegmentor
    compat.apply()
    assert set(compat.STATUS) == {p.name for p in compat.PATCHES} == {
        'known_warnings', 'mmcv_ops', 'safe_loading', 'torchvision_scheme',
        'pypi_scheme'}
    assert runner.default_worker_init_fn is mmengine_worker_init_fn
    for function in (utils._init_dist_pytorch, utils._init_dist_slurm,
                     utils._init_dist_mpi):
        assert function.__module__ == 'mmengine.dist.utils'
        assert not hasattr(function, '__wrapped__')
    assert MMDistributedDataParallel.__init__.__module__ == \
        'mmengine.model.wrappers.distributed'
    assert LocalBackend.put.__module__ == LocalBackend.put_text.__module__ \
        == 'mmengine.fileio.backends.local_backend'
    assert BaseSegmentor.postprocess_result.__module__ == \
        'mmseg.models.segmentors.base'
    assert torch.cuda.set_device.__module__ == 'torch.cuda'


def test_every_patch_says_why_no_public_way_does_it():
    """One line per patch, in PATCHES and in the module's table."""
    doc = compat.__doc__
    table = doc[doc.index('why a patch'):doc.index('What used to be')]
    for patch in compat.PATCHES:
        assert patch.why_a_patch.strip(), patch.name
        assert '\n' not in patch.why_a_patch
        assert f'``{patch.name}``' in table, patch.name
        assert patch.written_for[1].endswith('.')  # the version check


#: Outside ``custom_modules/compat/`` nothing assigns to, or deletes, an
#: attribute of a torch/mmengine/mmcv/mmseg/clearml module or class
#: (``X.attr = ...``, ``setattr(X, ...)``, ``sys.modules[...] = ...``):
#: the project subclasses and registers instead. Known exceptions, as
#: ``path: statement``; none today.
PATCH_EXCEPTIONS = frozenset()

_LIBRARIES = ('torch', 'mmengine', 'mmcv', 'mmseg', 'clearml')
#: The issue's line pattern: ``torch.x = ...``, ``SomeClass.x.y = ...``.
_PATCH_LINE = re.compile(
    r'^\s*(torch|mmengine|mmcv|mmseg|clearml|[A-Z]\w*)\.\w+(\.\w+)*\s*=[^=]')


def _library_names(tree) -> dict:
    """Names a module binds to something imported from the libraries."""
    import ast
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] in _LIBRARIES:
                    names[alias.asname or alias.name.split('.')[0]] = \
                        alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and \
                (node.module or '').split('.')[0] in _LIBRARIES:
            for alias in node.names:
                names[alias.asname or alias.name] = \
                    f'{node.module}.{alias.name}'
    return names


def _root_name(node):
    import ast
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _library_patches(path: Path, source: str) -> list:
    """``path: statement`` for each patch-like statement in ``source``."""
    import ast
    tree = ast.parse(source)
    names = _library_names(tree)
    found = [f'{path}: {line.strip()}' for line in source.splitlines()
             if _PATCH_LINE.match(line)]
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for item in getattr(target, 'elts', [target]):
                if isinstance(item, ast.Attribute) and \
                        _root_name(item) in names:
                    found.append(f'{path}: {ast.unparse(item)} = ...')
                elif isinstance(item, ast.Subscript) and \
                        ast.unparse(item.value) == 'sys.modules':
                    found.append(f'{path}: {ast.unparse(item)} = ...')
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ('setattr', 'delattr') and node.args \
                and _root_name(node.args[0]) in names:
            found.append(f'{path}: {ast.unparse(node)}')
    return sorted(set(found))


def test_the_scan_finds_a_patch_in_any_form(tmp_path):
    source = ('import torch\n'
              'from mmengine.runner import runner as r\n'
              'from mmseg.models import EncoderDecoder\n'
              'torch.cuda.set_device = print\n'
              'r.default_worker_init_fn = print\n'
              'setattr(EncoderDecoder, "predict", print)\n'
              'sys.modules["mmcv.ops"] = None\n'
              'self.model = None\n'  # an instance attribute: fine
              'x.y = 1\n')
    found = _library_patches(Path('probe.py'), source)
    assert any('torch.cuda.set_device' in f for f in found)
    assert any('r.default_worker_init_fn' in f for f in found)
    assert any('setattr(EncoderDecoder' in f for f in found)
    assert any("sys.modules['mmcv.ops']" in f for f in found)
    assert not any('self.model' in f or 'x.y' in f for f in found)


def test_nothing_outside_compat_patches_a_library():
    root = Path(__file__).resolve().parents[1]
    files = [p for folder in ('custom_modules', 'tools')
             for p in sorted((root / folder).rglob('*.py'))
             if 'compat' not in p.relative_to(root).parts]
    assert len(files) > 20
    found = []
    for path in files:
        found += _library_patches(path.relative_to(root),
                                  path.read_text(encoding='utf-8'))
    assert set(found) <= PATCH_EXCEPTIONS, '\n'.join(found)


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
    patch = compat.Patch('probe', ('mmengine', '0.9.'), 'a probe',
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
