"""ClearML never takes a run down: refused credentials, a task that cannot
start, a logger that fails mid-run."""
import threading
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from custom_modules.visualization import PetsClearMLVisBackend, clearml_mode
from custom_modules.visualization import clearml_backend


class _FakeServer(BaseHTTPRequestHandler):
    """Answers /debug.ping; /auth.login accepts only key:secret."""

    def do_GET(self):  # noqa: N802 (http.server API)
        good = 'Basic a2V5OnNlY3JldA=='  # base64('key:secret')
        if self.path.startswith('/debug.ping'):
            code = 200
        elif self.path.startswith('/auth.login'):
            code = 200 if self.headers.get('Authorization') == good else 401
        else:
            code = 404
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.end_headers()
        self.wfile.write(b'{}')

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch, tmp_path):
    httpd = HTTPServer(('127.0.0.1', 0), _FakeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    conf = tmp_path / 'clearml.conf'
    conf.write_text('')
    monkeypatch.setenv('CLEARML_CONFIG_FILE', str(conf))
    monkeypatch.delenv('CLEARML_OFFLINE_MODE', raising=False)
    monkeypatch.setenv('CLEARML_API_HOST',
                       f'http://127.0.0.1:{httpd.server_port}')
    yield httpd
    httpd.shutdown()


@pytest.mark.parametrize('secret,mode', [('wrong', 'offline'),
                                         ('secret', 'online')])
def test_credentials_are_checked_against_the_server(server, monkeypatch,
                                                    secret, mode):
    monkeypatch.setenv('CLEARML_API_ACCESS_KEY', 'key')
    monkeypatch.setenv('CLEARML_API_SECRET_KEY', secret)
    got, reason = clearml_mode(probe_timeout=5)
    assert got == mode
    if mode == 'offline':
        assert f'127.0.0.1:{server.server_port} refused the credentials ' \
            '(HTTP 401)' in reason


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setattr(clearml_backend, 'clearml_mode',
                        lambda: ('offline', 'test'))
    return PetsClearMLVisBackend(save_dir=str(tmp_path / 'vis'),
                                 task_name='failures')


def _one_clearml_warning(record):
    messages = [str(w.message) for w in record if 'ClearML' in str(w.message)]
    assert len(messages) == 1, messages
    return messages[0]


def test_logger_failing_mid_run_is_one_warning(offline, monkeypatch):
    offline.add_scalars({'train/loss': 1.0}, step=1)  # starts the task
    calls = []

    def server_gone(**kwargs):
        calls.append(kwargs)
        raise ConnectionError('server closed the connection')
    monkeypatch.setattr(offline._logger, 'report_scalar', server_gone)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        for step in range(2, 6):
            offline.add_scalars({'train/loss': 0.5, 'val/mJaccard': 3.0},
                                step=step)
        offline.add_image('val', np.zeros((4, 4, 3), np.uint8), step=5)
        offline.close()
    assert len(calls) == 1  # after the failure ClearML is left alone
    msg = _one_clearml_warning(record)
    assert 'ClearML scalar failed (server closed the connection)' in msg
    assert 'training goes on without ClearML' in msg


def test_task_that_cannot_start_online_goes_offline(monkeypatch, tmp_path):
    from clearml import Task
    real_init = Task.init

    def init(*args, **kwargs):
        if not Task.is_offline():
            raise ConnectionError('503 Service Unavailable')
        return real_init(*args, **kwargs)
    monkeypatch.setattr(clearml_backend, 'clearml_mode',
                        lambda: ('online', 'http://example'))
    monkeypatch.setattr(Task, 'init', init)
    backend = PetsClearMLVisBackend(save_dir=str(tmp_path / 'vis'),
                                    task_name='fallback')
    backend.add_scalars({'train/loss': 1.0}, step=1)
    assert backend.mode == 'offline' and not backend._failed
    backend.close()


def test_task_that_cannot_start_at_all_disables_clearml(offline,
                                                        monkeypatch):
    from clearml import Task

    def init(*args, **kwargs):
        raise OSError('read-only file system')
    monkeypatch.setattr(Task, 'init', init)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        offline.add_scalars({'train/loss': 1.0}, step=1)
        offline.add_image('val', np.zeros((4, 4, 3), np.uint8), step=1)
        offline.close()
    assert offline.mode == 'disabled'
    assert 'read-only file system' in _one_clearml_warning(record)


def test_unwritable_home_is_one_warning_and_its_fix_works(tiny_pets,
                                                          tmp_path):
    """No server and no place for an offline session (HOME is not a
    folder): one `warning:` line that names the fix, and the run goes on;
    the fix pasted (CLEARML_CACHE_DIR) keeps the session."""
    import os
    import subprocess

    from helpers import REPO, TINY_RESNET18_UNET, tool_command
    home = tmp_path / 'home'
    home.write_text('not a folder')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('CLEARML_', 'TRAINS_'))}
    conf = tmp_path / 'clearml.conf'
    conf.write_text('')
    env.update(HOME=str(home), OMP_NUM_THREADS='1',
               CLEARML_CONFIG_FILE=str(conf))

    def train(work, **extra):
        return subprocess.run(
            tool_command('train.py', 'configs/pets/resnet18_unet.py',
                         '--data-root', tiny_pets, '--work-dir', work,
                         '--pretrained', 'none', '--max-iters', '2',
                         '--cfg-options', *TINY_RESNET18_UNET,
                         'train_dataloader.batch_size=2'),
            cwd=REPO, capture_output=True, text=True, timeout=600,
            env={**env, **extra})

    proc = train(tmp_path / 'run')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'Traceback' not in out and 'NoneType' not in out
    warnings_ = [line for line in out.splitlines() if 'ClearML' in line and
                 ('warning' in line.lower() or 'failed' in line)]
    assert len(warnings_) == 1, warnings_
    assert warnings_[0].startswith('warning: ClearML offline')
    assert 'set CLEARML_CACHE_DIR to a writable folder' in warnings_[0]
    assert (tmp_path / 'run' / 'run_summary.json').is_file()

    cache = tmp_path / 'cache'
    fixed = train(tmp_path / 'run2', CLEARML_CACHE_DIR=str(cache))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert list((cache / 'offline').glob('offline-*.zip'))
