"""Registered modules of the pets config zoo.

Configs load this package with
``custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)``.
Importing it first applies :mod:`custom_modules.compat` (mmcv-lite and
torch >= 2.6 fixes), then registers the dataset, metric, loss and models in
mmseg's registries.
"""
from . import compat

compat.apply()

from .datasets import PetsDataset  # noqa: E402
from .evaluation import JaccardMetric  # noqa: E402
from .hooks import TestOutputsHook  # noqa: E402
from .losses import CEDiceLoss  # noqa: E402
from .models import FlipTTA, ResNetUNetHead  # noqa: E402
from .visualization import PetsClearMLVisBackend  # noqa: E402

__all__ = ['PetsDataset', 'JaccardMetric', 'CEDiceLoss', 'FlipTTA',
           'ResNetUNetHead', 'PetsClearMLVisBackend', 'TestOutputsHook']
