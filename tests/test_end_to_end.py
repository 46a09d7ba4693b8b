"""The tools as a user runs them: train, test with and without TTA, ClearML.

Each run is a subprocess of ``tools/train.py`` / ``tools/test.py`` with a
few iterations. The synthetic run always executes; the real-data runs cover
all three model families on a handful of ``../shared/data/pets`` images.
"""
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_tool(tool, *args, env=None, check=True):
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / tool), *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f'{tool} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


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


def tiny_cfg_options(iters):
    """A few iterations, no worker processes, checkpoint and val at the end."""
    options = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
               f'default_hooks.checkpoint.interval={iters}',
               'train_dataloader.batch_size=2', 'param_scheduler.0.end=1',
               'default_hooks.logger.interval=1']
    for loader in ('train', 'val', 'test'):
        options += [f'{loader}_dataloader.num_workers=0',
                    f'{loader}_dataloader.persistent_workers=False']
    return options


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_and_test(config, data_root, work_dir, iters, cfg=(), env=None):
    """Train for ``iters`` iterations, then test the checkpoint with and
    without ``--tta``; returns the training output and both result JSONs."""
    options = ['--cfg-options', *tiny_cfg_options(iters), *cfg]
    train = run_tool('train.py', config, '--data-root', data_root,
                     '--work-dir', work_dir, '--pretrained', 'none',
                     *options, env=env)
    output = train.stdout + train.stderr
    assert f'best at iter {iters}: mJaccard' in output
    ckpt = work_dir / f'iter_{iters}.pth'
    assert ckpt.is_file()
    results = {}
    for tta in (False, True):
        run_tool('test.py', config, ckpt, '--data-root', data_root,
                 '--work-dir', work_dir, '--no-clearml', *options,
                 *(['--tta'] if tta else []), env=env)
        name = 'test_results_tta.json' if tta else 'test_results.json'
        results[tta] = json.loads((work_dir / name).read_text())
    return output, results


def test_train_and_test_on_synthetic_data_with_clearml_down(tiny_pets,
                                                            tmp_path):
    """ClearML configured but its server is down: the run still finishes."""
    conf = tmp_path / 'clearml.conf'
    conf.write_text(
        'api { api_server: "http://127.0.0.1:%d"\n'
        'credentials { access_key: "k", secret_key: "s" } }\n'
        % _closed_port())
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


@pytest.mark.parametrize('name', ['unet', 'deeplabv3plus', 'resnet_unet'])
def test_each_config_trains_and_tests_on_real_images(name, real_pets_root,
                                                     tmp_path):
    work = tmp_path / name
    few_images = [f'{split}_dataloader.dataset.indices=4'
                  for split in ('train', 'val', 'test')]
    output, results = train_and_test(f'configs/pets/{name}.py',
                                      real_pets_root, work, iters=2,
                                      cfg=few_images)
    scalars = offline_scalars(output)
    assert ('loss', 'train') in scalars and ('mJaccard', 'val') in scalars
    for result in results.values():
        assert 0 <= result['metrics']['mJaccard'] <= 100
    assert (work / 'per_image.csv').read_text().count('\n') == 5  # 4 + header
