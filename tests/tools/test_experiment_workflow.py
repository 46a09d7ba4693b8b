"""The experiment workflow end to end on the synthetic ``tiny_pets`` data,
with a tiny ResNet-UNet (8-channel encoder) at 64x64: learning curves and
early stopping, overfitting one batch, worst-N, comparison, prediction on
new photos, and k-fold cross-validation with its ensemble."""
import csv
import json
import shutil
import time

import cv2
import numpy as np
import pytest
from helpers import TINY_RESNET18_UNET
from mmengine.config import Config

from custom_modules.common import curves, overlay
from custom_modules.tools import compare, kfold, predict, test, train

CONFIG = 'configs/pets/resnet18_unet.py'
TINY = TINY_RESNET18_UNET + ['param_scheduler.0.start_factor=1.0']


def run_train(root, work_dir, *extra, options=()):
    return train.main([CONFIG, '--data-root', str(root), '--work-dir',
                       str(work_dir), '--pretrained', 'none', '--no-clearml',
                       *extra, '--cfg-options', *TINY, *options])


@pytest.fixture(scope='module')
def tiny_run(tiny_pets, tmp_path_factory):
    """6 of 12 iterations: early stopping ends it after 3 validations."""
    work = tmp_path_factory.mktemp('runs') / 'tiny'
    run_train(tiny_pets, work, options=[
        'train_cfg.max_iters=12', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=4',
        'default_hooks.early_stopping.enable=True',
        'default_hooks.early_stopping.patience=2',
        'default_hooks.early_stopping.min_delta=1000'])
    return work


def test_curves_val_loss_train_metrics_and_early_stop(tiny_run):
    c = curves.read_scalars(str(tiny_run))
    for key in ('train/loss', 'val/loss', 'train/mJaccard', 'val/mJaccard',
                'train/mDice', 'val/mDice', 'val/decode.loss_ce_dice'):
        assert key in c, key
    assert c['val/mJaccard'][0].tolist() == [2, 4, 6]  # stopped at 6 of 12
    assert c['train/mJaccard'][0].tolist() == [2, 4, 6]
    assert (c['val/loss'][1] > 0).all()
    np.testing.assert_allclose(c['val/loss'][1],
                               c['val/decode.loss_ce_dice'][1])
    assert ((c['train/mJaccard'][1] >= 0) &
            (c['train/mJaccard'][1] <= 100)).all()
    summary = json.loads((tiny_run / 'run_summary.json').read_text())
    assert summary['iters'] == 6 and summary['max_iters'] == 12
    assert summary['stopped_early'] is True
    best = curves.best_step(c)
    assert summary['best_iter'] == best[0]
    assert summary['best']['mJaccard'] == best[1]
    assert {'Jaccard.cat', 'Dice.dog', 'loss'} <= set(summary['best'])
    assert (tiny_run / f'best_mJaccard_iter_{best[0]}.pth').is_file()
    png = cv2.imread(str(tiny_run / 'curves.png'))
    assert png is not None and png.shape[1] > png.shape[0]


