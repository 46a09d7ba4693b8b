"""Issue 13: what a careful user expects when things go wrong.

Same seed with and without ClearML; damaged checkpoints, work-dir mistakes,
a full disk and a second run in the same work dir as one line; SIGTERM
before training; the training time of a resumed run; testing a folder that
holds only the tested split.

Most cases call the tools' ``main`` through ``run_cli`` in this process (as
in test_train_cli_errors.py); the ClearML comparison runs ``tools/train.py``.
"""
import errno
import json
import os
import random
import shutil
import signal
import subprocess

import numpy as np
import pytest
import torch
from helpers import FAST_ENV, TINY_RESNET18_UNET, assert_one_line_error, \
    run_tool

from conftest import make_pets_dataset
from custom_modules.compat import robustness
from custom_modules.compat import (DamagedCheckpointError,
                                   load_checkpoint_file)
from custom_modules.tools import predict, test, train
from custom_modules.common.errors import run_cli
from custom_modules.tools.lock import WorkDirLock

CONFIG = 'configs/pets/resnet18_unet.py'
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2',
         'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1']


def train_args(root, work, *extra, options=()):
    return [CONFIG, '--data-root', str(root), '--work-dir', str(work),
            '--pretrained', 'none', '--no-clearml', *map(str, extra),
            '--cfg-options', *TINY_RESNET18_UNET, *SHORT, *options]


def cli(main, argv, capsys):
    """Exit status and ``error:``/``interrupted:`` lines of ``main`` run as
    the tools run it."""
    with pytest.raises(SystemExit) as done:
        run_cli(main, argv)
    out = capsys.readouterr()
    assert 'Traceback' not in out.out + out.err
    errors = [line for line in out.err.splitlines()
              if line.startswith(('error:', 'interrupted:'))]
    return done.value.code, errors


def _dead_pid() -> int:
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


@pytest.fixture(scope='module')
def trained(tiny_pets, tmp_path_factory):
    """Two iterations in a work dir holding the lock file of a killed run;
    returns (work dir, exit status, tool output)."""
    work = tmp_path_factory.mktemp('rel') / 'run'
    work.mkdir()
    (work / '.lock').write_text(f'{_dead_pid()}\n')
    with pytest.raises(SystemExit) as done:
        run_cli(train.main, train_args(tiny_pets, work))
    return work, done.value.code


# --- 1. ClearML keeps the run's seed ---------------------------------------


def test_clearml_task_init_leaves_the_seeded_generators_alone(monkeypatch,
                                                              tmp_path):
    from custom_modules.visualization import PetsClearMLVisBackend
    monkeypatch.setenv('CLEARML_OFFLINE_MODE', '1')

    def draw():
        return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
                random.random())

    torch.manual_seed(42), np.random.seed(42), random.seed(42)
    expected = draw()
    torch.manual_seed(42), np.random.seed(42), random.seed(42)
    backend = PetsClearMLVisBackend(save_dir=str(tmp_path / 'vis'),
                                    task_name='seed')
    assert backend.experiment is not None  # Task.init ran
    try:
        assert backend.mode == 'offline'
        assert draw() == expected
    finally:
        backend.close()


