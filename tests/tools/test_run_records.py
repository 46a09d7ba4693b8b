"""A run's records are its own and say where they come from.

Read back as a user would: the files in the work dirs, the log, and the
offline session ClearML writes (its zip: ``task.json``, ``metrics.jsonl``),
never a mock.
"""
import csv
import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import torch
from helpers import TINY_RESNET18_UNET, run_tool

from custom_modules.compat import load_checkpoint_file

CONFIG = 'configs/pets/resnet18_unet.py'


def _options(iters, val=2, ckpt=2):
    options = [*TINY_RESNET18_UNET, f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={val}',
               f'default_hooks.checkpoint.interval={ckpt}',
               'train_dataloader.batch_size=2', 'param_scheduler.0.end=1',
               'param_scheduler.1.begin=1', f'param_scheduler.1.end={iters}',
               'default_hooks.logger.interval=1']
    return options


def _train(data, work, iters, *extra, clearml=False):
    return run_tool('train.py', CONFIG, '--data-root', data, '--work-dir',
                    work, '--pretrained', 'none',
                    *([] if clearml else ['--no-clearml']), *extra,
                    '--cfg-options', *_options(iters),
                    env={'OMP_NUM_THREADS': '1'})


def _hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _best(folder: Path) -> Path:
    found = sorted(folder.glob('best_*.pth'))
    assert len(found) == 1, found
    return found[0]


