from .test_outputs_hook import TestOutputsHook

__all__ = ['TestOutputsHook']
