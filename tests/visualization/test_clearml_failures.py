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
