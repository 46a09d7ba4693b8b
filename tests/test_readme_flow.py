"""The README flow in a fresh folder: train, test (plain and --tta) into the
default work dir, then compare.py and plot_curves.py over ``work_dirs/*``;
the default checkpoint policy keeps the best and the last two.

Testing a run writes its own ``<timestamp>/vis_data/scalars.json`` (step 0)
beside the training's; the training curves must survive it.
"""
import json
import os
import subprocess
import sys

from helpers import FAST_ENV, REPO, TINY_RESNET18_UNET, tiny_cfg_options

CONFIG = REPO / 'configs' / 'pets' / 'resnet18_unet.py'


def run_in(cwd, tool, *args):
    """Run ``tools/<tool>`` with ``cwd`` as the working folder; exit 0."""
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, **FAST_ENV})
    assert proc.returncode == 0, (tool, proc.stdout[-3000:],
                                  proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def test_train_test_compare_plot_in_default_work_dir(tiny_pets, tmp_path):
    iters = 3
    options = ['--cfg-options', *tiny_cfg_options(iters), *TINY_RESNET18_UNET]
    saves = ['default_hooks.checkpoint.interval=1']  # a checkpoint per iter
    run_in(tmp_path, 'train.py', CONFIG, '--data-root', tiny_pets,
           '--pretrained', 'none', '--no-clearml', *options, *saves)
    work = tmp_path / 'work_dirs' / 'resnet18_unet'
    ckpt = work / f'iter_{iters}.pth'
    # the base schedule keeps the best checkpoint and the last two
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'best_mJaccard_iter_3.pth', 'iter_2.pth', 'iter_3.pth']
    for tta in ([], ['--tta']):
        run_in(tmp_path, 'test.py', CONFIG, ckpt, '--data-root', tiny_pets,
               '--no-clearml', *options, *tta)
    assert len(list(work.glob('*/vis_data/scalars.json'))) == 3
    # the work dir keeps the training config (compare.py reads it); each
    # test run's own config is in its <timestamp>/ folder
    from mmengine.config import Config
    kept = Config.fromfile(str(work / 'resnet18_unet.py'))
    assert kept.model.type != 'FlipTTA' and kept.load_from is None
    tested = [Config.fromfile(str(p)).model.type
              for p in sorted(work.glob('*/resnet18_unet.py'))]
    assert tested == [kept.model.type, 'FlipTTA']

    out = run_in(tmp_path, 'compare.py', *(tmp_path / 'work_dirs').glob('*'))
    assert 'skipped' not in out
    run = json.loads((tmp_path / 'work_dirs' / 'compare' /
                      'compare.json').read_text())['runs']
    assert [r['run'] for r in run] == ['resnet18_unet']
    assert run[0]['iters'] == iters and run[0]['best_iter'] == iters
    test = json.loads((work / 'test_results.json').read_text())['metrics']
    tta = json.loads((work / 'test_results_tta.json').read_text())['metrics']
    assert run[0]['test']['test']['mJaccard'] == test['mJaccard']
    assert run[0]['test']['test_tta']['mJaccard'] == tta['mJaccard']
    header, row = [[c.strip() for c in line.strip('|').split('|')]
                   for line in out.splitlines() if line.startswith('| ')][:2]
    cells = dict(zip(header, row))
    assert cells['test mJaccard'] == f"{test['mJaccard']:.2f}"
    assert cells['test+TTA mJaccard'] == f"{tta['mJaccard']:.2f}"
    assert cells['tta'] == 'yes'

    out = run_in(tmp_path, 'plot_curves.py', work, '--out', 'curves.png')
    assert 'best val mJaccard' in out and f'at iter {iters}' in out
    assert (tmp_path / 'curves.png').stat().st_size > 0

    from custom_modules.common.curves import read_scalars
    curves = read_scalars(str(work))
    assert list(curves['train/loss'][0]) == [1, 2, 3]
    assert list(curves['val/mJaccard'][0]) == [iters]


def test_readme_lists_every_registered_module():
    """The README's inventory names each class the package registers."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    registered = {m.group(1) for path in (root / 'custom_modules').rglob('*.py')
                  for m in re.finditer(r'\.register_module\(\)\s*\nclass (\w+)',
                                       path.read_text())}
    assert len(registered) > 20, registered
    readme = (root / 'README.md').read_text()
    assert sorted(n for n in registered if f'`{n}`' not in readme) == []
