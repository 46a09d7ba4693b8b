"""Import ``custom_modules`` in two steps, so the tools start fast.

``custom_modules/__init__.py`` applies the compatibility fixes and registers
the project's modules in mmseg's registries (configs import it through
``custom_imports``): about 3 s of torch, mmengine and mmseg imports.
:func:`mount` makes the package's submodules importable without running
that file: the data tools (``custom_modules.data``, torch-free) never run
it; ``tools/train.py`` and ``tools/test.py`` parse their arguments first
(``--help`` and usage errors return at once), then call :func:`load`.
:func:`run` is ``run_cli`` for them: its error handling needs the loaded
package, so a failing run loads it before the error is reported.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
NAME = 'custom_modules'


def mount() -> ModuleType:
    """``custom_modules`` in ``sys.modules``, its ``__init__`` not run yet
    (the imported package itself when it already is)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        NAME, ROOT / NAME / '__init__.py',
        submodule_search_locations=[str(ROOT / NAME)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = package
    return package


def load() -> ModuleType:
    """Run ``custom_modules/__init__.py`` (compat fixes, registration) once;
    a later ``import custom_modules`` (a config's custom_imports) finds it
    done."""
    package = mount()
    if '__all__' not in vars(package):
        package.__spec__.loader.exec_module(package)
    return package


def run(main: Callable[[Sequence[str]], int]) -> None:
    """``custom_modules.workflow.errors.run_cli(main)``; an exception from
    ``main`` first loads the package, which ``run_cli`` looks up the
    expected errors in (a failing run pays the torch import, not a
    successful one)."""
    mount()
    from custom_modules.workflow.errors import run_cli

    def main_loading_on_error(argv: Sequence[str]) -> int:
        try:
            return main(argv)
        except Exception:
            load()
            raise

    run_cli(main_loading_on_error)
