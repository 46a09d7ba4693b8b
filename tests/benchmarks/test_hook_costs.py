"""benchmarks.lib.hook_costs: each hook's time per timed iteration (and
the measuring clock's other counts: loader waits, page faults)."""
import mmap
import time

from mmengine.hooks import Hook
from mmcv.transforms import BaseTransform
from mmengine.registry import HOOKS
from mmseg.registry import TRANSFORMS

import helpers
from benchmarks.lib import alternating, hook_costs
from benchmarks.lib import throughput as tp


@HOOKS.register_module(force=True)
class _SleepsAfterEachIteration(Hook):
    """A hook that costs a known 30 ms per iteration."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        time.sleep(0.03)


@HOOKS.register_module(force=True)
class _FaultsInFreshPages(Hook):
    """A hook that maps 4 MiB anew each iteration and writes each of its
    1024 pages: 1024 page faults per iteration."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        with mmap.mmap(-1, 4 << 20) as fresh:
            for offset in range(0, 4 << 20, 4096):
                fresh[offset] = 1


@TRANSFORMS.register_module(force=True)
class _SleepsPerSample(BaseTransform):
    """A pipeline step that costs a known 40 ms per sample."""

    def transform(self, results: dict) -> dict:
        time.sleep(0.04)
        return results


def _tiny_cfg(tiny_pets, tmp_path):
    cfg = tp.prepared_config('configs/pets/resnet18_unet.py',
                             str(tiny_pets), work_dir=str(tmp_path),
                             cfg_options=helpers.TINY_RESNET18_UNET)
    cfg.train_dataloader.batch_size = 2
    cfg.custom_hooks = [dict(type='_SleepsAfterEachIteration')]
    return cfg


def test_a_slow_hook_shows_its_cost_per_iteration(tiny_pets, tmp_path):
    costs = hook_costs.HookCosts()
    runner_s, bare_s = alternating.alternating_seconds(
        _tiny_cfg(tiny_pets, tmp_path), block=2, blocks=2, warmup_iters=2,
        costs=costs)
    assert costs.iterations == 4
    ms = costs.ms_per_iteration()
    assert 29 <= ms['_SleepsAfterEachIteration'] < 1000 * max(runner_s)
    assert 'AlternatingClock' not in ms  # the measuring clock itself
    assert sum(ms.values()) < 1000 * max(runner_s)  # hooks are part of it
    assert list(ms.values()) == sorted(ms.values(), reverse=True)
    assert len(runner_s) == len(bare_s) == 2 and min(bare_s) > 0


def test_waits_for_a_slow_loader_are_counted(tiny_pets, tmp_path):
    """Loading in the training process (no worker): each timed iteration
    waits for its 2 samples at 40 ms each, and the hooks do not see it."""
    cfg = _tiny_cfg(tiny_pets, tmp_path)
    cfg.custom_hooks = []
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.pipeline.insert(
        -1, dict(type='_SleepsPerSample'))
    waits, costs = [], hook_costs.HookCosts()
    runner_s, _ = alternating.alternating_seconds(
        cfg, block=2, blocks=2, warmup_iters=2, waits=waits, costs=costs)
    assert len(waits) == 4 and min(waits) >= 0.08
    # each block's time holds its iterations' waits
    assert sum(waits[:2]) <= 2 * runner_s[0]
    assert sum(waits[2:]) <= 2 * runner_s[1]
    assert sum(costs.ms_per_iteration().values()) < 80


def test_hook_table_gives_the_share_of_the_iteration():
    row = dict(config='x', batch=8, runner_train=8.0,  # 1000 ms/iteration
               hook_ms={'TrainMetricsHook': 25.0, 'CurvesHook': 0.4})
    lines = hook_costs.hook_table([row, dict(row, config='y', hook_ms={},
                                             loader_wait_ms=50.0)])
    assert lines.splitlines()[2:] == [
        '| x | TrainMetricsHook | 25.0 | 2.5 |',
        '| x | CurvesHook | 0.4 | 0.0 |',
        '| y | (waiting for the data loader) | 50.0 | 5.0 |']


class _RecordsInsideTheModel:
    """A hook whose work is called by the model, not by the runner."""

    def record(self, seconds):
        time.sleep(seconds)
        return 'recorded'


def test_work_a_hook_does_inside_the_forward_pass_is_counted():
    hook = _RecordsInsideTheModel()
    runner = type('R', (), {'_hooks': [hook]})()
    costs = hook_costs.HookCosts()
    costs.wrap(runner)
    assert hook.record(0.05) == 'recorded'  # not counting yet: warm-up
    costs.counting = True
    hook.record(0.03)
    costs.iterations = 1
    ms = costs.ms_per_iteration()['_RecordsInsideTheModel']
    assert 29 <= ms < 50


def test_page_faults_are_counted_per_iteration_of_each_side(tiny_pets,
                                                             tmp_path):
    cfg = _tiny_cfg(tiny_pets, tmp_path)
    cfg.custom_hooks = [dict(type='_FaultsInFreshPages')]
    faults = {}
    alternating.alternating_seconds(cfg, block=2, blocks=2, warmup_iters=2,
                                    faults=faults)
    assert len(faults['runner']) == len(faults['bare']) == 2
    # the hook's 1024 per iteration are the runner's, not the bare loop's
    assert min(faults['runner']) >= 1024
    assert max(faults['bare']) < 1024
