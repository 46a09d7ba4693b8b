"""The project's one error hierarchy, and one-line errors for the tools.

:class:`UserError` is the base of every failure a user can fix (its message
names the file and the fix): :class:`DataError` for data and output paths
(the data tools, and the dataset's own checks), the checkpoint errors of
:mod:`custom_modules.compat`, :class:`~custom_modules.common.weights.CheckpointMismatchError`.

Every tool's ``main`` runs through :func:`run_cli`: the expected failures
(bad data, config, checkpoint, missing network) print ``error: <message>``
and exit with code 2; ``--debug`` shows the traceback instead. A
:class:`UserError` subclass may set its own ``exit_code`` and ``label``
(a run stopped by a signal prints ``interrupted: ...`` and exits 128 + the
signal number, as shells expect). SIGTERM before training has started (or
in a tool that does not train) stops with such a line too
(:class:`Terminated`); during training
:class:`~custom_modules.hooks.InterruptHook` takes over and saves first.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import warnings
import urllib.error
from typing import Callable, Sequence


class UserError(Exception):
    """A failure the user can fix; its message names the file and the fix."""

    #: Exit status of the tool and the word before the message.
    exit_code = 2
    label = 'error'


class DataError(UserError):
    """A user-fixable problem with input data or output paths (one line)."""


class Terminated(BaseException):
    """SIGTERM outside training (a ``BaseException``, like
    ``KeyboardInterrupt``, so no ``except Exception`` swallows it)."""

    label = 'interrupted'

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f'{name} received; stopped at once, files already '
                         'written are kept; run the same command again (a '
                         'training: with --resume to continue from its last '
                         'checkpoint)')
        self.exit_code = 128 + signum


@contextlib.contextmanager
def sigterm_raises():
    """Within the block, SIGTERM in this process raises :class:`Terminated`
    (in the main thread; forked children get the default action back).
    The previous handler is restored on leaving."""
    pid = os.getpid()

    def handle(signum, frame):
        if os.getpid() != pid:  # a forked child: die as before
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated(signum)

    try:
        previous = signal.signal(signal.SIGTERM, handle)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


#: What :func:`run_cli` prints as one line (the rest keep the traceback).
EXPECTED = (UserError, FileNotFoundError, urllib.error.URLError)


def _message(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError):
        return (f'download failed ({err.reason}); without network, train from '
                'scratch with --pretrained none or pass a local file with '
                '--pretrained PATH')
    return str(err).strip().splitlines()[0] if str(err).strip() else repr(err)


def _find_cause(err: BaseException, kinds: tuple):
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, kinds):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


_python_formatwarning = warnings.formatwarning


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """``warning: <message>`` for the project's own warnings (UserWarning
    raised in ``custom_modules``); others as Python formats them."""
    if issubclass(category, UserWarning) and \
            f'{os.sep}custom_modules{os.sep}' in str(filename):
        return f'warning: {message}\n'
    return _python_formatwarning(message, category, filename, lineno, line)


def run_cli(main: Callable[[Sequence[str]], int],
            argv: Sequence[str] = None) -> None:
    """Run ``main(argv)`` and exit; expected errors become one line.

    mmengine wraps build errors in its own exceptions, so the cause chain is
    searched for an expected error before giving up.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv
    if not debug:  # the project's warnings as one line, like its errors
        warnings.formatwarning = one_line_warning
    try:
        with sigterm_raises():
            code = main(argv)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)
    except Terminated as err:
        if debug:
            raise
        print(f'{err.label}: {err}', file=sys.stderr)
        sys.exit(err.exit_code)
    except Exception as err:
        cause = _find_cause(err, EXPECTED)
        if cause is None or debug:
            raise
        label = getattr(cause, 'label', 'error')
        print(f'{label}: {_message(cause)}', file=sys.stderr)
        sys.exit(getattr(cause, 'exit_code', 2))
    sys.exit(code or 0)
