"""PetsClearMLVisBackend: offline fallback, chart naming, comparable hyperparameters."""
import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from custom_modules.visualization import PetsClearMLVisBackend, clearml_mode
from custom_modules.visualization.clearml_backend import _title_series


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]  # closed once the socket is


def test_offline_without_credentials(no_credentials):
    mode, reason = clearml_mode()
    assert mode == 'offline' and 'no ClearML credentials' in reason


def test_offline_when_server_is_unreachable(no_credentials, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv('CLEARML_API_ACCESS_KEY', 'key')
    monkeypatch.setenv('CLEARML_API_SECRET_KEY', 'secret')
    monkeypatch.setenv('CLEARML_API_HOST', f'http://127.0.0.1:{port}')
    mode, reason = clearml_mode(probe_timeout=1)
    assert mode == 'offline'
    assert f'127.0.0.1:{port} unreachable' in reason


def test_offline_mode_forced_by_environment(monkeypatch):
    monkeypatch.setenv('CLEARML_OFFLINE_MODE', '1')
    assert clearml_mode() == ('offline', 'CLEARML_OFFLINE_MODE is set')


@pytest.mark.parametrize('tag,expected', [
    ('train/loss', ('loss', 'train')), ('val/loss', ('loss', 'val')),
    ('val/mJaccard', ('mJaccard', 'val')),
    ('val/Jaccard.cat', ('Jaccard', 'cat val')), ('lr', ('lr', 'lr'))])
def test_train_and_val_share_charts(tag, expected):
    assert _title_series(tag) == expected


def _offline_session(work: str) -> dict:
    """Log config, scalars, an image and the best checkpoint through the
    backend (offline); return what the session's zip holds."""
    tmp_path = Path(work)
    cfg = Config.fromfile('configs/pets/resnet_unet.py')
    cfg.work_dir = str(tmp_path)
    (tmp_path / 'resnet_unet.py').write_text(cfg.pretty_text)
    (tmp_path / 'best_mJaccard_iter_2.pth').write_bytes(b'weights')
    backend = PetsClearMLVisBackend(save_dir=str(tmp_path / 'vis'),
                                    task_name='unit', tags=['t1'])
    backend.add_config(cfg)
    backend.add_scalars({'train/loss': 1.5, 'val/mJaccard': 40.0}, step=3)
    backend.add_confusion_matrix('val', np.array([[5, 1, 0], [0, 3, 2],
                                                  [0, 4, 4]]),
                                 ('background', 'cat', 'dog'), step=3)
    backend.add_image('val_x', np.zeros((8, 8, 3), np.uint8), step=3)
    assert backend.mode == 'offline'
    folder = Path(backend._task.get_offline_mode_folder())
    backend.close()
    with zipfile.ZipFile(f'{folder}.zip') as z:
        events = [e for line in z.read('metrics.jsonl').decode().splitlines()
                  for e in json.loads(line)]
        return dict(events=events, task=json.loads(z.read('task.json')),
                    names=z.namelist(),
                    model=z.read(next(n for n in z.namelist()
                                      if n.startswith('models/'))).decode())


def test_offline_session_holds_scalars_hyperparameters_and_artifacts(
        no_credentials, tmp_path):
    """One run's session, in a fresh interpreter as tools/train.py runs it:
    ClearML keeps per-process state, and after other in-process tasks of
    this suite the session can lack its metrics file."""
    repo = Path(__file__).resolve().parents[2]
    code = ('import json, sys; sys.path[:0] = sys.argv[2:]; '
            'import custom_modules.plugins, test_clearml_backend as t; '
            'print(json.dumps(t._offline_session(sys.argv[1])))')
    proc = subprocess.run(
        [sys.executable, '-c', code, str(tmp_path), str(repo),
         str(repo / 'tests'), str(Path(__file__).parent)],
        cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    session = json.loads(proc.stdout.strip().splitlines()[-1])
    events, task, names = session['events'], session['task'], session['names']
    scalars = {(e['metric'], e['variant']): e['value'] for e in events
               if e['type'] == 'training_stats_scalar'}
    assert scalars == {('loss', 'train'): 1.5, ('mJaccard', 'val'): 40.0}
    assert any(e['type'] == 'training_debug_image' for e in events)
    params = task['hyperparams']['run']
    assert params['model.decode_head']['value'] == 'ResNetUNetHead'
    assert params['optimizer.lr']['value'] == '0.001'
    artifacts = {a['key'] for a in task['execution']['artifacts']}
    assert artifacts == {'config'}  # the checkpoint is a model, not a file
    models = task['offline_output_models']
    assert [(m['init']['name'], m['init']['tags'], m['weights']['iteration'])
            for m in models] == [('unit best_mJaccard_iter_2', ['best'], 2)]
    assert session['model'] == 'weights'  # the checkpoint's bytes
    assert any(n == 'models/best_mJaccard_iter_2.pth' for n in names)
    plots = {(e['metric'], e['variant']): json.loads(e['plot_str'])
             for e in events if e['type'] == 'plot'}
    counts = plots['confusion (pixels)', 'val']['data'][0]['z']
    percent = plots['confusion (% of true class)', 'val']['data'][0]['z']
    assert counts == [[5, 1, 0], [0, 3, 2], [0, 4, 4]]
    assert percent[1] == [0, 60, 40] and percent[2] == [0, 50, 50]


def test_test_runs_are_testing_tasks(no_credentials, tmp_path):
    """tools/test.py names a testing task; training stays the default."""
    import torch

    from custom_modules.tools import test as test_tool
    checkpoint = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': {}}, checkpoint)  # checked before the run
    args = test_tool.build_parser().parse_args(
        ['configs/pets/resnet_unet.py', str(checkpoint), '--work-dir',
         str(tmp_path / 'run')])
    cfg = test_tool.prepare_config(args)
    clearml = [b for b in cfg.visualizer.vis_backends
               if b['type'] == 'PetsClearMLVisBackend']
    assert [b['task_type'] for b in clearml] == ['testing']
    types = []
    for task_type in (None, 'testing'):
        backend = PetsClearMLVisBackend(
            save_dir=str(tmp_path / 'vis'), task_name='unit',
            **({'task_type': task_type} if task_type else {}))
        types.append(str(backend.experiment.task_type))
        backend.close()
    assert types == ['training', 'testing']


def test_a_started_task_reports_from_a_thread_and_leaves_forks_alone(
        no_credentials, tmp_path):
    """The two ClearML process hooks the compat settings switch off: a
    forked reporter (close could hang) and the fork hook that kills
    data-loader workers on SIGTERM."""
    from clearml import Task
    from clearml.binding.environ_bind import PatchOsFork
    backend = PetsClearMLVisBackend(save_dir=str(tmp_path / 'vis'),
                                    task_name='fork')
    try:
        assert backend.experiment is not None
        assert Task._report_subprocess_enabled is False
        assert PatchOsFork._current_task is None
    finally:
        backend.close()


def test_precision_is_a_hyperparameter_of_a_run_on_this_machine_only():
    """bfloat16 depends on the CPU: a config read back later (compare.py,
    a test task's trained config) does not claim this machine's."""
    from custom_modules.visualization.hyperparameters import \
        run_hyperparameters
    cfg = Config.fromfile('configs/pets/cpu_fast.py')
    assert run_hyperparameters(cfg)['precision'].startswith(('fp32', 'bf16'))
    assert 'precision' not in run_hyperparameters(cfg, this_machine=False)