def big_pets(root):
    """Four 64x64 training photos, each half covered by one pet (a cat
    disc or a dog square, coloured by class) on grey noise."""
    rng = np.random.default_rng(0)
    for folder in ('img/train', 'labels/train'):
        (root / folder).mkdir(parents=True)
    for i in range(4):
        img = rng.integers(90, 160, (64, 64, 3), dtype=np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        x, y = rng.integers(26, 38, 2)
        if i % 2 == 0:
            cv2.circle(mask, (int(x), int(y)), 20, 1, -1)
        else:
            mask[y - 18:y + 18, x - 18:x + 18] = 2
        img[mask == 1] = (230, 120, 30)
        img[mask == 2] = (40, 140, 230)
        cv2.imwrite(str(root / 'img/train' / f'{i}.jpg'), img)
        cv2.imwrite(str(root / 'labels/train' / f'{i}.png'), mask)
    return root


def test_overfit_batch_learns_the_four_images(tmp_path):
    start = time.time()
    work = tmp_path / 'overfit'
    data = big_pets(tmp_path / 'data')
    # overfit mode drops the warm-up unless param_scheduler is given
    options = [o for o in TINY if not o.startswith('param_scheduler')]
    train.main([CONFIG, '--data-root', str(data), '--work-dir',
                str(work), '--pretrained', 'none', '--no-clearml',
                '--overfit-batch', '4', '--cfg-options', *options,
                'optim_wrapper.optimizer.lr=0.005', 'train_cfg.max_iters=120',
                'train_cfg.val_interval=40'])
    c = curves.read_scalars(str(work))
    assert c['val/mJaccard'][0].tolist() == [40, 80, 120]
    assert c['val/mJaccard'][1][-1] >= 95, c['val/mJaccard']
    assert c['train/mJaccard'][1][-1] >= 95
    # validated on the same four training images, trained without crops
    cfg = (work / 'resnet18_unet.py').read_text()
    assert "split='train'" in cfg.split('val_dataloader')[1][:600]
    assert 'RandomCrop' not in cfg.split('train_dataloader')[1][:900]
    print(f'overfit test: {time.time() - start:.0f} s')


def test_worst_n_grid_and_ranked_csv(tiny_run, tiny_pets, tmp_path):
    ckpt = next(tiny_run.glob('best_mJaccard_iter_*.pth'))
    out = tmp_path / 'test'
    test.main([CONFIG, str(ckpt), '--data-root', str(tiny_pets),
               '--work-dir', str(out), '--worst', '3', '--no-clearml',
               '--cfg-options', *TINY])
    with open(out / 'worst.csv') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['rank']) for r in rows] == [1, 2, 3, 4]  # every image
    scores = [float(r['jaccard']) for r in rows]
    assert scores == sorted(scores)
    with open(out / 'per_image.csv') as f:
        per_image = {r['img_path']: float(r['jaccard'])
                     for r in csv.DictReader(f)}
    assert {r['img_path']: float(r['jaccard']) for r in rows} == per_image
    grid = cv2.imread(str(out / 'worst.png'))
    legend = overlay.legend_strip(4 * 64, overlay.legend_entries(True))
    # 3 rows of 4 tiles, then the legend
    assert grid.shape[:2] == (3 * 64 + legend.shape[0], 4 * 64)


