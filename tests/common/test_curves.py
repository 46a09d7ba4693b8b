"""Curve extraction from mmengine's scalars.json and the curves picture."""
import json

import cv2
import numpy as np
import pytest

from custom_modules.common import curves
from custom_modules.common.errors import UserError


def write_run(folder, records, stamp='20250101_000000'):
    vis = folder / stamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(
        '\n'.join(r if isinstance(r, str) else json.dumps(r)
                  for r in records) + '\n')
    return folder


# The format tools/train.py writes (log_with_hierarchy=True).
RECORDS = [
    {'train/lr': 1e-4, 'train/loss': 1.8, 'train/decode.loss_ce_dice': 1.8,
     'iter': 10, 'step': 10},
    {'train/mJaccard': 20.0, 'train/mDice': 30.0, 'step': 10},
    {'val/mJaccard': 25.0, 'val/mDice': 33.0, 'val/Jaccard.cat': 10.0,
     'val/loss': 1.5, 'step': 10},
    {'train/lr': 2e-4, 'train/loss': 1.2, 'iter': 20, 'step': 20},
    {'train/mJaccard': 40.0, 'train/mDice': 50.0, 'step': 20},
    {'val/mJaccard': 45.0, 'val/mDice': 55.0, 'val/Jaccard.cat': 30.0,
     'val/loss': 1.1, 'step': 20},
    {'train/loss': 0.9, 'iter': 30, 'step': 30},
    {'val/mJaccard': 41.0, 'val/mDice': 50.0, 'val/Jaccard.cat': 28.0,
     'val/loss': 1.3, 'step': 30},
]


def test_read_scalars_gives_step_value_series_per_key(tmp_path):
    c = curves.read_scalars(str(write_run(tmp_path / 'run', RECORDS)))
    steps, values = c['train/loss']
    assert steps.tolist() == [10, 20, 30]
    assert values.tolist() == [1.8, 1.2, 0.9]
    assert c['val/loss'][1].tolist() == [1.5, 1.1, 1.3]
    assert c['train/mJaccard'][0].tolist() == [10, 20]
    assert 'step' not in c and 'iter' not in c


def test_broken_lines_and_non_numbers_are_skipped(tmp_path):
    run = write_run(tmp_path / 'run', [
        RECORDS[0], '{"train/loss": 1.0, "st', 'not json',
        {'val/mJaccard': 'n/a', 'val/mDice': 3.0, 'flag': True, 'step': 5}])
    c = curves.read_scalars(str(run))
    assert c['train/loss'][0].tolist() == [10]
    assert 'val/mJaccard' not in c and 'flag' not in c
    assert c['val/mDice'][1].tolist() == [3.0]


def test_resumed_run_continues_and_restart_replaces(tmp_path):
    run = write_run(tmp_path / 'run', RECORDS[:6], '20250101_000000')
    # resumed from iter 20: the second file starts at step 20 and wins there
    write_run(run, [{'train/loss': 1.0, 'step': 20},
                    {'train/loss': 0.5, 'step': 30}], '20250102_000000')
    c = curves.read_scalars(str(run))
    assert c['train/loss'][0].tolist() == [10, 20, 30]
    assert c['train/loss'][1].tolist() == [1.8, 1.0, 0.5]
    assert c['val/mJaccard'][0].tolist() == [10]  # old step-20 val dropped
    # a run from scratch in the same work dir replaces everything
    write_run(run, [{'train/loss': 2.0, 'step': 10}], '20250103_000000')
    c = curves.read_scalars(str(run))
    assert c['train/loss'][1].tolist() == [2.0]
    assert 'val/mJaccard' not in c


def test_best_step_and_values_at(tmp_path):
    c = curves.read_scalars(str(write_run(tmp_path / 'run', RECORDS)))
    assert curves.best_step(c) == (20, 45.0)
    assert curves.best_step(c, 'val/loss', rule='less') == (20, 1.1)
    assert curves.best_step(c, 'val/missing') is None
    at = curves.values_at(c, 20)
    assert at == {'mJaccard': 45.0, 'mDice': 55.0, 'Jaccard.cat': 30.0,
                  'loss': 1.1}


def test_first_best_on_ties():
    c = {'val/mJaccard': (np.array([5, 10, 15]), np.array([1.0, 3.0, 3.0]))}
    assert curves.best_step(c) == (10, 3.0)


def test_missing_scalars_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match='scalars.json'):
        curves.read_scalars(str(tmp_path))


def test_plot_curves_cli_writes_an_overlay_png(tmp_path, capsys):
    a = write_run(tmp_path / 'a' / 'fold_0', RECORDS)
    b = write_run(tmp_path / 'b' / 'fold_0', RECORDS[:3])
    out = tmp_path / 'cmp.png'
    assert curves.main([str(a), str(b), '--out', str(out)]) == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > 2 * image.shape[0]
    text = capsys.readouterr().out
    assert 'a/fold_0: best val mJaccard 45.00 at iter 20' in text
    assert 'b/fold_0: best val mJaccard 25.00 at iter 10' in text


def test_a_test_run_in_the_work_dir_keeps_the_training_curves(tmp_path):
    """tools/test.py writes its own scalars.json from step 0."""
    run = write_run(tmp_path / 'run', RECORDS, '20250101_000000')
    write_run(run, [{'test/mJaccard': 44.0, 'test/mDice': 54.0, 'step': 0}],
              '20250102_000000')
    c = curves.read_scalars(str(run))
    assert c['train/loss'][0].tolist() == [10, 20, 30]
    assert c['val/mJaccard'][1].tolist() == [25.0, 45.0, 41.0]
    assert curves.best_step(c) == (20, 45.0)


@pytest.mark.parametrize('best_at', [0, -1])
def test_best_label_stays_inside_the_axes_in_short_runs(best_at):
    steps = np.arange(1, 6)
    val = np.array([29.6, 10.0, 12.0, 14.0, 16.0])
    if best_at == -1:
        val = val[::-1]
    runs = {'short': {'train/loss': (steps, np.linspace(2, 1, 5)),
                      'train/mJaccard': (steps, val - 5),
                      'val/mJaccard': (steps, val)}}
    fig = curves.curves_figure(runs)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for ax in fig.axes for t in ax.texts
              if t.get_text().startswith('best ')]
    assert [t.get_text() for t in labels] == [
        f'best 29.6 @ {steps[best_at]}']
    ax = labels[0].axes.get_window_extent(renderer)
    box = labels[0].get_window_extent(renderer)
    assert ax.x0 <= box.x0 and box.x1 <= ax.x1, (box, ax)
    import matplotlib.pyplot as plt
    plt.close(fig)
