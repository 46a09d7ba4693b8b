"""The terminal of tools/train.py and tools/test.py: a short header, the
progress, the results; the environment, config and hook table only in the
log file (and on the terminal with --debug)."""
import logging
import os
import subprocess

import pytest
import torch
from helpers import (FAST_ENV, REPO, TINY_RESNET18_UNET, tiny_cfg_options,
                     tool_command)

from custom_modules.tools.console import FileOnlyFilter, _CpuGpuNumber

CONFIG = 'configs/pets/resnet18_unet.py'
DUMP = ('System environment:', 'Config:', 'Hooks will be executed')
NOISE = ('prefix is not set', '"FileClient"', '"HardDiskBackend"')


def terminal(tool, *args) -> str:
    """What ``tools/<tool> args`` prints, stdout and stderr in order."""
    proc = subprocess.run(
        tool_command(tool, *args), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=900,
        env={**os.environ, **FAST_ENV})
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


def train(data, work, *extra, iters=2) -> str:
    return terminal('train.py', CONFIG, '--data-root', data, '--work-dir',
                    work, '--pretrained', 'none', '--no-clearml', *extra,
                    '--cfg-options', *TINY_RESNET18_UNET,
                    *tiny_cfg_options(iters))


def full_log(work) -> str:
    logs = list(work.glob('*/*.log'))
    assert len(logs) == 1, logs
    return logs[0].read_text()


@pytest.fixture(scope='module')
def trained(tiny_pets, tmp_path_factory):
    work = tmp_path_factory.mktemp('console') / 'run'
    return work, train(tiny_pets, work)


def test_train_terminal_is_a_short_header_then_progress(trained):
    work, out = trained
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if 'Iter(train)' in line)
    assert first < 40, '\n'.join(lines[:first])
    head = '\n'.join(lines[:first])
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    for row in ('config    ' + CONFIG, 'model     VotingEncoderDecoder: ResNet',
                'ResNetUNetHead', f'device    {device}', 'precision fp32',
                'weights   none (from scratch)', f'work dir  {work}',
                'full log  ' + str(work)):
        assert row in head, (row, head)
    for text in DUMP + NOISE:
        assert text not in out, text
    assert 'best at iter 2: mJaccard' in out
    log = full_log(work)
    for text in DUMP + ('crop_size = (', 'Iter(train)', 'training '):
        assert text in log, text


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU runs only')
def test_cpu_log_names_no_gpu(trained):
    log = full_log(trained[0])
    assert 'GPU number: 0 (CPU, 1 process)' in log
    assert 'GPU number: 1' not in log


def test_debug_keeps_everything_on_the_terminal(tiny_pets, tmp_path):
    work = tmp_path / 'run'
    out = train(tiny_pets, work, '--debug', iters=1)
    for text in DUMP + ('crop_size = (',):
        assert text in out, text
    assert f'full log  {work}' in out  # the header as well
    assert out.index('Config:') < out.index('Iter(train)')


def test_test_tool_ends_with_the_class_table(trained, tiny_pets):
    work, _ = trained
    out = terminal('test.py', CONFIG, work / 'iter_2.pth', '--data-root',
                   tiny_pets, '--work-dir',
                   work / 'test', '--no-clearml', '--cfg-options',
                   *TINY_RESNET18_UNET)
    for text in DUMP + NOISE:
        assert text not in out, text
    lines = out.rstrip().splitlines()
    tables = [i for i, line in enumerate(lines) if line.startswith('class ')]
    assert len(tables) == 1, out[-3000:]  # printed once ...
    assert [line.split()[0] for line in lines[tables[0]:tables[0] + 5]] == \
        ['class', 'background', 'cat', 'dog', 'mean']  # ... and last,
    # followed by the confusion matrix: pixels, then % of each true class
    rest = lines[tables[0] + 5:]
    assert [line.split()[:2] for line in rest if line.startswith('true')] \
        == [['true', c] for c in ('background', 'cat', 'dog')] * 2
    assert rest[1].startswith('confusion (rows: true, columns: predicted)')
    assert rest[-5].startswith('confusion, % of each true class')
    assert 'results: ' in out and 'Iter(test)' in out
    assert f'weights   {work}/iter_2.pth' in out


def record(message, level=logging.INFO):
    return logging.LogRecord('mmengine', level, __file__, 1, message, None,
                             None)


def test_filter_holds_back_only_the_dump_below_error():
    keep = FileOnlyFilter().filter
    assert not keep(record('Config:\ncrop_size = (64, 64)'))
    assert not keep(record('\n' + '-' * 60 + '\nSystem environment:\n'))
    assert not keep(record('"FileClient" will be deprecated in future.', 30))
    assert keep(record('Config:\nsomething failed', logging.ERROR))
    assert keep(record('Iter(train) [1/2]  lr: 1e-4'))
    assert keep(record('resumed epoch: 0, iter: 4'))


def test_cpu_gpu_number_is_rewritten():
    rec = record('Runtime environment:\n    GPU number: 2\n    seed: 42')
    _CpuGpuNumber().filter(rec)
    assert rec.getMessage() == ('Runtime environment:\n    GPU number: 0 '
                                '(CPU, 2 processes)\n    seed: 42')
