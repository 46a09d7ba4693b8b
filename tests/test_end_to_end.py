"""The tools as a user runs them: train, test with and without TTA, ClearML.

Each run is a subprocess of ``tools/train.py`` / ``tools/test.py`` with a
few iterations. The synthetic run always executes; the real-data runs cover
all three model families on a handful of ``../shared/data/pets`` images.
"""
import json
import zipfile

import cv2
import numpy as np
import pytest
from helpers import closed_port, run_tool, tiny_cfg_options

from custom_modules.common.overlay import legend_entries, legend_strip


def offline_scalars(output: str) -> dict:
    """(title, series) -> values, read from the offline session zip named in
    the tool's output."""
    line = next(line for line in output.splitlines()
                if 'ClearML offline session:' in line)
    path = line.split('ClearML offline session:')[1].strip()
    with zipfile.ZipFile(path) as z:
        events = [e for row in z.read('metrics.jsonl').decode().splitlines()
                  for e in json.loads(row)]
    out = {}
    for e in events:
        if e['type'] == 'training_stats_scalar':
            out.setdefault((e['metric'], e['variant']), []).append(e['value'])
    return out


def train_and_test(config, data_root, work_dir, iters, cfg=(), env=None):
    """Train for ``iters`` iterations, then test the checkpoint plain,
    with ``--tta`` (flip) and ``--tta ms``; returns the training output and
    the three result JSONs."""
    options = ['--cfg-options', *tiny_cfg_options(iters), *cfg]
    train = run_tool('train.py', config, '--data-root', data_root,
                     '--work-dir', work_dir, '--pretrained', 'none',
                     *options, env=env)
    output = train.stdout + train.stderr
    assert f'best at iter {iters}: mJaccard' in output
    ckpt = work_dir / f'iter_{iters}.pth'
    assert ckpt.is_file()
    results = {}
    files = {None: 'test_results.json', 'flip': 'test_results_tta.json',
             'ms': 'test_results_tta_ms.json'}
    for tta, name in files.items():
        pictures = ['--out', work_dir / 'masks', '--show-dir',
                    work_dir / 'show'] if tta == 'flip' else []
        flags = {None: [], 'flip': ['--tta'], 'ms': ['--tta', 'ms']}[tta]
        run_tool('test.py', config, ckpt, '--data-root', data_root,
                 '--work-dir', work_dir, '--no-clearml', *options,
                 *flags, *pictures, env=env)
        results[tta] = json.loads((work_dir / name).read_text())
        assert results[tta]['provenance']['tta'] == (tta or False)
    return output, results


def test_train_and_test_on_synthetic_data_with_clearml_down(tiny_pets,
                                                            tmp_path):
    """ClearML configured but its server is down: the run still finishes."""
    conf = tmp_path / 'clearml.conf'
    conf.write_text(
        'api { api_server: "http://127.0.0.1:%d"\n'
        'credentials { access_key: "k", secret_key: "s" } }\n'
        % closed_port())
    work = tmp_path / 'run'
    output, results = train_and_test(
        'configs/pets/resnet18_unet.py', tiny_pets, work, iters=3,
        env={'CLEARML_CONFIG_FILE': str(conf)})
    assert 'unreachable' in output
    scalars = offline_scalars(output)
    assert len(scalars[('loss', 'train')]) >= 1
    assert ('mJaccard', 'val') in scalars and ('Jaccard', 'cat val') in scalars
    for result in results.values():
        metrics = result['metrics']
        assert 0 <= metrics['mJaccard'] <= 100
        assert {'Jaccard.cat', 'Dice.dog', 'mDice'} <= set(metrics)
        assert 'cat' in result['table']
    # --out: one class-id mask per val image; --show-dir: 4-panel pictures
    masks = sorted((work / 'masks').glob('*.png'))
    assert [m.stem for m in masks] == [f'val_{i:03d}' for i in range(4)]
    for mask in masks:
        values = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
        assert values.shape == (64, 64) and set(np.unique(values)) <= {0, 1, 2}
    picture = cv2.imread(str(work / 'show' / 'val_000.png'))
    legend = legend_strip(4 * 64, legend_entries(errors=True))
    # image | GT | prediction | errors, then the legend
    assert picture.shape == (64 + legend.shape[0], 4 * 64, 3)


@pytest.mark.parametrize('name', ['unet', 'deeplabv3plus', 'resnet_unet',
                                  'cpu_fast'])
def test_each_config_trains_and_tests_on_real_images(name, real_pets_root,
                                                     tmp_path):
    work = tmp_path / name
    # one batch of two photos (the configs' BatchNorm needs two per batch)
    few_images = [f'{split}_dataloader.dataset.indices=2'
                  for split in ('train', 'val', 'test')]
    output, results = train_and_test(f'configs/pets/{name}.py',
                                      real_pets_root, work, iters=1,
                                      cfg=few_images)
    scalars = offline_scalars(output)
    assert ('loss', 'train') in scalars and ('mJaccard', 'val') in scalars
    for result in results.values():
        assert 0 <= result['metrics']['mJaccard'] <= 100
    assert (work / 'per_image.csv').read_text().count('\n') == 3  # 2 + header
