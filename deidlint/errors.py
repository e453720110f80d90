"""Errors that end a run with a one-line message and exit code 2.

Everything the user can cause (a bad flag, a missing column, an unreadable file, a broken rule
pack) is raised as a :class:`DeidlintError`; the command line prints ``deidlint: error: ...``
and exits 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DeidlintError(Exception):
    """A problem the user can fix; its message is one line."""

    exit_code = 2


class UsageError(DeidlintError):
    """Bad arguments, configuration or rule packs."""


class InputError(DeidlintError):
    """An input file that cannot be read as the format it claims to be."""


class RecordError(DeidlintError):
    """One bad record inside an otherwise readable file (``--on-error`` decides what happens)."""

    def __init__(self, path: str, record: int, message: str) -> None:
        super().__init__(f"{path}:{record}: {message}")
        self.path = path
        self.record = record
        self.reason = message


class MissingExtra(UsageError, ImportError):
    """A feature whose libraries are an optional extra that is not installed: a one-line error on
    the command line, and an ImportError to code that imports the module."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(f"{feature} needs {module}, which is not installed: pip install 'deidlint[{extra}]'")
