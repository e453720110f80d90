"""The error type of ``verify``/``score`` input problems (kept free of heavy imports).

The CLI turns these into one line on stderr and exit code 2; anything else is a bug and keeps
its traceback.
"""


class VerifyError(Exception):
    """Bad input to ``verify`` or ``score``: missing files, unknown strategy, refused model."""
