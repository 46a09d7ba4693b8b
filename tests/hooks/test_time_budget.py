"""fit_schedule and TimeBudgetHook: schedules fitted to a budget, runs
stopped by the clock with a final validation."""
import json

import pytest
from mmengine.config import Config

from custom_modules.hooks import fit_schedule
from benchmarks.lib.budget import calibration_config, plan_budget

import helpers  # noqa: F401


def _cfg(**extra):
    base = dict(
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=4000,
                       val_interval=250),
        param_scheduler=[
            dict(type='LinearLR', start_factor=1e-3, by_epoch=False,
                 begin=0, end=200),
            dict(type='PolyLR', power=0.9, by_epoch=False, begin=200,
                 end=4000)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=250)))
    return Config({**base, **extra})


def test_fit_schedule_keeps_warmup_share_and_ends_with_the_run():
    cfg = _cfg()
    assert fit_schedule(cfg, 1000) == pytest.approx(0.25)
    warm, poly = cfg.param_scheduler
    assert cfg.train_cfg.max_iters == 1000
    assert (warm.begin, warm.end) == (0, 50)
    assert (poly.begin, poly.end) == (50, 1000)


def test_fit_schedule_scales_one_cycle_milestones_not_epoch_schedulers():
    cfg = _cfg(param_scheduler=[
        dict(type='OneCycleLR', eta_max=2e-3, total_steps=2500,
             by_epoch=False, begin=0, end=2500),
        dict(type='MultiStepLR', milestones=[1000, 2000], by_epoch=False),
        dict(type='LinearLR', begin=0, end=5)])  # by_epoch: epochs
    cfg.train_cfg.max_iters = 2500
    fit_schedule(cfg, 5000)
    one, steps, epochs = cfg.param_scheduler
    assert (one.total_steps, one.end) == (5000, 5000)
    assert steps.milestones == [2000, 4000]
    assert (epochs.begin, epochs.end) == (0, 5)


def test_plan_budget_places_validation_by_minutes():
    cfg = _cfg(custom_hooks=[dict(type='TimeBudgetHook', minutes=1)])
    plan = plan_budget(cfg, minutes=30, eval_every=5, seconds_per_iter=0.75)
    assert plan['fitted_iters'] == 2400 == cfg.train_cfg.max_iters
    assert cfg.train_cfg.val_interval == 400      # 5 min / 0.75 s
    assert cfg.default_hooks.checkpoint.interval == 2400
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'TimeBudgetHook']
    assert hooks == [dict(type='TimeBudgetHook', minutes=30)]


def test_plan_budget_margin_fits_fewer_iterations():
    cfg = _cfg()
    plan = plan_budget(cfg, minutes=30, eval_every=5, seconds_per_iter=0.75,
                       margin=0.05)
    # 1800 s / (0.75 s * 1.05)
    assert plan['fitted_iters'] == 2285 == cfg.train_cfg.max_iters
    assert plan['margin'] == 0.05 and plan['seconds_per_iter'] == 0.75
    assert cfg.param_scheduler[1].end == 2285


def test_calibration_config_trains_only():
    cfg = _cfg(val_dataloader=dict(batch_size=1), val_cfg=dict(),
               val_evaluator=dict(), custom_hooks=[dict(type='CurvesHook')],
               visualizer=dict(name='v', vis_backends=[
                   dict(type='PetsClearMLVisBackend')]),
               load_from='x.pth')
    cal = calibration_config(cfg, '/tmp/x')
    assert cal.val_dataloader is None and cal.val_cfg is None
    assert cal.default_hooks.checkpoint is None
    assert cal.custom_hooks == []
    assert [b['type'] for b in cal.visualizer.vis_backends] == \
        ['LocalVisBackend']
    assert cal.visualizer.name != cfg.visualizer.name
    assert cal.load_from is None
    assert cfg.val_dataloader is not None  # the original is untouched


def test_calibration_config_drops_the_base_configs_curves_and_early_stop():
    from custom_modules.tools.config import load_config
    cfg = load_config('configs/pets/resnet18_unet.py')
    cal = calibration_config(cfg, '/tmp/x')
    types = {h['type'] for h in cal.default_hooks.values() if h}
    assert not types & {'CurvesHook', 'OptionalEarlyStoppingHook'}
    assert {'TrainMetricsHook', 'NonFiniteLossHook', 'InterruptHook'} <= types
    assert {'curves', 'early_stopping'} <= set(cfg.default_hooks)


