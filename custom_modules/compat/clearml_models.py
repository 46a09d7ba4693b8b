"""Registering a checkpoint as a ClearML OutputModel, offline too.

Written for clearml 2.1: in offline mode ``OutputModel.update_weights``
reads ``published`` from a stand-in model that lacks it (``AttributeError:
'DummyModel' object has no attribute 'locked'``) before it reaches its own
offline branch, ``_update_weights_offline``, which copies the file into the
session and lists it under ``offline_output_models`` (what
``Task.import_offline_session`` registers on the server). There is no
public call that avoids the check, so offline, on clearml 2.1, that branch
is called directly; online, and on other versions, the public call is used.
"""
from __future__ import annotations

import importlib.metadata
from typing import Optional

__all__ = ['register_output_model']

#: clearml versions whose offline ``update_weights`` fails as above.
BROKEN_OFFLINE = ('2.1.',)


def register_output_model(task, path: str, name: str,
                          iteration: Optional[int] = None,
                          labels: Optional[dict] = None,
                          comment: str = '', tags=()) -> None:
    """Register ``path`` as an OutputModel of ``task`` (PyTorch framework,
    ``labels``: class name -> id). The local file is never deleted."""
    from clearml import OutputModel, Task
    model = OutputModel(task=task, name=name, framework='PyTorch',
                        label_enumeration=labels, comment=comment,
                        tags=list(tags))
    version = importlib.metadata.version('clearml')
    if Task.is_offline() and version.startswith(BROKEN_OFFLINE):
        model._update_weights_offline(weights_filename=path,
                                      iteration=iteration)
    else:
        model.update_weights(weights_filename=path, iteration=iteration,
                             auto_delete_file=False)
