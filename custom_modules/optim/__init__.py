from .autocast_optim_wrapper import (AutocastOptimWrapper, autocast_dtype,
                                     native_autocast)

__all__ = ['AutocastOptimWrapper', 'autocast_dtype', 'native_autocast']
