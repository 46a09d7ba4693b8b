from .learning_curves import CurvesHook, TrainMetricsHook
from .run_guards import InterruptHook, NonFiniteLossHook
from .test_outputs_hook import TestOutputsHook
from .val_loss_loop import ValLossLoop

__all__ = ['TestOutputsHook', 'TrainMetricsHook', 'CurvesHook', 'ValLossLoop',
           'InterruptHook', 'NonFiniteLossHook']
