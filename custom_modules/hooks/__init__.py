from .channels_last import ChannelsLastHook, uses_channels_last
from .confusion_matrix_hook import ConfusionMatrixHook, split_confusion
from .early_stopping import OptionalEarlyStoppingHook
from .curves_hook import CurvesHook
from .progress_logger import ProgressLoggerHook
from .retain_freed_memory import RetainFreedMemoryHook
from .run_files_in_work_dir_hook import RunFilesInWorkDirHook
from .run_guards import InterruptHook, NonFiniteLossHook
from .test_outputs_hook import TestOutputsHook
from .train_metrics_hook import TrainMetricsHook
from .time_budget import TimeBudgetHook, fit_schedule, plot_budget_curve
from .val_loss_loop import ValLossLoop

__all__ = ['TestOutputsHook', 'TrainMetricsHook', 'CurvesHook', 'ValLossLoop',
           'InterruptHook', 'NonFiniteLossHook', 'TimeBudgetHook', 'fit_schedule',
           'plot_budget_curve', 'ChannelsLastHook', 'uses_channels_last',
           'ProgressLoggerHook', 'OptionalEarlyStoppingHook',
           'RetainFreedMemoryHook', 'RunFilesInWorkDirHook',
           'ConfusionMatrixHook', 'split_confusion']
