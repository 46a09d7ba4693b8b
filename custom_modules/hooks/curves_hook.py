"""At the end of training: the curves picture and the run summary."""
from __future__ import annotations

import json
import os.path as osp
import time
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..common.curves import best_step, plot_curves, read_scalars, values_at
from ..compat.robustness import atomic_write
from .run_guards import STOP_REASON_KEY


def clearml_backend(runner):
    """The run's ClearML backend (``PetsClearMLVisBackend``), or None when
    ClearML is off."""
    try:
        return runner.visualizer.get_backend('PetsClearMLVisBackend')
    except Exception:  # no visualizer / no such backend
        return None


@HOOKS.register_module()
class CurvesHook(Hook):
    """At the end of training: curves PNG, run summary, best iteration.

    Writes into the work dir:

    - ``curves.png``: loss, mJaccard and mDice, train vs val, best val
      mJaccard starred (:func:`~custom_modules.common.curves.plot_curves`
      on the run's ``scalars.json``);
    - ``run_summary.json``: best iteration and its val metrics, iterations
      run, whether early stopping ended it (``stopped_early``) or a signal
      did (``stop_reason``: ``'SIGTERM'``, ``'SIGINT'``), training time
      (``train_seconds``: the whole training, a resumed run's earlier part
      included; kept in the message hub, hence in every checkpoint).

    With ClearML on, the PNG and the summary are uploaded as artifacts and
    the best values are reported as single values (the UI compare view
    lists them beside the hyperparameters).
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'curves.png',
                 summary: str = 'run_summary.json') -> None:
        self.filename = filename
        self.summary = summary
        self._start: Optional[float] = None
        self._before = 0.0  # seconds trained before a resume

    #: Message-hub key of the training time so far (saved in checkpoints).
    SECONDS_KEY = 'train_seconds'

    def before_train(self, runner) -> None:
        self._start = time.time()
        self._before = float(runner.message_hub.get_info(self.SECONDS_KEY)
                             or 0.0)

    def _seconds(self) -> float:
        return self._before + time.time() - (self._start or time.time())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        # before the CheckpointHook (priority VERY_LOW) saves this iteration
        runner.message_hub.update_info(self.SECONDS_KEY, self._seconds())

    def after_train(self, runner) -> None:
        seconds = self._seconds()
        try:
            curves = read_scalars(runner.work_dir)
        except Exception as err:  # no scalars (no LocalVisBackend)
            print_log(f'CurvesHook: no curves ({err})', logger='current',
                      level=30)
            return
        best = best_step(curves)
        loop = runner.train_loop
        stopped = bool(getattr(loop, 'stop_training', False))
        reason = runner.message_hub.get_info(STOP_REASON_KEY)
        summary = dict(
            work_dir=osp.abspath(runner.work_dir),
            config=osp.basename(runner.cfg.filename or ''),
            iters=int(runner.iter),
            max_iters=int(getattr(loop, 'max_iters', runner.iter)),
            stopped_early=stopped and reason is None,
            stop_reason=reason if stopped else None,
            train_seconds=round(seconds, 1),
            best_iter=best[0] if best else None,
            best=values_at(curves, best[0]) if best else {},
        )
        path = osp.join(runner.work_dir, self.filename)
        if any(k.startswith(('train/', 'val/')) for k in curves):
            name = osp.basename(osp.normpath(runner.work_dir))
            plot_curves({name: curves}, path, title=name)
            summary['curves'] = path
            print_log(f'curves: {path}', logger='current')
        summary_path = osp.join(runner.work_dir, self.summary)
        atomic_write(summary_path, json.dumps(summary, indent=2).encode())
        backend = clearml_backend(runner)
        if backend is not None:
            if osp.isfile(path):
                backend.upload_file('curves', path)
            backend.upload_file('run_summary', summary_path)
            self._report_single_values(backend, summary)

    @staticmethod
    def _report_single_values(backend, summary: dict) -> None:
        values = {'train_seconds': summary['train_seconds'],
                  'iters': summary['iters']}
        if summary['best_iter'] is not None:
            values['best_iter'] = summary['best_iter']
            values.update({f'best {k}': v for k, v in summary['best'].items()
                           if k.startswith(('m', 'Jaccard.', 'Dice.'))
                           or k == 'loss'})
        backend.report_single_values(values)
