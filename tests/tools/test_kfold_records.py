"""k-fold reuses only matching, finished folds, resumes interrupted ones,
and passes SIGTERM/SIGINT to the fold that is training.

A fold's identity is ``kfold_job.json`` in its work dir: the fingerprint
of the config its training child builds (and its indices)."""
import json
import os
import shutil
import signal

import pytest
import torch
from helpers import (TINY_RESNET18_UNET, Tool, tiny_cfg_options,
                     train_iterations)

from custom_modules.common.errors import UserError
from custom_modules.tools import kfold, train
from custom_modules.tools.config import load_config
from custom_modules.tools.lock import WorkDirLock

CONFIG = 'configs/pets/resnet18_unet.py'


def study_args(root, work, *options):
    return [CONFIG, '--folds', '2', '--data-root', str(root), '--work-dir',
            str(work), '--pretrained', 'none', '--no-clearml', '--no-full',
            '--cfg-options', *TINY_RESNET18_UNET, *options]


def lines_of(out, name):
    return [line for line in out.splitlines()
            if line.startswith(f'{name}:')]


# -- records and states, no training --------------------------------------

def _job(tmp_path, fingerprint='abc', max_iters=4):
    job = kfold.Job('fold_0', str(tmp_path / 'fold_0'), train=[1, 3],
                    val=[0, 2])
    job.record = dict(fingerprint=fingerprint, max_iters=max_iters,
                      config=dict(train_cfg=dict(max_iters=max_iters)))
    return job


def _checkpoint(job, it):
    path = os.path.join(job.work_dir, f'iter_{it}.pth')
    torch.save({'meta': {'iter': it}}, path)
    with open(os.path.join(job.work_dir, 'last_checkpoint'), 'w') as f:
        f.write(path)
    return path


def _summary(job, **values):
    summary = dict(iters=4, max_iters=4, stopped_early=False,
                   stop_reason=None)
    summary.update(values)
    with open(os.path.join(job.work_dir, 'run_summary.json'), 'w') as f:
        json.dump(summary, f)


def test_job_states_follow_the_record_and_the_summary(tmp_path):
    job = _job(tmp_path)
    assert job.state == 'new'
    job.write_record()
    assert json.loads(open(os.path.join(job.work_dir, 'kfold_job.json'))
                      .read())['fingerprint'] == 'abc'
    assert not [n for n in os.listdir(job.work_dir) if n.endswith('.tmp')]
    assert job.state == 'new'  # recorded, nothing saved yet
    ckpt = _checkpoint(job, 2)
    assert job.state == 'interrupted' and job.resume_from() == ckpt
    _summary(job, iters=2, stop_reason='SIGTERM')  # stopped by a signal
    assert job.state == 'interrupted' and not job.done
    _summary(job, iters=2)  # no reason, but short of max_iters
    assert job.state == 'interrupted'
    _summary(job, iters=2, stopped_early=True)  # early stopping: finished
    assert job.state == 'done' and job.done
    _checkpoint(job, 4)
    _summary(job)
    assert job.state == 'done'
    other = _job(tmp_path, fingerprint='xyz', max_iters=8)
    assert other.state == 'mismatch' and not other.done
    assert other.mismatch_reason() == \
        'trained with another config: train_cfg.max_iters 4 -> 8'
    os.remove(os.path.join(job.work_dir, 'kfold_job.json'))  # an old dir
    assert job.state == 'mismatch'
    assert 'no kfold_job.json' in job.mismatch_reason()
    target = job.move_aside()
    assert os.path.basename(target).startswith('fold_0.stale-')
    assert os.path.isfile(os.path.join(target, 'iter_4.pth'))
    assert job.state == 'new' and not os.path.exists(job.work_dir)


def test_fold_metadata_reaches_the_training_config(tmp_path):
    cfg = load_config(CONFIG, {'fold.name': 'fold_1', 'fold.k': 5,
                               'fold.split_seed': 0})
    assert cfg.fold == dict(name='fold_1', k=5, split_seed=0)
    with pytest.raises(UserError, match="did you mean 'train_cfg'"):
        load_config(CONFIG, {'trian_cfg.max_iters': 2})  # still checked
    args = kfold.build_parser().parse_args([CONFIG, '--folds', '5',
                                            '--split-seed', '3'])
    job = kfold.Job('fold_1', str(tmp_path / 'fold_1'), [0, 1], [2])
    cmd = kfold.train_command(args, job, 'resnet18_unet', 'train')
    cfg = train.prepare_config(train.build_parser().parse_args(cmd[2:]))
    assert cfg.fold == dict(name='fold_1', k=5, split_seed=3)


