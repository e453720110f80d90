"""The error type of ``verify``/``score`` input problems (kept free of heavy imports).

A :class:`~deidlint.errors.DeidlintError` like every other one, so the CLI turns it into one
line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from deidlint.errors import DeidlintError


class VerifyError(DeidlintError):
    """Bad input to ``verify`` or ``score``: missing files, unknown strategy, refused model."""
