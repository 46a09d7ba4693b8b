"""ProgressLoggerHook: a progress line at iteration 1 and by the clock."""
from unittest import mock

from custom_modules.hooks import progress_logger
from custom_modules.hooks.progress_logger import ProgressLoggerHook


def run_iterations(monkeypatch, seconds_per_iter, iters, interval=10):
    clock = iter([i * seconds_per_iter for i in range(iters + 1)])
    monkeypatch.setattr(progress_logger.time, 'monotonic',
                        lambda: next(clock))
    runner = mock.MagicMock()
    runner.train_dataloader = list(range(10 ** 6))  # iteration-based
    runner.log_processor.get_log_after_iter.side_effect = \
        lambda r, i, mode: ('tag', f'Iter(train) [{i + 1}]')
    lines = []
    runner.logger.info.side_effect = lines.append
    hook = ProgressLoggerHook(interval=interval, max_seconds=15)
    hook.json_log_path = 'scalars.json'
    hook._last_line = next(clock)  # before_train
    for i in range(iters):
        runner.iter = i
        hook.after_train_iter(runner, i)
    progress = [x for x in lines if x.startswith('Iter(train)')]
    return progress, runner.visualizer.add_scalars.call_count


def test_slow_run_prints_at_iteration_1_and_every_15_seconds(monkeypatch):
    progress, scalars = run_iterations(monkeypatch, 12.0, 12)
    # 12 s/iteration: iteration 1, then every second iteration (24 s >= 15),
    # and the regular line at 10
    assert progress[0] == 'Iter(train) [1]'
    assert progress == ['Iter(train) [1]', 'Iter(train) [3]',
                        'Iter(train) [5]', 'Iter(train) [7]',
                        'Iter(train) [9]', 'Iter(train) [10]',
                        'Iter(train) [12]']
    assert scalars == 1  # scalars only at the regular interval


def test_fast_run_keeps_the_regular_interval(monkeypatch):
    progress, scalars = run_iterations(monkeypatch, 0.1, 30)
    assert progress == ['Iter(train) [1]', 'Iter(train) [10]',
                        'Iter(train) [20]', 'Iter(train) [30]']
    assert scalars == 3