def test_fingerprint_is_the_config_the_fold_trains(tmp_path):
    args = kfold.build_parser().parse_args(
        [CONFIG, '--folds', '2', '--no-clearml', '--cfg-options',
         'train_cfg.max_iters=2'])
    job = kfold.Job('fold_0', str(tmp_path / 'fold_0'), [0, 1], [2])

    def record(args, job=job):
        argv = kfold.train_command(args, job, 'resnet18_unet', 'train')[2:]
        return kfold.job_record(job, argv, CONFIG, args.cfg_options)

    first = record(args)
    assert first['max_iters'] == 2 and first['train_images'] == 2
    assert record(args)['fingerprint'] == first['fingerprint']  # stable
    # ClearML on or off, another location: the same training
    with_clearml = kfold.build_parser().parse_args(
        [CONFIG, '--folds', '2', '--cfg-options', 'train_cfg.max_iters=2'])
    assert record(with_clearml)['fingerprint'] == first['fingerprint']
    moved = kfold.Job('fold_0', str(tmp_path / 'moved'), [0, 1], [2])
    assert record(args, moved)['fingerprint'] == first['fingerprint']
    longer = kfold.build_parser().parse_args(
        [CONFIG, '--folds', '2', '--no-clearml', '--cfg-options',
         'train_cfg.max_iters=4'])
    assert record(longer)['fingerprint'] != first['fingerprint']
    other_fold = kfold.Job('fold_0', str(tmp_path / 'fold_0'), [0, 2], [1])
    assert record(args, other_fold)['fingerprint'] != first['fingerprint']


# -- with training ----------------------------------------------------------

@pytest.fixture(scope='module')
def study_2_iters(tiny_pets, tmp_path_factory):
    """Two folds trained for 2 iterations (no evaluation)."""
    work = tmp_path_factory.mktemp('study') / 'kf'
    assert kfold.main(study_args(tiny_pets, work, *tiny_cfg_options(2))
                      + ['--no-eval']) == 0
    return work


def test_changed_options_retrain_the_folds_and_keep_the_old_runs(
        tiny_pets, study_2_iters, tmp_path, capsys):
    work = tmp_path / 'kf'
    shutil.copytree(study_2_iters, work)
    capsys.readouterr()
    args4 = study_args(tiny_pets, work, *tiny_cfg_options(4))
    # the finished 2-iteration folds are not this study: no evaluation
    with pytest.raises(UserError) as err:
        kfold.main(args4 + ['--eval-only'])
    assert 'fold_0, fold_1 not trained with this config' in str(err.value)
    assert 'train_cfg.max_iters 2 -> 4' in str(err.value)
    # trained again; one line each names the change, the old run is kept
    assert kfold.main(args4 + ['--no-eval']) == 0
    out = capsys.readouterr().out
    for fold in ('fold_0', 'fold_1'):
        said = lines_of(out, fold)
        assert len(said) == 1, out
        assert 'train_cfg.max_iters 2 -> 4' in said[0]
        stale = list(work.glob(f'{fold}.stale-*'))
        assert len(stale) == 1 and str(stale[0]) in said[0]
        assert (stale[0] / 'iter_2.pth').is_file()
        assert json.loads((stale[0] / 'run_summary.json').read_text())[
            'iters'] == 2
        assert json.loads((work / fold / 'run_summary.json').read_text())[
            'iters'] == 4
        record = json.loads((work / fold / 'kfold_job.json').read_text())
        assert record['max_iters'] == 4 and record['val_images'] == 4
    # the same command again: both reused, evaluated on their 4-iter models
    assert kfold.main(args4) == 0
    out = capsys.readouterr().out
    for fold in ('fold_0', 'fold_1'):
        assert lines_of(out, fold)[0].startswith(f'{fold}: done ('), out
    assert 'training on' not in out
    result = json.loads((work / 'kfold_results.json').read_text())
    assert result['checkpoints']['fold_0'].startswith(str(work / 'fold_0'))
    assert len(list(work.glob('fold_*.stale-*'))) == 2


