"""The data tools import no torch, mmengine, mmcv or mmseg (docs/data.md),
for --help and for their runs; every other command line (tools/*.py,
benchmarks/*.py) parses its arguments (--help) before
importing torch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / 'tools'
STACK = {'torch', 'mmengine', 'mmcv', 'mmseg'}


def imported_packages(tool, *args, cwd):
    """Top-level packages ``tools/<tool> args`` imported (``-X importtime``);
    the tool must exit 0."""
    proc = subprocess.run(
        [sys.executable, '-X', 'importtime', str(TOOLS / tool), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    names = {line.rsplit('|', 1)[-1].strip().split('.')[0]
             for line in proc.stderr.splitlines()
             if line.startswith('import time:')}
    assert 'numpy' in names or tool in ('train.py', 'test.py'), names
    return names


@pytest.mark.parametrize('tool', ['check_dataset.py', 'prepare_data.py',
                                  'class_weights.py', 'coco_convert.py'])
def test_data_tool_help_imports_no_torch(tool, tmp_path):
    assert not imported_packages(tool, '--help', cwd=tmp_path) & STACK


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_train_and_test_help_import_no_torch(tool, tmp_path):
    """Only mmengine's config module (``DictAction``) for the parser."""
    names = imported_packages(tool, '--help', cwd=tmp_path)
    assert not names & {'torch', 'mmcv', 'mmseg'}


def test_data_tool_runs_import_no_torch(tiny_pets, tmp_path):
    runs = [
        ('check_dataset.py', tiny_pets, '--report-dir', tmp_path / 'report'),
        ('class_weights.py', tiny_pets),
        ('prepare_data.py', 'course', tiny_pets, '--out', tmp_path / 'pets'),
        ('coco_convert.py', 'to-coco', tiny_pets / 'labels' / 'val',
         '--out', tmp_path / 'val.json'),
    ]
    for tool, *args in runs:
        assert not imported_packages(tool, *args, cwd=tmp_path) & STACK, tool
    assert (tmp_path / 'report' / 'report.md').is_file()
    assert (tmp_path / 'val.json').is_file()


REPO = TOOLS.parent
#: Every command line: tools/*.py and benchmarks/*.py (found, not listed,
#: so a new script is covered too).
COMMANDS = sorted(
    str(p.relative_to(REPO)) for folder in ('tools', 'benchmarks')
    for p in (REPO / folder).glob('*.py')
    if not p.name.startswith('_'))


def test_every_command_line_is_covered():
    assert len(COMMANDS) >= 20 and 'tools/predict.py' in COMMANDS and \
        'benchmarks/budget.py' in COMMANDS


@pytest.mark.parametrize('script', COMMANDS)
def test_help_answers_without_importing_torch(script, tmp_path):
    """``--help`` prints the usage before torch, mmcv or mmseg are imported:
    importing them first is what made predict, kfold, compare and
    benchmarks/budget take 3.3-3.8 s to answer. The imports are checked,
    not the seconds, which depend on the machine and its load."""
    proc = subprocess.run(
        [sys.executable, '-X', 'importtime', str(REPO / script), '--help'],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'usage:' in proc.stdout
    names = {line.rsplit('|', 1)[-1].strip().split('.')[0]
             for line in proc.stderr.splitlines()
             if line.startswith('import time:')}
    assert 'argparse' in names  # the import log was read
    assert not names & {'torch', 'mmcv', 'mmseg'}, script