def _budget_main(tiny_pets, tmp_path, *args):
    from benchmarks.lib.budget import main
    assert main(['configs/pets/resnet18_unet.py', '--data-root',
                 str(tiny_pets), '--work-dir', str(tmp_path),
                 '--pretrained', 'none', *args,
                 '--cfg-options', *helpers.TINY_RESNET18_UNET,
                 *helpers.tiny_cfg_options(10 ** 6)]) == 0
    return json.loads((tmp_path / 'budget.json').read_text())


def test_budget_run_stops_by_the_clock_and_validates_last(tiny_pets,
                                                          tmp_path):
    """A 2-second budget against a 10^6-iteration schedule, not fitted."""
    result = _budget_main(tiny_pets, tmp_path, '--no-fit',
                          '--minutes', str(2 / 60))
    assert result['stopped_by_budget'] is True
    assert 0 < result['iters'] < 10 ** 6
    assert 2.0 <= result['train_s'] < 10
    (last,) = result['points']  # no interval validation: only the final one
    assert last['iter'] == result['iters']
    assert result['max_iters'] == 10 ** 6  # the plan, not the stop
    assert (tmp_path / f"iter_{result['iters']}.pth").is_file()
    assert 0 <= last['mDice'] <= 100
    assert (tmp_path / 'budget.png').stat().st_size > 5000


def test_budget_run_fits_the_schedule_to_the_calibrated_speed(tiny_pets,
                                                              tmp_path):
    result = _budget_main(tiny_pets, tmp_path, '--minutes', str(3 / 60),
                          '--eval-every', str(1 / 60))
    plan = result['plan']
    assert plan['config_iters'] == 10 ** 6
    assert plan['margin'] == 0.1  # the default
    spi = plan['seconds_per_iter']  # rounded to 4 decimals in the plan
    slack = 0.5e-4 / spi  # relative error of that rounding (a tiny model
    # on a fast CPU: 0.0099 s, so 1 / spi is off by up to 0.5 %)
    expected = 3 / (spi * 1.1)
    assert abs(plan['fitted_iters'] - expected) <= 1 + expected * slack
    assert result['max_iters'] == plan['fitted_iters']
    assert abs(plan['val_interval'] - 1 / spi) <= 1 + slack / spi
    # validation every training minute (how many ran depends on the
    # machine's load while this test runs, so the count is not asserted)
    iters = [p['iter'] for p in result['points']]
    assert iters == sorted(iters) and iters[-1] == result['iters']
    assert all(i % plan['val_interval'] == 0 for i in iters[:-1])


def test_budget_table_reports_final_point_and_best():
    from benchmarks.lib.budget import budget_table

    def point(minutes, mdice):
        return {'train_s': minutes * 60, 'iter': minutes * 10,
                'mDice': mdice, 'mJaccard': mdice - 10,
                'Dice.background': 90.0, 'Dice.cat': mdice - 5,
                'Dice.dog': mdice + 5}
    result = dict(config='configs/pets/cpu_fast.py', budget_min=30,
                  train_s=1800, iters=300,
                  plan=dict(seconds_per_iter=6.0),
                  points=[point(10, 60.0), point(20, 70.0), point(30, 68.0)])
    row = budget_table([result]).strip().splitlines()[-1]
    assert row == ('| cpu_fast | 30 | 300 | 6.0 | 68.00 | 58.00 | 90.00 | '
                   '63.00 | 73.00 | 70.00 (20) |')
    # budget_report.py names each run after its work dir
    named = budget_table([dict(result, name='cpu_fast_192')])
    assert named.strip().splitlines()[-1].startswith('| cpu_fast_192 | 30 |')


def test_budget_main_refuses_a_negative_margin_before_calibrating():
    from benchmarks.lib.budget import main
    from custom_modules.common.errors import UserError
    # no data root and no calibration needed: the check comes first
    with pytest.raises(UserError, match='--margin -0.1: give a fraction'):
        main(['configs/pets/cpu_fast.py', '--margin', '-0.1'])
