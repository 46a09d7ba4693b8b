"""ClearML logging that never takes a run down and falls back to offline mode."""
from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import os.path as osp
import urllib.error
import urllib.request
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.visualization.vis_backend import BaseVisBackend, force_init_env
from mmseg.registry import VISBACKENDS

from ..common.weights import file_iteration
from ..compat.clearml_models import register_output_model
from ..compat.clearml_process import no_fork_hook, report_from_a_thread
from ..compat.robustness import atomic_write
from .hyperparameters import run_hyperparameters

#: The work-dir file naming a training run's ClearML task (id, mode...).
TASK_RECORD = 'clearml_task.json'


def read_task_record(work_dir: str) -> Optional[dict]:
    """``<work_dir>/clearml_task.json`` as a dict, or None (missing or
    unreadable)."""
    try:
        with open(osp.join(work_dir, TASK_RECORD)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def clearml_mode(probe_timeout: float = 3.0) -> Tuple[str, str]:
    """Decide between ``'online'`` and ``'offline'`` before ``Task.init``.

    Returns ``(mode, reason)``. Offline when ``CLEARML_OFFLINE_MODE`` is set,
    when no credentials are configured (``clearml.conf`` or
    ``CLEARML_API_ACCESS_KEY``/``CLEARML_API_SECRET_KEY``), when the API
    server does not answer ``/debug.ping`` within ``probe_timeout`` seconds,
    or when it refuses the credentials (``auth.login``, as the SDK logs in).
    """
    from clearml.backend_api.session.defs import ENV_ACCESS_KEY, ENV_SECRET_KEY
    from clearml.backend_api import Session
    from clearml.config import config_obj
    if os.environ.get('CLEARML_OFFLINE_MODE', '').lower() in ('1', 'true',
                                                              'yes'):
        return 'offline', 'CLEARML_OFFLINE_MODE is set'
    key = ENV_ACCESS_KEY.get(
        default=config_obj.get('api.credentials.access_key', None))
    secret = ENV_SECRET_KEY.get(
        default=config_obj.get('api.credentials.secret_key', None))
    if not (key and secret):
        return 'offline', ('no ClearML credentials (run `clearml-init` or set '
                           'CLEARML_API_ACCESS_KEY/CLEARML_API_SECRET_KEY)')
    host = Session.get_api_server_host()
    try:
        urllib.request.urlopen(f'{host}/debug.ping', timeout=probe_timeout)
    except Exception as err:  # any network failure means offline
        return 'offline', f'ClearML server {host} unreachable ({err})'
    basic = base64.b64encode(f'{key}:{secret}'.encode()).decode()
    login = urllib.request.Request(f'{host}/auth.login',
                                   headers={'Authorization': f'Basic {basic}'})
    try:
        urllib.request.urlopen(login, timeout=probe_timeout)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            return 'offline', (f'ClearML server {host} refused the '
                               f'credentials (HTTP {err.code}); check the '
                               'keys in clearml.conf or CLEARML_API_ACCESS_KEY'
                               '/CLEARML_API_SECRET_KEY')
        return 'offline', (f'ClearML server {host} failed to log in '
                           f'(HTTP {err.code})')
    except Exception as err:  # noqa: BLE001 - as unreachable
        return 'offline', f'ClearML server {host} unreachable ({err})'
    return 'online', host


@contextlib.contextmanager
def kept_random_state():
    """Restore the ``random``, numpy and torch generators (CPU and CUDA)
    on leaving the block, so code inside cannot change a seeded run."""
    import random

    import torch
    state = (random.getstate(), np.random.get_state(),
             torch.random.get_rng_state(),
             torch.cuda.get_rng_state_all() if torch.cuda.is_available()
             else None)
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.random.set_rng_state(state[2])
        if state[3] is not None:
            torch.cuda.set_rng_state_all(state[3])


class _Null:
    """Stands in for the ClearML task/logger once ClearML is off."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _title_series(tag: str) -> Tuple[str, str]:
    """'train/loss' -> ('loss', 'train'); 'val/Dice.cat' -> ('Dice', 'cat val')."""
    mode, _, name = tag.rpartition('/')
    metric, _, cls = name.partition('.')
    if cls:
        return metric, f'{cls} {mode}'.strip()
    return metric, mode or metric


@VISBACKENDS.register_module()
class PetsClearMLVisBackend(BaseVisBackend):
    """One ClearML task per run, with comparable hyperparameters.

    Differences from mmengine's ``ClearMLVisBackend``:

    - offline fallback: without credentials or a reachable server the task
      is recorded offline; at the end the session zip and the command that
      imports it are printed;
    - the run's flat hyperparameters (:func:`run_hyperparameters`) are
      connected as a dict, so the UI compare view lines up; the full config
      is stored as a configuration object;
    - ``train/loss`` and ``val/loss`` share one chart (title ``loss``, series
      ``train``/``val``), per-class metrics share one chart per metric;
    - the config is uploaded as an artifact and the best checkpoint is
      registered as the task's OutputModel (the Models tab), not every
      periodic checkpoint;
    - the task's id is kept in ``<work_dir>/clearml_task.json``
      (:data:`TASK_RECORD`): a resumed run (``cfg.resume``) continues the
      same task, online or offline, with its iterations as they are;
    - the val/test confusion matrix (:meth:`add_confusion_matrix`);
    - a test task (``task_type='testing'``) is created only when the test
      reports its first result, so a test that fails before it leaves no
      task; it describes the tested run (:meth:`describe_test`: the run's
      own config and hyperparameters, the checkpoint and its hash, a link
      to the training task) and uploads no checkpoint;
    - any ClearML failure after start-up is a single warning, never a crash.

    Args:
        save_dir: the run's work dir (set by the Runner's visualizer).
        project: ClearML project name.
        task_name: task name; defaults to the work dir's name.
        tags: task tags (k-fold runs share one).
        task_type: ClearML task type: ``'training'``, or ``'testing'`` for
            ``tools/test.py`` runs.
    """

    def __init__(self, save_dir: Optional[str] = None,
                 project: str = 'pets-segmentation',
                 task_name: Optional[str] = None,
                 tags: Sequence[str] = (),
                 task_type: str = 'training') -> None:
        super().__init__(save_dir)
        self.project = project
        self.task_name = task_name
        self.tags = list(tags)
        self.task_type = task_type
        self.mode = None
        self._failed = False
        self._cfg: Optional[Config] = None
        self._tested: Optional[dict] = None  # describe_test()'s record
        self._tested_cfg: Optional[str] = None
        self._classes: Optional[list] = None  # seen in a confusion matrix

    def _start_with_fallback(self) -> None:
        self.mode, reason = clearml_mode()
        if self.mode == 'online':
            try:
                self._start_task()
                return
            except Exception as err:  # noqa: BLE001 - never stop the run
                self.mode, reason = 'offline', (
                    f'starting the task on the server failed ({err})')
        try:
            self._start_task()
        except Exception as err:  # noqa: BLE001 - never stop the run
            return self._give_up(
                f'offline ({reason}), and the offline session cannot be '
                f'kept ({err}); set CLEARML_CACHE_DIR to a writable folder, '
                'or pass --no-clearml')
        print_log(f'ClearML offline: {reason}; the run is kept as an '
                  'offline session', logger='current', level=30)

    def _give_up(self, why: str) -> None:
        self.mode = 'disabled'
        self._failed = True
        self._task = self._logger = _Null()
        warnings.warn(f'ClearML {why}; training goes on without ClearML '
                      'logging')

    def _start_task(self) -> None:
        from clearml import Task
        Task.set_offline(self.mode == 'offline')
        report_from_a_thread()  # no forked reporter (it could hang close)
        name = self.task_name or osp.basename(
            osp.dirname(osp.abspath(self._save_dir or '.'))) or 'run'
        previous = self._task_to_continue()
        # Task.init seeds random, numpy and torch with its own seed (1337)
        # after the Runner applied --seed, so a run logged to ClearML trained
        # differently from the same command without it. No seed for ClearML,
        # and the generators are put back as they were, whatever it draws.
        Task.set_random_seed(None)
        with kept_random_state():
            # continue_last_task=0: the same task, iterations not offset
            self._task = Task.init(
                project_name=self.project, task_name=name, tags=self.tags,
                task_type=Task.TaskTypes[self.task_type],
                reuse_last_task_id=previous or False,
                continue_last_task=0 if previous else False,
                auto_connect_frameworks=False,
                auto_connect_arg_parser=True)
        if previous:
            print_log(f'ClearML: continuing task {previous} ({name}) of this '
                      'work dir', logger='current')
        if self.task_type == 'training':
            self._write_task_record()
        no_fork_hook()  # data-loader workers keep their SIGTERM handling
        self._logger = self._task.get_logger()

    def _safely(self, what: str, fn, *args, **kwargs) -> None:
        if self._failed:
            return
        try:
            fn(*args, **kwargs)
        except Exception as err:  # ClearML must never stop training
            self._failed = True
            warnings.warn(f'ClearML {what} failed ({err}); training goes on '
                          'without ClearML logging')

    @property
    @force_init_env
    def experiment(self):
        return self._task

    def add_config(self, config: Config, **kwargs) -> None:
        """Start the task (a test task: only at its first result) and
        connect the run's hyperparameters and config."""
        self._cfg = config
        if self.task_type != 'testing':
            self._describe()

    @force_init_env
    def _describe(self) -> None:
        hyperparameters = run_hyperparameters(self._cfg)
        config_dict = self._cfg.to_dict()
        if self._tested is not None:
            trained = self._tested_config()
            if trained is not None:
                hyperparameters = run_hyperparameters(trained,
                                                      this_machine=False)
                config_dict = trained.to_dict()
            hyperparameters.update(
                {f'test.{k}': v for k, v in self._tested.items()})
            parent = self._tested.get('training_task')
            if parent:
                self._safely('parent', self._task.set_parent, parent)
        self._safely('hyperparameters', self._task.connect, hyperparameters,
                     name='run')
        self._safely('config', self._task.connect_configuration,
                     config_dict, name='mmseg config')

    def describe_test(self, provenance: dict,
                      trained_config: Optional[str] = None) -> None:
        """What a test task records instead of the test's own config: the
        tested run's config (``trained_config``, the text mmengine stores
        in a checkpoint's ``meta.cfg``), the checkpoint and data
        (``provenance``) and, when the checkpoint's run dir has a
        :data:`TASK_RECORD`, the training task as the parent."""
        tested = dict(provenance)
        run_dir = provenance.get('checkpoint_run_dir')
        record = read_task_record(run_dir) if run_dir else None
        if record:
            tested['training_task'] = record.get('id')
        self._tested = tested
        self._tested_cfg = trained_config

    def _tested_config(self) -> Optional[Config]:
        if not self._tested_cfg:
            return None
        try:
            return Config.fromstring(self._tested_cfg, file_format='.py')
        except Exception as err:  # noqa: BLE001 - an old or odd config
            print_log(f'ClearML: the checkpoint\'s config is unreadable '
                      f'({err}); the test task shows the given config',
                      logger='current', level=30)
            return None

    def _task_to_continue(self) -> Optional[str]:
        """The task id of this work dir's earlier run, when this run
        resumes it and that task can be continued in the current mode."""
        if self.task_type != 'training' or not (
                self._cfg is not None and self._cfg.get('resume')):
            return None
        work_dir = self._work_dir()
        record = read_task_record(work_dir) if work_dir else None
        if not record:
            return None
        why = None
        if osp.realpath(record.get('work_dir', '')) != osp.realpath(work_dir):
            why = 'the record comes from another work dir (a copy)'
        elif record.get('mode') != self.mode:
            why = (f'it was recorded {record.get("mode")} and ClearML is '
                   f'{self.mode} now')
        elif self.mode == 'offline' and not osp.isdir(
                record.get('offline_folder') or ''):
            why = 'its offline session folder is gone'
        if why:
            print_log(f'ClearML: a new task for this resumed run, not '
                      f'{record.get("id")}: {why}', logger='current',
                      level=30)
            return None
        return record.get('id')

    def _work_dir(self) -> Optional[str]:
        work_dir = getattr(self._cfg, 'work_dir', None) if self._cfg \
            else None
        if not work_dir and self._save_dir:  # <work_dir>/<stamp>/vis_data
            work_dir = osp.dirname(osp.dirname(osp.abspath(self._save_dir)))
        return work_dir

    def _write_task_record(self) -> None:
        work_dir = self._work_dir()
        if not work_dir or not osp.isdir(work_dir):
            return
        record = dict(
            id=self._task.id, project=self.project, name=self._task.name,
            mode=self.mode, work_dir=osp.realpath(work_dir),
            offline_folder=str(self._task.get_offline_mode_folder())
            if self.mode == 'offline' else None)
        atomic_write(osp.join(work_dir, TASK_RECORD),
                     json.dumps(record, indent=2).encode())

    @force_init_env
    def add_confusion_matrix(self, split: str, confusion: np.ndarray,
                             classes: Sequence[str], step: int = 0) -> None:
        """Two heatmaps of the (C, C) confusion matrix (rows: ground truth,
        columns: prediction): pixel counts, and percent of each true class;
        series = ``split`` (``'val'``, ``'test'``)."""
        self._classes = list(classes)
        counts = np.asarray(confusion, dtype=np.float64)
        rows = counts.sum(1, keepdims=True)
        percent = np.where(rows > 0, 100 * counts / np.maximum(rows, 1), 0)
        for title, matrix in (('confusion (pixels)', counts),
                              ('confusion (% of true class)',
                               np.round(percent, 2))):
            self._safely('confusion matrix',
                         self._logger.report_confusion_matrix, title=title,
                         series=split, matrix=matrix, iteration=step,
                         xaxis='predicted', yaxis='true',
                         xlabels=list(classes), ylabels=list(classes),
                         yaxis_reversed=True)

    def _init_env(self) -> None:
        self._start_with_fallback()
        if self.task_type == 'testing' and self._cfg is not None:
            self._env_initialized = True  # _describe is @force_init_env too
            self._describe()

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0,
                  **kwargs) -> None:
        self._safely('image', self._logger.report_image, title='predictions',
                     series=name, iteration=step, image=image)

    @force_init_env
    def add_scalar(self, name: str, value, step: int = 0, **kwargs) -> None:
        title, series = _title_series(name)
        self._safely('scalar', self._logger.report_scalar, title=title,
                     series=series, value=float(value), iteration=step)

    @force_init_env
    def add_scalars(self, scalar_dict: dict, step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        for key, value in scalar_dict.items():
            if np.ndim(value) == 0:
                self.add_scalar(key, value, step)

    def _register_best(self, path: str) -> None:
        """The best checkpoint as the task's OutputModel."""
        stem = osp.splitext(osp.basename(path))[0]
        classes = self._classes
        register_output_model(
            self._task, path, name=f'{self._task.name} {stem}',
            iteration=file_iteration(path),
            labels={c: i for i, c in enumerate(classes)} if classes else None,
            comment=f'best val checkpoint of {self._work_dir()}',
            tags=['best'])

    def report_single_values(self, values: dict) -> None:
        """Numbers for the task's summary table (name -> value)."""
        if hasattr(self, '_task'):
            for name, value in values.items():
                self._safely('single values', self._logger.report_single_value,
                             name, float(value))

    def upload_file(self, name: str, path: str) -> None:
        """Upload one file (a curve PNG, a results JSON) as an artifact."""
        if hasattr(self, '_task'):
            self._safely('artifact', self._task.upload_artifact, name,
                         artifact_object=path, wait_on_upload=True)

    def close(self) -> None:
        if not hasattr(self, '_task'):
            return
        work_dir = getattr(self._cfg, 'work_dir', None)
        if self.task_type == 'training' and work_dir and osp.isdir(work_dir):
            for path in sorted(glob.glob(osp.join(work_dir, '*.py'))):
                self.upload_file('config', path)
            for path in sorted(glob.glob(osp.join(work_dir, 'best_*.pth'))):
                self._safely('output model', self._register_best, path)
        try:  # even after a failure: flush what was recorded, end the task
            self._task.close()
        except Exception as err:  # noqa: BLE001 - never stop the run
            if not self._failed:
                self._failed = True
                warnings.warn(f'ClearML close failed ({err})')
        if self.mode == 'offline':
            folder = self._task.get_offline_mode_folder()
            print_log(
                f'ClearML offline session: {folder}.zip\n  import it into a '
                'server with: python -c "from clearml import Task; '
                f"Task.import_offline_session('{folder}.zip')\"",
                logger='current')
        del self._task
