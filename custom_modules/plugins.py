"""The plug-in entry point: configs import it through
``custom_imports = dict(imports=['custom_modules.plugins'],
allow_failed_imports=False)`` (``configs/_base_/default_runtime.py``).

Importing it applies :mod:`custom_modules.compat` (version-checked fixes
for mmcv-lite, torch >= 2.6 and offline weights), then registers the
dataset, metric, loss, models, hooks, optimizer wrapper and visualizer in
mmseg's registries, and in mmengine's: the file backend ``'atomic_local'``
(:class:`~custom_modules.compat.atomic_local_backend.AtomicLocalBackend`,
the checkpoint hook's ``backend_args``) and the data-loader function
``'signal_safe_worker_init_fn'`` (the dataloaders' ``worker_init_fn``,
:func:`custom_modules.compat.robustness.worker_init_fn`). Code that builds
models or runners outside a config (tests, notebooks) imports it first.
"""
from . import compat

compat.apply()  # first: mmcv.ops must exist before anything imports mmseg

from mmengine.registry import FUNCTIONS  # noqa: E402

from .compat.atomic_local_backend import AtomicLocalBackend  # noqa: E402
from .compat.robustness import WORKER_INIT_FN, worker_init_fn  # noqa: E402

from .datasets import PetsDataset  # noqa: E402
from .evaluation import JaccardMetric  # noqa: E402
from .hooks import (CurvesHook, TestOutputsHook, TrainMetricsHook,  # noqa: E402
                    ValLossLoop)
from .losses import CEDiceLoss  # noqa: E402
from .models import (EfficientNetLite, FlipTTA, ResNetUNetHead,  # noqa: E402
                     UNetHead, VotingEncoderDecoder)
from .optim import AutocastOptimWrapper  # noqa: E402
from .visualization import PetsClearMLVisBackend  # noqa: E402

# mmengine's Runner looks a dataloader's worker_init_fn up in its own
# (root) FUNCTIONS registry, not in mmseg's
FUNCTIONS.register_module(name=WORKER_INIT_FN, module=worker_init_fn)

__all__ = ['PetsDataset', 'JaccardMetric', 'CEDiceLoss', 'FlipTTA',
           'ResNetUNetHead', 'UNetHead', 'EfficientNetLite',
           'VotingEncoderDecoder', 'PetsClearMLVisBackend',
           'TestOutputsHook', 'TrainMetricsHook', 'CurvesHook', 'ValLossLoop',
           'AutocastOptimWrapper', 'AtomicLocalBackend', 'worker_init_fn']
