"""The plug-in entry point: configs import it through
``custom_imports = dict(imports=['custom_modules.plugins'],
allow_failed_imports=False)`` (``configs/_base_/default_runtime.py``).

Importing it applies :mod:`custom_modules.compat` (version-checked fixes
for mmcv-lite, torch >= 2.6, CPU training, atomic checkpoints), then
registers the dataset, metric, loss, models, hooks, optimizer wrapper and
visualizer in mmseg's registries. Code that builds models or runners
outside a config (tests, notebooks) imports it first.
"""
from . import compat

compat.apply()

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
