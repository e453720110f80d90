"""deidlint: find and repair de-identification traces in radiology-report datasets.

``deidlint.scan(text)`` and ``deidlint.scan_frame(df)`` are the Python API; the command line
(``deidlint check``, ``deidlint fix``) is the main interface. Importing the package is cheap:
pandas, pyarrow and everything heavy load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "scan", "scan_frame"]

if TYPE_CHECKING:
    from deidlint.api import scan, scan_frame


def __getattr__(name: str) -> Any:
    if name in ("scan", "scan_frame"):
        from deidlint import api

        return getattr(api, name)
    raise AttributeError(f"module 'deidlint' has no attribute {name!r}")
