"""The one exception type of the data tooling.

Every problem a user can fix (a missing file, a bad value, an output that
already exists) is raised as :class:`DataError` with a one-line message that
names the file and the fix. The command-line wrappers print that line and
exit with status 2 instead of showing a traceback
(:func:`custom_modules.workflow.errors.run_cli`).
"""
from __future__ import annotations

from ..workflow.errors import UserError


class DataError(UserError):
    """A user-fixable problem with input data or output paths (one line)."""
