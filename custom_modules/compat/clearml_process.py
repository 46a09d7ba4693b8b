"""Two ClearML process hooks a training run must not have.

Written for clearml 2.x; neither has a public switch (``Task.init`` takes
no argument for them), so both set ClearML's private class state, here and
nowhere else, and only on the versions they were written for:

- :func:`report_from_a_thread`: ClearML forks its reporting subprocess
  (``os.fork``) while a thread runs ``git`` through ``subprocess`` for
  repository detection; the fork can inherit that Popen's exec-status pipe,
  and ``Task.close()`` then waits forever for the detection thread (seen
  here: a run hung at close with the thread in ``Popen._execute_child``).
  Reporting from a thread in this process avoids the fork.
- :func:`no_fork_hook`: ``Task.init`` also hooks ``os.fork``: in every
  forked child (the data-loader workers) it starts reporter threads and
  installs its SIGTERM hook, which closes the task and kills the worker. A
  job-wide SIGTERM (Slurm, ``kill -- -PGID``) then killed workers mid-step
  and the run could not save its checkpoint (seen here). The workers
  report nothing to ClearML, so the hook is switched off (after
  ``Task.init``).
"""
from __future__ import annotations

import importlib.metadata

__all__ = ['report_from_a_thread', 'no_fork_hook']

#: The clearml major versions these two settings were written for.
WRITTEN_FOR = ('2.',)


def _written_for() -> bool:
    try:
        return importlib.metadata.version('clearml').startswith(WRITTEN_FOR)
    except importlib.metadata.PackageNotFoundError:
        return False


def report_from_a_thread() -> None:
    """Report from a thread of this process, not a forked subprocess
    (before ``Task.init``)."""
    from clearml import Task
    if _written_for() and hasattr(Task, '_report_subprocess_enabled'):
        Task._report_subprocess_enabled = False


def no_fork_hook() -> None:
    """Leave forked children (data-loader workers) alone (after
    ``Task.init``)."""
    if not _written_for():
        return
    from clearml.binding.environ_bind import PatchOsFork
    if hasattr(PatchOsFork, '_current_task'):
        PatchOsFork._current_task = None
