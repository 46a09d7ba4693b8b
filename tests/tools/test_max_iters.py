"""``tools/train.py --max-iters N`` rescales the whole schedule; a bare
``train_cfg.max_iters`` that leaves a scheduler unfinished warns in one
line; without either, configs build exactly as before."""
import os

import pytest
import torch
from helpers import assert_one_line_error, run_tool
from mmengine.config import Config

from custom_modules import plugins  # noqa: F401  (registries)
from custom_modules.tools.train import build_config
from helpers import SHIPPED_CONFIGS  # noqa: E402

CPU = 'configs/pets/cpu_pretrained.py'     # OneCycleLR, 1439 iterations
POLY = 'configs/pets/resnet18_unet.py'     # LinearLR + PolyLR, 4000
SHIPPED = SHIPPED_CONFIGS


def build(config, tmp_path, **kwargs):
    return build_config(config, clearml=False, work_dir=str(tmp_path),
                        **kwargs)


def lrs(cfg, steps):
    """The lr of each of ``steps`` iterations, as mmengine's schedulers
    (built from ``cfg.param_scheduler`` as the Runner builds them) set it."""
    from mmengine.registry import PARAM_SCHEDULERS
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for s in schedulers:
            s.step()
    return out


@pytest.fixture
def logged():
    """Lines logged to mmengine's current logger (where build_config logs)."""
    import logging

    from mmengine.logging import MMLogger
    lines = []

    class Lines(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    logger, handler = MMLogger.get_current_instance(), Lines()
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def warnings_of(capsys):
    return [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('warning:')]


def test_max_iters_rescales_one_cycle_val_and_checkpoint(tmp_path, capsys):
    cfg = build(CPU, tmp_path, max_iters=30)
    assert cfg.train_cfg.max_iters == 30
    (one,) = cfg.param_scheduler
    assert (one.total_steps, one.begin, one.end) == (30, 0, 30)
    assert one.pct_start == 0.1 and one.eta_max == 5e-4
    assert cfg.train_cfg.val_interval == 6             # 288 of 1439
    assert cfg.default_hooks.checkpoint.interval == 15  # 720 of 1439
    assert warnings_of(capsys) == []


def test_max_iters_rescales_warmup_and_poly_decay(tmp_path):
    cfg = build(POLY, tmp_path, max_iters=400)
    warm, poly = cfg.param_scheduler
    assert (warm.type, warm.begin, warm.end) == ('LinearLR', 0, 20)
    assert (poly.type, poly.begin, poly.end) == ('PolyLR', 20, 400)
    assert cfg.train_cfg.val_interval == 25             # 250 of 4000
    assert cfg.default_hooks.checkpoint.interval == 25


def test_intervals_stay_within_the_run(tmp_path):
    cfg = build(POLY, tmp_path, max_iters=3)
    assert cfg.train_cfg.val_interval == 1 == \
        cfg.default_hooks.checkpoint.interval         # at least 1
    cfg = build(POLY, tmp_path, max_iters=4, cfg_options=[
        'train_cfg.val_interval=4000',
        'default_hooks.checkpoint.interval=8000'])
    # --cfg-options win: the user's values stay as given
    assert cfg.train_cfg.val_interval == 4000
    assert cfg.default_hooks.checkpoint.interval == 8000
    cfg = build(POLY, tmp_path / 'b', max_iters=8000, cfg_options=[
        'train_cfg.val_interval=4000'])  # the old whole run
    assert cfg.train_cfg.val_interval == 4000  # given: kept
    assert cfg.default_hooks.checkpoint.interval == 500


def test_a_val_interval_of_the_whole_run_stays_the_whole_run(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{os.path.abspath(CPU)}']\n"
                     "train_cfg = dict(val_interval=1800)\n"
                     "default_hooks = dict(checkpoint=dict(interval=5000))\n")
    cfg = build(str(child), tmp_path, max_iters=7)
    assert cfg.train_cfg.val_interval == 7
    assert cfg.default_hooks.checkpoint.interval == 7  # never above N


@pytest.mark.parametrize('config', [CPU, POLY])
def test_the_rescaled_lr_reaches_the_end_of_its_schedule(tmp_path, config):
    cfg = build(config, tmp_path, max_iters=30)
    lr = lrs(cfg, 30)
    base = cfg.optim_wrapper.optimizer.lr
    if config == CPU:  # one cycle: warm-up to the peak, down to peak/25/1e4
        assert max(lr) == pytest.approx(5e-4)
        assert lr.index(max(lr)) == 2  # 10 % of 30
        assert lr[-1] == pytest.approx(5e-4 / 25 / 1e4)
    else:  # warm-up, then poly decay to eta_min=1e-6
        assert lr[0] == pytest.approx(base * 1e-3)
        assert max(lr) == pytest.approx(base, rel=0.05)
        assert lr[-1] == pytest.approx(1e-6)  # the last iteration's


def test_a_one_iteration_one_cycle_warmup_does_not_divide_by_zero(tmp_path,
                                                                  logged):
    """10 % of 10 iterations: mmengine's OneCycle divides by zero there."""
    cfg = build(CPU, tmp_path, max_iters=10)
    lr = lrs(cfg, 10)
    assert lr[0] == max(lr) == pytest.approx(5e-4, rel=0.02)
    assert lr[-1] == pytest.approx(5e-4 / 25 / 1e4)
    assert any('OneCycleLR total_steps/end 1439->10 pct_start 0.1->0.05'
               in line for line in logged)


def test_a_warmup_too_short_to_ramp_is_turned_off(tmp_path, logged):
    """5 % of 6 iterations: a LinearLR of one iteration would keep the lr
    at start_factor (1e-6 here) for the whole run."""
    cfg = build(POLY, tmp_path, max_iters=6)
    lr = lrs(cfg, 6)
    assert lr[0] == max(lr) == pytest.approx(1e-3)
    assert lr[-1] == pytest.approx(1e-6)
    assert any('LinearLR end 200->1 start_factor 0.001->1 (no room to warm '
               'up), PolyLR begin 200->0 end 4000->6' in line
               for line in logged)


def test_bare_max_iters_warns_once_and_max_iters_does_not(tmp_path, capsys):
    cfg = build(CPU, tmp_path, cfg_options=['train_cfg.max_iters=30'])
    assert cfg.param_scheduler[0].total_steps == 1439  # not rescaled
    assert warnings_of(capsys) == [
        'warning: train_cfg.max_iters=30 but param_scheduler.0 (OneCycleLR) '
        'runs to 1439 iterations: the lr schedule will not finish; use '
        '--max-iters 30 to rescale the whole schedule']
    build(POLY, tmp_path, cfg_options=['train_cfg.max_iters=100'])
    (line,) = warnings_of(capsys)
    assert 'param_scheduler.0 (LinearLR) runs to 200 and param_scheduler.1 ' \
        '(PolyLR) to 4000 iterations' in line
    build(CPU, tmp_path, max_iters=30)
    build(POLY, tmp_path, cfg_options=['train_cfg.max_iters=8000'])
    assert warnings_of(capsys) == []  # a decay that ended keeps its lr


@pytest.mark.parametrize('config', SHIPPED)
def test_shipped_configs_do_not_warn_and_build_as_before(config, tmp_path,
                                                         capsys):
    cfg = build(config, tmp_path, max_iters=None)
    assert warnings_of(capsys) == []
    shipped = Config.fromfile(config)
    for key in ('train_cfg', 'param_scheduler', 'default_hooks'):
        assert cfg[key] == shipped[key], key
    plain = build_config(config, clearml=False, work_dir=str(tmp_path))
    a, b = cfg.to_dict(), plain.to_dict()
    for c in (a, b):
        c['visualizer'].pop('name')  # a fresh one per run
    assert a == b


def test_max_iters_with_overfit_batch_shortens_the_overfit_schedule(
        tmp_path, logged):
    cfg = build(POLY, tmp_path, max_iters=30, overfit_batch=2)
    assert cfg.train_cfg.max_iters == 30
    assert cfg.param_scheduler == []  # constant lr, as --overfit-batch
    assert cfg.train_cfg.val_interval == 5  # 25 of 150
    assert cfg.default_hooks.checkpoint.interval == 30
    assert '--max-iters 30: schedule rescaled from 150 to 30 iterations ' \
        '(val every 5, checkpoint every 30)' in logged


def test_max_iters_and_cfg_options_max_iters_is_refused(tmp_path):
    from custom_modules.common.errors import UserError
    with pytest.raises(UserError, match=r'^--max-iters 30 and --cfg-options '
                       r'train_cfg.max_iters=100 both set'):
        build(CPU, tmp_path, max_iters=30,
              cfg_options=['train_cfg.max_iters=100'])


def test_the_rescale_is_logged_in_one_line(tmp_path, logged):
    build(CPU, tmp_path, max_iters=30)
    build(POLY, tmp_path, max_iters=30)
    assert [line for line in logged if '--max-iters' in line] == [
        '--max-iters 30: schedule rescaled from 1439 to 30 iterations '
        '(OneCycleLR total_steps/end 1439->30, val every 6, checkpoint '
        'every 15)',
        '--max-iters 30: schedule rescaled from 4000 to 30 iterations '
        '(LinearLR end 200->2, PolyLR begin 200->2 end 4000->30, val every '
        '2, checkpoint every 2)']


def test_max_iters_zero_is_one_line_error(tmp_path):
    proc = run_tool('train.py', CPU, '--max-iters', '0', '--no-clearml',
                    '--work-dir', tmp_path, check=False)
    assert_one_line_error(
        proc, '--max-iters 0: give a number of iterations >= 1')
    assert not (tmp_path / 'lock').exists()


def test_help_lists_max_iters():
    out = run_tool('train.py', '--help').stdout
    assert '--max-iters N' in out
    assert 'rescales the whole schedule' in ' '.join(out.split())
