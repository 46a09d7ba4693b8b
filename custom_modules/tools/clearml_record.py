"""A ClearML task for a tool's summary (k-fold table, files), never fatal.

Training and test runs log through :class:`PetsClearMLVisBackend`; tools
that aggregate runs (``tools/kfold.py``) record their result as a task of
their own with the same offline fallback.
"""
from __future__ import annotations

import warnings
from typing import Dict, Optional, Sequence


def record_task(project: str, name: str, tags: Sequence[str] = (),
                tables: Optional[Dict[str, list]] = None,
                files: Optional[Dict[str, str]] = None,
                parameters: Optional[dict] = None,
                single_values: Optional[Dict[str, float]] = None,
                text: Optional[str] = None) -> Optional[str]:
    """Create one ClearML task holding tables, artifacts and values.

    Args:
        tables: title -> rows (first row = header).
        files: artifact name -> path.
        parameters: flat dict connected as hyperparameters.
        single_values: name -> number (the UI's summary table).
        text: logged as console text (e.g. a markdown report).

    Returns:
        The offline session zip when ClearML is offline, else None. Any
        ClearML failure is one warning.
    """
    try:
        from clearml import Task
        from .. import plugins  # noqa: F401  (patched stack first)
        from ..visualization.clearml_backend import clearml_mode
        mode, reason = clearml_mode()
        Task.set_offline(mode == 'offline')
        # No repository detection: after torch has run (threads, dataloader
        # workers), ClearML's git subprocess can stall until its 300 s
        # timeout, and a summary task needs no code snapshot.
        frameworks = {k: False for k in (
            'matplotlib', 'tensorflow', 'tensorboard', 'pytorch', 'xgboost',
            'scikit', 'fastai', 'lightgbm', 'hydra', 'detect_repository',
            'tfdefines', 'joblib', 'megengine', 'catboost', 'gradio')}
        task = Task.init(project_name=project, task_name=name,
                         tags=list(tags), reuse_last_task_id=False,
                         auto_connect_frameworks=frameworks,
                         auto_connect_arg_parser=False,
                         auto_resource_monitoring=False)
        logger = task.get_logger()
        if parameters:
            task.connect(dict(parameters), name='run')
        for title, rows in (tables or {}).items():
            logger.report_table(title=title, series=title, iteration=0,
                                table_plot=rows)
        for key, value in (single_values or {}).items():
            logger.report_single_value(key, float(value))
        if text:
            logger.report_text(text)
        for key, path in (files or {}).items():
            task.upload_artifact(key, artifact_object=path,
                                 wait_on_upload=True)
        folder = task.get_offline_mode_folder() if mode == 'offline' else None
        task.close()
        if folder:
            print(f'ClearML offline session: {folder}.zip ({reason})')
            return f'{folder}.zip'
    except Exception as err:  # ClearML must never fail the tool
        warnings.warn(f'ClearML record {name!r} failed ({err})')
    return None
