"""benchmarks.lib.phase_costs: the parts of the runner's and the bare
loop's training steps."""
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

import helpers
from benchmarks.lib import alternating, phase_costs
from benchmarks.lib import throughput as tp


@HOOKS.register_module(force=True)
class _SleepsInTheLoss(Hook):
    """250 ms inside the runner model's loss, as TrainMetricsHook records
    inside it (the bare loop's copy of the model is left alone)."""

    def before_train(self, runner) -> None:
        head = runner.model.decode_head
        original = head.loss_by_feat

        def loss_by_feat(*args, **kwargs):
            time.sleep(0.25)
            return original(*args, **kwargs)
        head.loss_by_feat = loss_by_feat


def _measure(tiny_pets, tmp_path, hooks=()):
    cfg = tp.prepared_config('configs/pets/resnet18_unet.py',
                             str(tiny_pets), work_dir=str(tmp_path),
                             cfg_options=helpers.TINY_RESNET18_UNET)
    cfg.train_dataloader.batch_size = 2
    cfg.custom_hooks = [dict(type=h) for h in hooks]
    phases = phase_costs.PhaseCosts()
    runner_s, _ = alternating.alternating_seconds(
        cfg, block=2, blocks=2, warmup_iters=2, phases=phases)
    return phases, runner_s


def test_both_loops_are_split_into_the_same_phases(tiny_pets, tmp_path):
    phases, runner_s = _measure(tiny_pets, tmp_path)
    assert phases.runner_steps == phases.bare_steps == 4  # timed blocks only
    ms = phases.ms_per_step()
    runner, bare = ms['runner'], ms['bare']
    assert set(runner) == set(phase_costs.PHASES) | {'train_step'}
    assert set(bare) == {'forward', 'backward', 'optimizer'}
    assert min(runner.values()) > 0 and min(bare.values()) > 0
    parts = sum(runner[p] for p in phase_costs.PHASES)
    rounding = 0.05 * (len(phase_costs.PHASES) + 1)  # each value to 0.1 ms
    assert parts <= runner['train_step'] + rounding
    assert runner['train_step'] <= 1000 * max(runner_s)


def test_work_inside_the_runner_loss_shows_in_its_forward(tiny_pets,
                                                          tmp_path):
    phases, _ = _measure(tiny_pets, tmp_path, hooks=['_SleepsInTheLoss'])
    ms = phases.ms_per_step()
    # far above the noise of a tiny model's forward pass on a busy machine
    assert ms['runner']['forward'] - ms['bare']['forward'] >= 200
    assert ms['runner']['backward'] < ms['runner']['forward'] + 1000


def test_phase_table_adds_the_rest_and_the_outside():
    row = dict(config='x', batch=8, runner_train=8.0,  # 1000 ms/iteration
               phase_ms=dict(
                   runner=dict(preprocess=10.0, forward=400.0,
                               backward=500.0, optimizer=20.0,
                               train_step=940.0),
                   bare=dict(forward=380.0, backward=500.0, optimizer=20.0)))
    lines = phase_costs.phase_table([row, dict(row, config='old',
                                               phase_ms=None)]).splitlines()
    assert lines[2:] == [
        '| x | preprocess | 10.0 | – | – |',
        '| x | forward | 400.0 | 380.0 | +20.0 |',
        '| x | backward | 500.0 | 500.0 | +0.0 |',
        '| x | optimizer | 20.0 | 20.0 | +0.0 |',
        '| x | rest of train_step | 10.0 | – | – |',
        '| x | outside train_step (batch, hooks) | 60.0 | – | – |',
        '| x | **iteration** | 1000.0 | 900.0 | +100.0 |']
    # blocks at 10 and 20/3 img/s: 800 and 1200 ms, a mean of 1000 ms
    blocks = phase_costs.phase_table([dict(row, runner_train=9.0,
                                           runner_rounds=[10.0, 20 / 3])])
    assert blocks.splitlines()[-1] == \
        '| x | **iteration** | 1000.0 | 900.0 | +100.0 |'
    faults = phase_costs.phase_table([dict(row, page_faults_per_iter=dict(
        runner=1250, bare=25))])
    assert faults.splitlines()[-1] == \
        '| x | page faults per iteration (count) | 1250 | 25 | +1225 |'
