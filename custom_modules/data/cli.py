"""Shared entry-point wrapper for the ``tools/*.py`` data commands."""
from __future__ import annotations

import sys
from typing import Callable, NoReturn, Sequence

from .errors import DataError

#: Exit status for bad input or refused output (a :class:`DataError`).
EXIT_DATA_ERROR = 2


def run_main(main: Callable[[Sequence[str] | None], int],
             argv: Sequence[str] | None = None) -> NoReturn:
    """Call ``main(argv)`` and exit with its status.

    A :class:`DataError` becomes one ``error: ...`` line on stderr and exit
    status 2; Ctrl-C exits with 130. Other exceptions are bugs and keep
    their traceback.
    """
    try:
        code = main(argv)
    except DataError as exc:
        print(f'error: {exc}', file=sys.stderr)
        sys.exit(EXIT_DATA_ERROR)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)
    sys.exit(code)