def test_compare_two_runs(tiny_run, tmp_path, capsys):
    other = tmp_path / 'tiny_lr'
    shutil.copytree(tiny_run, other)
    cfg = other / 'resnet18_unet.py'
    cfg.write_text(cfg.read_text().replace('lr=0.001', 'lr=0.01'))
    out = tmp_path / 'cmp'
    assert compare.main([str(tiny_run), str(other), str(tmp_path / 'none'),
                         '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert '| tiny | resnet18_unet.py | ResNet 18 ResNetUNetHead |' in text
    result = json.loads((out / 'compare.json').read_text())
    assert [r['run'] for r in result['runs']] == ['tiny', 'tiny_lr']
    assert result['differing'] == {'optimizer.lr': [0.001, 0.01]}
    summary = json.loads((tiny_run / 'run_summary.json').read_text())
    row = result['runs'][0]
    assert row['best_iter'] == summary['best_iter']
    assert row['best']['mJaccard'] == summary['best']['mJaccard']
    assert row['iters'] == 6 and row['stopped_early'] is True
    assert '(early stop)' in (out / 'compare.md').read_text()
    assert cv2.imread(str(out / 'compare_curves.png')) is not None


def test_a_run_stopped_by_a_signal_is_not_called_early_stopped(
        tiny_run, tmp_path):
    stopped = tmp_path / 'stopped'
    shutil.copytree(tiny_run, stopped)
    summary_file = stopped / 'run_summary.json'
    summary = json.loads(summary_file.read_text())
    summary.update(stopped_early=False, stop_reason='SIGTERM')
    summary_file.write_text(json.dumps(summary))
    out = tmp_path / 'cmp'
    assert compare.main([str(tiny_run), str(stopped), '--out', str(out)]) == 0
    rows = (out / 'compare.md').read_text()
    assert '| 6 (early stop) |' in rows and '| 6 (stopped: SIGTERM) |' in rows
    row = json.loads((out / 'compare.json').read_text())['runs'][1]
    assert row['stop_reason'] == 'SIGTERM' and row['stopped_early'] is False


def test_predict_photos_of_any_size(tiny_run, tmp_path, capsys):
    photos = tmp_path / 'photos'
    photos.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(photos / 'wide.jpg'),
                rng.integers(0, 255, (70, 100, 3), np.uint8))
    cv2.imwrite(str(photos / 'gray.png'),
                rng.integers(0, 255, (50, 40), np.uint8))
    (photos / 'broken.jpg').write_bytes(b'not a photo')
    (photos / 'notes.txt').write_text('skip me')
    ckpt = next(tiny_run.glob('best_mJaccard_iter_*.pth'))
    out = tmp_path / 'pred'
    assert predict.main([CONFIG, str(ckpt), str(photos), '--out', str(out),
                         '--tta', '--cfg-options', *TINY]) == 0
    for name, shape in (('wide', (70, 100)), ('gray', (50, 40))):
        mask = cv2.imread(str(out / 'masks' / f'{name}.png'),
                          cv2.IMREAD_UNCHANGED)
        assert mask.shape == shape and set(np.unique(mask)) <= {0, 1, 2}
        over = cv2.imread(str(out / 'overlays' / f'{name}.png'))
        legend = overlay.legend_strip(shape[1], overlay.legend_entries())
        assert over.shape == (shape[0] + legend.shape[0], shape[1], 3)
    assert not (out / 'masks' / 'broken.png').exists()
    assert 'broken.jpg' in capsys.readouterr().out
    with open(out / 'predictions.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['name'] for r in rows] == ['gray', 'wide']
    for r in rows:
        total = sum(float(r[f'{c} %']) for c in ('background', 'cat', 'dog'))
        assert abs(total - 100) < 0.05


def test_kfold_trains_folds_evaluates_ensemble_and_reruns_one(
        tiny_pets, tmp_path, capsys):
    work = tmp_path / 'kf'
    args = [CONFIG, '--folds', '2', '--data-root', str(tiny_pets),
            '--work-dir', str(work), '--pretrained', 'none', '--no-clearml',
            '--tta', '--worst', '2', '--cfg-options', *TINY,
            'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
            'default_hooks.checkpoint.interval=4',
            'train_dataloader.batch_size=2']
    assert kfold.main(args) == 0
    result = json.loads((work / 'kfold_results.json').read_text())
    assert result['eval_split'] == 'val'  # tiny_pets has no test split
    assert list(result['metrics']) == ['fold_0', 'fold_1', 'ensemble',
                                       'ensemble+tta', 'full', 'full+tta']
    for m in result['metrics'].values():
        assert 0 <= m['mJaccard'] <= 100 and 'Dice.cat' in m
    worst = result['worst']
    assert set(worst['worst']) == {'fold_0', 'fold_1'}
    assert all(len(v) == 2 for v in worst['worst'].values())
    assert len(worst['pairwise']) == 1
    # each fold validated on its own held-out half
    folds = json.loads((work / 'folds.json').read_text())['folds']
    positions = json.loads((work / 'folds.json').read_text())['positions']
    fold_cfg = Config.fromfile(str(work / 'fold_0' / 'resnet18_unet.py'))
    assert fold_cfg.val_dataloader.dataset.split == 'train'
    assert fold_cfg.val_dataloader.dataset.indices == [
        positions[i] for i in folds[0]]
    assert fold_cfg.train_dataloader.dataset.indices == [
        positions[i] for i in folds[1]]
    md = (work / 'kfold_results.md').read_text()
    assert '| ensemble+tta |' in md and 'folds mean ± std' in md
    for png in ('kfold_worst.png', 'kfold_curves.png'):
        assert cv2.imread(str(work / png)) is not None, png
    # an interrupted fold 1 is re-run alone; fold 0 and full are kept
    (work / 'fold_1' / 'run_summary.json').unlink()
    kept = {p: p.stat().st_mtime for p in (work / 'fold_0').glob('*.pth')}
    with pytest.raises(Exception, match='not finished: fold_1'):
        kfold.main(args + ['--eval-only'])
    assert kfold.main(args + ['--only-fold', '1', '--no-eval']) == 0
    assert (work / 'fold_1' / 'run_summary.json').is_file()
    assert {p: p.stat().st_mtime for p in kept} == kept