def _first_losses(work):
    scalars = next(work.glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return {r['step']: r['train/loss'] for r in rows if 'train/loss' in r}


def test_same_seed_same_training_with_and_without_clearml(
        tiny_pets, tmp_path, monkeypatch):
    """Issue 13: loss 1.7361 with --no-clearml, 1.8742 with ClearML."""
    for key in list(os.environ):  # a Task.init in this process (an earlier
        # test) exports its id; the tool would then get a stub, not a task
        if key.startswith(('CLEARML_PROC', 'TRAINS_PROC', 'CLEARML_TASK',
                           'TRAINS_TASK')):
            monkeypatch.delenv(key)
    works = {}
    for clearml in (False, True):
        work = tmp_path / ('clearml' if clearml else 'plain')
        args = train_args(tiny_pets, work, '--seed', 7)
        if clearml:
            args.remove('--no-clearml')
        proc = run_tool('train.py', *args,
                        env={**FAST_ENV, 'CLEARML_OFFLINE_MODE': '1'})
        works[clearml] = work
    output = proc.stdout + proc.stderr
    assert 'ClearML offline session: ' in output  # a real task was logged
    assert 'StubObject' not in output
    plain, logged = (_first_losses(works[k]) for k in (False, True))
    assert plain[1] == logged[1] and plain == logged
    weights = [load_checkpoint_file(str(works[k] / 'iter_2.pth'))
               ['state_dict'] for k in (False, True)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


#: The config's faster modules swapped for mmseg's own (and the malloc
#: setting left alone): the same seed must give the same training.
MMSEGS_OWN = ['model.data_preprocessor.type=SegDataPreProcessor',
              'default_hooks.retain_freed_memory.enable=False',
              'train_dataloader.dataset.pipeline.3.type=RandomCrop',
              'train_dataloader.dataset.pipeline.5.type=PhotoMetricDistortion',
              'train_dataloader.dataset.pipeline.6.type=PackSegInputs']


def test_same_seed_same_training_with_mmsegs_own_modules(tiny_pets,
                                                         tmp_path):
    """FastRandomCrop, FastPhotoMetricDistortion, FastPackSegInputs,
    FastSegDataPreProcessor and RetainFreedMemoryHook change the speed of a
    run, not its numbers."""
    works = {}
    for name, options in (('project', ()), ('mmseg', MMSEGS_OWN)):
        works[name] = tmp_path / name
        run_tool('train.py', *train_args(tiny_pets, works[name], '--seed', 7,
                                         options=options), env=FAST_ENV)
    used = {k: (works[k] / 'resnet18_unet.py').read_text()
            for k in works}  # the configs the runs saved
    assert "type='SegDataPreProcessor'" in used['mmseg']
    assert "type='FastSegDataPreProcessor'" in used['project']
    project, mmseg = (_first_losses(works[k]) for k in ('project', 'mmseg'))
    assert len(project) == 2 and project == mmseg
    weights = [load_checkpoint_file(str(works[k] / 'iter_2.pth'))
               ['state_dict'] for k in ('project', 'mmseg')]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


# --- 2. Damaged checkpoints --------------------------------------------------


def _damaged(tmp_path, kind, real):
    path = tmp_path / f'{kind}.pth'
    data = real.read_bytes()
    path.write_bytes({'empty': b'', 'truncated': data[:len(data) // 2],
                      'not a checkpoint': b'hello, I am a text file\n' * 20
                      }[kind])
    return path


DAMAGE = {'empty': 'the file is empty (0 bytes)',
          'truncated': 'the file is truncated',
          'not a checkpoint': 'not a PyTorch checkpoint'}
FIX = 'copy or download it again, or use another checkpoint'


@pytest.mark.parametrize('kind', list(DAMAGE))
def test_damaged_checkpoint_is_one_line_in_test_predict_and_resume(
        trained, tiny_pets, tmp_path, capsys, kind):
    path = _damaged(tmp_path, kind, trained[0] / 'iter_2.pth')
    expected = f'error: {path}: damaged checkpoint, {DAMAGE[kind]}'
    work = tmp_path / 'w'
    runs = {
        'test': (test.main, [CONFIG, str(path), '--data-root',
                             str(tiny_pets), '--work-dir', str(work),
                             '--no-clearml', '--cfg-options',
                             *TINY_RESNET18_UNET]),
        'predict': (predict.main, [CONFIG, str(path),
                                   str(tiny_pets / 'img' / 'val'), '--out',
                                   str(tmp_path / 'out')]),
        'resume': (train.main, train_args(tiny_pets, work, '--resume',
                                          path)),
    }
    for name, (main, argv) in runs.items():
        code, errors = cli(main, argv, capsys)
        assert code == 2 and len(errors) == 1, (name, errors)
        assert errors[0].startswith(expected) and FIX in errors[0], name
    assert not work.exists() and not (tmp_path / 'out').exists()


@pytest.mark.parametrize('kind', list(DAMAGE))
def test_the_shared_loader_names_the_damaged_file(trained, tmp_path, kind):
    """Every path (load_from, --pretrained, auto-resume) loads through it."""
    from mmengine.runner.checkpoint import _load_checkpoint
    path = _damaged(tmp_path, kind, trained[0] / 'iter_2.pth')
    with pytest.raises(DamagedCheckpointError) as err:
        _load_checkpoint(str(path), map_location='cpu')
    assert str(err.value).startswith(f'{path}: damaged checkpoint, '
                                     f'{DAMAGE[kind]}')


def test_zero_byte_checkpoint_through_tools_test(tiny_pets, tmp_path):
    path = tmp_path / 'copied.pth'
    path.write_bytes(b'')
    proc = run_tool('test.py', CONFIG, path, '--data-root', tiny_pets,
                    '--work-dir', tmp_path / 'w', '--no-clearml',
                    env=FAST_ENV, check=False)
    assert_one_line_error(proc, f'error: {path}: damaged checkpoint, the '
                          'file is empty (0 bytes); ' + FIX)


# --- 3. Work-dir mistakes and a full disk ------------------------------------


def test_work_dir_under_a_regular_file(tiny_pets, tmp_path, capsys):
    blocker = tmp_path / 'notes.txt'
    blocker.write_text('a file')
    work = blocker / 'run'
    for main, argv in ((train.main, train_args(tiny_pets, work)),
                       (test.main, [CONFIG, str(tmp_path / 'x.pth'),
                                    '--work-dir', str(work)])):
        (tmp_path / 'x.pth').write_bytes(b'\x80')  # exists; never read
        code, errors = cli(main, argv, capsys)
        assert code == 2 and errors == [
            f'error: --work-dir {work}: {blocker} is a file, not a folder; '
            'choose a folder you can write to with --work-dir PATH']


def test_work_dir_that_cannot_be_written(tiny_pets, capsys):
    work = '/proc/pets_reliability_test'
    code, errors = cli(train.main, train_args(tiny_pets, work), capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(f'error: --work-dir {work}: cannot write in '
                                '/proc (')
    assert errors[0].endswith('with --work-dir PATH')


def test_disk_full_at_a_checkpoint_names_the_last_good_one(
        tiny_pets, tmp_path, capsys, monkeypatch):
    """ENOSPC while writing iter_4.pth: one line naming iter_2.pth, which
    is intact; no partial file left."""
    work = tmp_path / 'run'
    atomic_write, write = robustness.atomic_write, robustness._write_synced
    full = {'now': False}

    def watched_atomic_write(path, data):
        full['now'] = os.path.basename(path) == 'iter_4.pth'
        atomic_write(path, data)

    def filling_write(fd, data):
        if full['now']:
            os.close(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(fd, data)

    monkeypatch.setattr(robustness, 'atomic_write', watched_atomic_write)
    monkeypatch.setattr(robustness, '_write_synced', filling_write)
    code, errors = cli(train.main, train_args(tiny_pets, work, options=[
        'train_cfg.max_iters=4']), capsys)
    assert code == 2 and errors == [
        f'error: {work}/iter_4.pth: no space left on device while writing '
        f'it (nothing of it was kept); last good checkpoint: '
        f'{work}/iter_2.pth; free some space and run the same command with '
        '--resume']
    assert sorted(p.name for p in work.glob('*.pth*')) == [
        'best_mJaccard_iter_2.pth', 'iter_2.pth']
    assert not list(work.glob('.*.tmp'))
    assert load_checkpoint_file(str(work / 'iter_2.pth'))['meta']['iter'] \
        == 2


# --- 4. One run per work dir -------------------------------------------------


def test_second_training_in_a_busy_work_dir_is_refused(tiny_pets, tmp_path,
                                                       capsys):
    work = tmp_path / 'run'
    with WorkDirLock(str(work)):  # the first run (this process holds it)
        code, errors = cli(train.main, train_args(tiny_pets, work), capsys)
        assert (work / '.lock').read_text().strip() == str(os.getpid())
    assert code == 2 and errors == [
        f'error: --work-dir {work}: another training (pid {os.getpid()}) is '
        'running in this work dir; wait for it to finish, stop it, or choose '
        f'another --work-dir (lock: {work}/.lock)']
    assert sorted(p.name for p in work.iterdir()) == []  # lock released


def test_stale_lock_of_a_killed_run_is_taken_over_and_released(trained):
    work, code = trained
    assert code == 0 and (work / 'iter_2.pth').is_file()
    assert not (work / '.lock').exists()


# --- 5. SIGTERM before training; training time after a resume ----------------


@pytest.fixture
def sigterm_fails_the_test():
    """Without the tools' own handler, SIGTERM fails the test (instead of
    killing pytest)."""
    def unhandled(signum, frame):
        raise AssertionError('SIGTERM was not handled by the tool')
    previous = signal.signal(signal.SIGTERM, unhandled)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_before_training_is_one_line(tiny_pets, tmp_path, capsys,
                                             monkeypatch,
                                             sigterm_fails_the_test):
    def killed_during_checks(cfg):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(train, 'preflight', killed_during_checks)
    work = tmp_path / 'run'
    code, errors = cli(train.main, train_args(tiny_pets, work), capsys)
    assert code == 143 and errors == [
        'interrupted: SIGTERM received; stopped at once, files already '
        'written are kept; run the same command again (a training: with '
        '--resume to continue from its last checkpoint)']
    assert not work.exists()
    assert signal.getsignal(signal.SIGTERM).__name__ == 'unhandled'


def test_train_seconds_after_a_resume_count_the_whole_training(
        trained, tiny_pets, tmp_path, capsys):
    work = tmp_path / 'run'
    shutil.copytree(trained[0], work)
    first = json.loads((work / 'run_summary.json').read_text())
    saved = load_checkpoint_file(str(work / 'iter_2.pth'))
    before = saved['message_hub']['runtime_info']['train_seconds']
    assert 0 < before <= first['train_seconds'] + 0.05
    code, _ = cli(train.main, train_args(tiny_pets, work, '--resume',
                                         options=['train_cfg.max_iters=4']),
                  capsys)
    assert code == 0
    summary = json.loads((work / 'run_summary.json').read_text())
    assert summary['iters'] == 4
    assert summary['train_seconds'] > round(before, 1)
    resumed = load_checkpoint_file(str(work / 'iter_4.pth'))
    assert resumed['message_hub']['runtime_info']['train_seconds'] > before


# --- 6. Testing needs only the tested split ----------------------------------


def test_test_split_only_folder(trained, tmp_path, capsys):
    root = make_pets_dataset(tmp_path / 'holdout', {'test': 3})
    work = tmp_path / 'w'
    code, errors = cli(test.main, [
        CONFIG, str(trained[0] / 'iter_2.pth'), '--data-root', str(root),
        '--split', 'test', '--work-dir', str(work), '--no-clearml',
        '--cfg-options', *TINY_RESNET18_UNET], capsys)
    assert code == 0 and errors == []
    results = json.loads((work / 'test_results.json').read_text())
    assert 0 <= results['metrics']['mJaccard'] <= 100
    assert not (root / 'img' / 'train').exists()


def test_lock_is_a_no_op_on_ranks_other_than_0(tmp_path, monkeypatch):
    """Under torchrun every rank runs tools/train.py in the same work dir;
    only rank 0 locks it (the `with` statement must not lock the others)."""
    from custom_modules.tools.lock import lock_work_dir
    monkeypatch.setenv('RANK', '1')
    with lock_work_dir(str(tmp_path / 'w'), 'pytorch'):
        assert not (tmp_path / 'w' / '.lock').exists()
    monkeypatch.setenv('RANK', '0')
    with lock_work_dir(str(tmp_path / 'w'), 'pytorch'):
        assert (tmp_path / 'w' / '.lock').read_text().strip() == \
            str(os.getpid())
