from .autocast_optim_wrapper import (AutocastOptimWrapper, autocast_dtype,
                                     native_autocast)
from .one_cycle_lr import OneCycleLR
from .precision import training_precision

__all__ = ['AutocastOptimWrapper', 'autocast_dtype', 'native_autocast',
           'training_precision', 'OneCycleLR']