def test_resumed_and_copied_runs_never_touch_the_original(tiny_pets,
                                                          tmp_path):
    run_a = tmp_path / 'A'
    _train(tiny_pets, run_a, 4)
    # A state in which the next validation beats A's best: iter_4.pth names
    # A's best file, with a score any model beats
    ckpt = load_checkpoint_file(str(run_a / 'iter_4.pth'))
    info = ckpt['message_hub']['runtime_info']
    info['best_ckpt'], info['best_score'] = str(_best(run_a)), -1.0
    torch.save(ckpt, run_a / 'iter_4.pth')
    before = _hashes(run_a)

    # 1. --resume A's checkpoint into another work dir B
    run_b = tmp_path / 'B'
    proc = _train(tiny_pets, run_b, 6, '--resume', run_a / 'iter_4.pth')
    log = proc.stdout + proc.stderr
    assert _hashes(run_a) == before, 'the resumed run changed A'
    best_a = _best(run_a).name
    assert f'copied iter_4.pth, {best_a} into {run_b}' in log
    assert f'The previous best checkpoint {run_b}/{best_a} is removed' in log
    assert str(run_a) not in (run_b / 'last_checkpoint').read_text()
    assert _best(run_b).name == 'best_mJaccard_iter_6.pth'

    # 2. a copy of A whose newest checkpoint is damaged resumes from its
    # own older one, not from A's file that last_checkpoint still names
    run_e = tmp_path / 'E'
    shutil.copytree(run_a, run_e)
    assert str(run_a) in (run_e / 'last_checkpoint').read_text()
    data = (run_e / 'iter_4.pth').read_bytes()
    (run_e / 'iter_4.pth').write_bytes(data[:len(data) // 2])
    proc = _train(tiny_pets, run_e, 6, '--resume')
    log = proc.stdout + proc.stderr
    assert f'resuming from {run_e}/iter_2.pth' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert _hashes(run_a) == before, 'the copied run changed A'
    assert str(run_a) not in (run_e / 'last_checkpoint').read_text()


def _session(log: str) -> dict:
    """The offline session a tool's log names, as ClearML stored it."""
    found = re.findall(r'ClearML offline session: (\S+\.zip)', log)
    assert found, log[-2000:]
    with zipfile.ZipFile(found[-1]) as z:
        names = z.namelist()
        events = [e for line in z.read('metrics.jsonl').decode().splitlines()
                  for e in json.loads(line)] \
            if 'metrics.jsonl' in names else []
        return dict(task=json.loads(z.read('task.json')), events=events,
                    names=names, zip=found[-1])


def _params(session: dict) -> dict:
    return {k: v['value'] for k, v in
            session['task']['hyperparams']['run'].items()}


def _scalar_iters(session: dict, metric='loss', variant='train') -> list:
    return sorted(e['iter'] for e in session['events']
                  if e['type'] == 'training_stats_scalar' and
                  e['metric'] == metric and e['variant'] == variant)


def test_clearml_task_of_a_resumed_run_and_its_test(tiny_pets, tmp_path,
                                                    no_credentials):
    run = tmp_path / 'run'
    first = _train(tiny_pets, run, 4, clearml=True)
    record = json.loads((run / 'clearml_task.json').read_text())
    assert record['mode'] == 'offline' and record['id'].startswith('offline-')
    session = _session(first.stdout + first.stderr)
    params = _params(session)
    # everything that changes training is a hyperparameter
    assert params['schedule.1.type'] == 'PolyLR'
    assert params['schedule.1.end'] == '4'
    assert params['schedule.0.type'] == 'LinearLR'
    assert params['precision'].startswith(('fp32', 'bf16'))
    assert params['model.pretrained'] == 'none'
    assert params['data.root'] == str(tiny_pets)
    assert params['fold'] == 'none'
    # the val confusion matrix, counts and percent of the true class
    plots = {(e['metric'], e['variant'], e['iter']) for e in session['events']
             if e['type'] == 'plot'}
    assert ('confusion (pixels)', 'val', 4) in plots
    assert ('confusion (% of true class)', 'val', 2) in plots
    # the best checkpoint is an OutputModel, not an uploaded artifact
    models = session['task']['offline_output_models']
    assert [m['init']['tags'] for m in models] == [['best']]
    assert models[0]['init']['label_enumeration'] == \
        {'background': 0, 'cat': 1, 'dog': 2}
    artifacts = {a['key'] for a in session['task']['execution']['artifacts']}
    assert 'best_checkpoint' not in artifacts

    # --resume continues the same task; the iterations are not shifted
    second = _train(tiny_pets, run, 6, '--resume', clearml=True)
    log2 = second.stdout + second.stderr
    assert f'ClearML: continuing task {record["id"]}' in log2
    resumed = _session(log2)
    assert resumed['task']['id'] == record['id']
    assert resumed['zip'] == session['zip']
    assert _scalar_iters(resumed) == [1, 2, 3, 4, 5, 6]

    # tools/test.py with no --work-dir: results in the checkpoint's run
    best = _best(run)
    tested = run_tool('test.py', CONFIG, best, '--data-root', tiny_pets,
                      '--cfg-options', *TINY_RESNET18_UNET,
                      env={'OMP_NUM_THREADS': '1'})
    log3 = tested.stdout + tested.stderr
    results = json.loads((run / 'test_results.json').read_text())
    prov = results['provenance']
    assert prov['checkpoint'] == str(best)
    assert prov['checkpoint_sha256'] == \
        hashlib.sha256(best.read_bytes()).hexdigest()
    assert prov['checkpoint_iter'] == int(best.stem.rsplit('_', 1)[1])
    assert (prov['split'], prov['labels'], prov['tta']) == \
        ('val', 'labels', False)
    assert prov['data_root'] == str(tiny_pets)
    assert prov['precision']
    assert results['files']['per_image_csv'] == str(run / 'per_image.csv')
    with open(run / 'per_image.csv') as f:
        assert len(list(csv.reader(f))) == 1 + 4  # header + 4 val images
    confusion = results['confusion']
    assert confusion['classes'] == ['background', 'cat', 'dog']
    pixels = sum(map(sum, confusion['counts']))
    assert pixels == 4 * 64 * 64
    assert 'true' in log3 and 'dog' in log3.split('results:')[-1]
    # the test task: the tested run's config, linked, no checkpoint copy
    test_session = _session(log3)
    test_params = _params(test_session)
    # the config that saved the checkpoint (first part: 4, resumed: 6)
    assert test_params['schedule.max_iters'] == \
        ('4' if prov['checkpoint_iter'] <= 4 else '6')  # not the file's 4000
    assert test_params['test.checkpoint_sha256'] == \
        prov['checkpoint_sha256']
    assert 'precision' not in test_params  # the test's is test.precision
    assert test_params['test.precision'] == prov['precision']
    assert test_session['task']['parent'] == record['id']
    assert test_session['task']['type'] == 'testing'
    assert not any(n.endswith('.pth') for n in test_session['names'])
    assert ('confusion (pixels)', 'test') in {
        (e['metric'], e['variant']) for e in test_session['events']
        if e['type'] == 'plot'}

    # a test that fails before testing leaves no ClearML task behind
    sessions = sorted(Path(test_session['zip']).parent.glob('*.zip'))
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'x': torch.zeros(1)}}, other)
    failed = run_tool('test.py', CONFIG, other, '--data-root', tiny_pets,
                      '--work-dir', tmp_path / 'failed', '--cfg-options', *TINY_RESNET18_UNET, check=False,
                      env={'OMP_NUM_THREADS': '1'})
    assert failed.returncode == 2, failed.stderr[-2000:]
    assert sorted(Path(test_session['zip']).parent.glob('*.zip')) == sessions
    assert not [p for p in Path(test_session['zip']).parent.iterdir()
                if p.is_dir() and not (p.parent / f'{p.name}.zip').exists()]

    # compare.py names the tested checkpoint and flags a foreign one
    elsewhere = tmp_path / 'elsewhere'
    _train(tiny_pets, elsewhere, 2)
    run_tool('test.py', CONFIG, best, '--data-root', tiny_pets, '--work-dir',
             elsewhere, '--no-clearml', '--cfg-options', *TINY_RESNET18_UNET,
             env={'OMP_NUM_THREADS': '1'})
    compared = run_tool('compare.py', run, elsewhere, '--out',
                        tmp_path / 'compare')
    table = compared.stdout
    row = next(line for line in table.splitlines()
               if line.startswith('| elsewhere'))
    assert f'NOT FROM THIS RUN: {best}' in row
    assert f'warning: elsewhere: test_results.json scored {best}' in table
    own = next(line for line in table.splitlines()[2:]
               if line.startswith('| run |'))
    assert best.name in own and 'NOT FROM THIS RUN' not in own
