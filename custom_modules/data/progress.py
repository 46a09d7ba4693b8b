"""Progress bars for long loops, drawn on stderr with ``rich``.

When stderr is not a terminal (CI, pytest, a log file) rich draws nothing
while running and prints the final bar once, so logs stay short.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn,
                           Progress, TaskProgressColumn, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)

T = TypeVar('T')


def _console() -> Console:
    # Created per call so that a redirected sys.stderr (pytest capsys) is used.
    return Console(file=sys.stderr)


def track(items: Iterable[T], description: str,
          total: int | None = None) -> Iterator[T]:
    """Yield from ``items`` while showing ``description`` and a count bar.

    ``total`` defaults to ``len(items)`` when ``items`` has a length.
    """
    if total is None and hasattr(items, '__len__'):
        total = len(items)  # type: ignore[arg-type]
    columns = (TextColumn('{task.description}'), BarColumn(),
               MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console(), transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


@contextmanager
def byte_progress(description: str, total: int | None):
    """Context manager yielding ``advance(n_bytes)`` for a transfer bar."""
    columns = (TextColumn('{task.description}'), BarColumn(),
               TaskProgressColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=_console()) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
