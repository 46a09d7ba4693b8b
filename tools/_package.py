"""Make ``custom_modules`` importable from ``tools/*.py``, cheaply.

``custom_modules`` itself imports nothing heavy: only its plug-in entry
point, :mod:`custom_modules.plugins` (compat patches and registration,
about 3 s of torch, mmengine and mmseg imports), does. The data tools
never load it; ``tools/train.py`` and ``tools/test.py`` parse their
arguments first (``--help`` and usage errors return at once), then call
:func:`load`.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]


def mount() -> None:
    """Put the repository on ``sys.path`` (idempotent)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def load() -> ModuleType:
    """Import the plug-in entry point (compat patches, registration) once;
    a config's ``custom_imports`` then finds it done."""
    mount()
    return importlib.import_module('custom_modules.plugins')


def run(main: Callable[[Sequence[str]], int]) -> None:
    """:func:`custom_modules.common.errors.run_cli` (expected errors are
    one line, whether or not the plug-ins were loaded)."""
    mount()
    from custom_modules.common.errors import run_cli
    run_cli(main)
