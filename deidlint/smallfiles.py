"""Reading the files that configure a run: config, rule packs, baselines.

They are read whole, so each must be a regular file of bounded size: ``--config /dev/zero`` or a
baseline that is a FIFO would otherwise read until memory runs out (a config of /dev/zero grew
past 20 GB before the kernel killed the run).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deidlint.errors import UsageError

#: Limits far above any real file of each kind: a config is a page of TOML, a pack of 10,000
#: rules is about 3 MB, a baseline of every finding in MIMIC-CXR a few hundred MB.
LIMITS = {"config file": 1 << 20, "rule pack": 64 << 20, "baseline": 2 << 30}


def read_small(path: Path, what: str) -> bytes:
    """The bytes of *path*, a regular file within ``LIMITS[what]``; anything else is a one-line
    usage error naming *what* it was meant to be. A missing file raises FileNotFoundError, which
    each caller words for its own file."""
    limit = LIMITS[what]
    # Opened before the checks, so they see the file that is read; non-blocking, because opening
    # a FIFO for reading otherwise waits for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"{what} {path} is not a regular file")
    os.set_blocking(fd, True)
    with open(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{what} {path} is larger than {limit >> 20} MB; is it the right file?")
    return data
