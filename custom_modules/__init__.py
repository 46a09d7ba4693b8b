"""Registered modules of the pets config zoo.

Configs load this package with
``custom_imports = dict(imports=['custom_modules'], allow_failed_imports=False)``.
Importing it first applies :mod:`custom_modules.compat` (mmcv-lite,
torch >= 2.6 and CPU fixes) and :mod:`custom_modules.robustness` (atomic
checkpoints, signal-safe data-loader workers), then registers the dataset,
metric, loss, models, hooks and the optimizer wrapper in mmseg's registries.
"""
from . import compat, robustness

compat.apply()
robustness.apply()

from .datasets import PetsDataset  # noqa: E402
from .evaluation import JaccardMetric  # noqa: E402
from .hooks import (CurvesHook, TestOutputsHook, TrainMetricsHook,  # noqa: E402
                    ValLossLoop)
from .losses import CEDiceLoss  # noqa: E402
from .models import (EfficientNetLite, FlipTTA, ResNetUNetHead,  # noqa: E402
                     UNetHead, VotingEncoderDecoder)
from .optim import AutocastOptimWrapper  # noqa: E402
from .visualization import PetsClearMLVisBackend  # noqa: E402

__all__ = ['PetsDataset', 'JaccardMetric', 'CEDiceLoss', 'FlipTTA',
           'ResNetUNetHead', 'UNetHead', 'EfficientNetLite',
           'VotingEncoderDecoder', 'PetsClearMLVisBackend',
           'TestOutputsHook', 'TrainMetricsHook', 'CurvesHook', 'ValLossLoop',
           'AutocastOptimWrapper']