def test_a_fold_stopped_by_sigterm_is_resumed_not_ensembled(
        tiny_pets, study_2_iters, tmp_path, capsys):
    work = tmp_path / 'kf'
    shutil.copytree(study_2_iters, work)
    args = study_args(tiny_pets, work, *tiny_cfg_options(2))
    # fold_0 as a SIGTERM after its first iteration leaves it
    fold = work / 'fold_0'
    (fold / 'iter_2.pth').unlink()
    model = torch.load(str(study_2_iters / 'fold_0' / 'iter_2.pth'),
                       map_location='cpu', weights_only=False)
    model['meta']['iter'] = 1
    model['message_hub']['runtime_info'].update(iter=1)
    torch.save(model, str(fold / 'iter_1.pth'))
    (fold / 'last_checkpoint').write_text(str(fold / 'iter_1.pth'))
    summary = json.loads((fold / 'run_summary.json').read_text())
    summary.update(iters=1, stop_reason='SIGTERM', stopped_early=False)
    (fold / 'run_summary.json').write_text(json.dumps(summary))
    capsys.readouterr()
    with pytest.raises(UserError, match='not finished: fold_0;'):
        kfold.main(args + ['--eval-only'])
    assert kfold.main(args) == 0
    out = capsys.readouterr().out
    assert lines_of(out, 'fold_0')[0] == \
        f'fold_0: resuming from {fold}/iter_1.pth (iteration 1)', out
    assert lines_of(out, 'fold_1')[0].startswith('fold_1: done (')
    logs = sorted(fold.glob('*/*.log'), key=lambda p: p.stat().st_mtime)
    assert train_iterations(logs[-1].read_text()) == [2]
    summary = json.loads((fold / 'run_summary.json').read_text())
    assert summary['stop_reason'] is None and summary['iters'] == 2
    result = json.loads((work / 'kfold_results.json').read_text())
    assert list(result['metrics'])[:3] == ['fold_0', 'fold_1', 'ensemble']


def test_sigterm_reaches_the_training_fold_and_the_rerun_resumes(
        tiny_pets, tmp_path):
    work = tmp_path / 'kf'
    args = study_args(tiny_pets, work, *tiny_cfg_options(200))
    fold = work / 'fold_0'

    first = Tool('kfold.py', *args, log=tmp_path / 'first.log')
    first.wait_for_iteration(2, timeout=120)
    record = json.loads((fold / 'kfold_job.json').read_text())
    assert record['max_iters'] == 200 and len(record['fingerprint']) == 64
    os.kill(first.proc.pid, signal.SIGTERM)  # kfold.py only, not its group
    assert first.wait(timeout=120) == 143, first.text()[-3000:]
    log = first.text()
    saved = [int(p.stem.split('_')[1]) for p in fold.glob('iter_*.pth')]
    assert len(saved) == 1, log[-3000:]
    n = saved[0]
    assert n >= train_iterations(log)[-1]
    assert log.rstrip().splitlines()[-1] == (
        'interrupted: fold_0 saved its checkpoint; run the same kfold.py '
        'command again to continue')
    assert '=== fold_1' not in log and 'Traceback' not in log
    assert json.loads((fold / 'run_summary.json').read_text())[
        'stop_reason'] == 'SIGTERM'
    WorkDirLock(str(fold)).acquire().release()  # nobody holds the lock

    second = Tool('kfold.py', *args, log=tmp_path / 'second.log')
    second.wait_for_iteration(n + 1, timeout=120)
    os.kill(second.proc.pid, signal.SIGINT)  # Ctrl-C goes through too
    assert second.wait(timeout=120) == 130, second.text()[-3000:]
    log = second.text()
    assert f'fold_0: resuming from {fold}/iter_{n}.pth (iteration {n})' \
        in log
    assert train_iterations(log)[0] == n + 1
    assert not list(work.glob('fold_0.stale-*'))
    assert log.rstrip().splitlines()[-1].startswith(
        'interrupted: fold_0 saved its checkpoint')
