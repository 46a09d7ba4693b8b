"""benchmarks.lib.hook_costs: each hook's time per timed iteration."""
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

import helpers
from benchmarks.lib import budget, hook_costs
from benchmarks.lib import throughput as tp


@HOOKS.register_module(force=True)
class _SleepsAfterEachIteration(Hook):
    """A hook that costs a known 30 ms per iteration."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        time.sleep(0.03)


def _tiny_cfg(tiny_pets, tmp_path):
    cfg = tp.prepared_config('configs/pets/resnet18_unet.py',
                             str(tiny_pets), work_dir=str(tmp_path),
                             cfg_options=helpers.TINY_RESNET18_UNET)
    cfg.train_dataloader.batch_size = 2
    cfg.custom_hooks = [dict(type='_SleepsAfterEachIteration')]
    return cfg


def test_a_slow_hook_shows_its_cost_per_iteration(tiny_pets, tmp_path):
    costs = hook_costs.HookCosts()
    seconds = budget.seconds_per_iteration(
        _tiny_cfg(tiny_pets, tmp_path), skip=2, timed=4, costs=costs)
    assert costs.iterations == 4
    ms = costs.ms_per_iteration()
    assert 29 <= ms['_SleepsAfterEachIteration'] < 1000 * seconds
    assert '_IterClock' not in ms  # the measuring clock itself
    assert sum(ms.values()) < 1000 * seconds  # hooks are part of it
    assert list(ms.values()) == sorted(ms.values(), reverse=True)


def test_hook_table_gives_the_share_of_the_iteration():
    row = dict(config='x', batch=8, runner_train=8.0,  # 1000 ms/iteration
               hook_ms={'TrainMetricsHook': 25.0, 'CurvesHook': 0.4})
    lines = hook_costs.hook_table([row, dict(row, config='y', hook_ms={})])
    assert lines.splitlines()[2:] == ['| x | TrainMetricsHook | 25.0 | 2.5 |',
                                      '| x | CurvesHook | 0.4 | 0.0 |']
