"""Atomic outputs: a file or folder appears whole at its name, or not at all.

Every output deidlint writes (a fixed dataset, a baseline, a report, a synthetic dataset) goes
to a temporary sibling of its destination, named ``.<name>.<random>.tmp``, and is renamed over
the destination only when complete: a failed or interrupted run (an error, Ctrl-C, SIGTERM)
removes the temporary and leaves the destination, and any input, as it was. Only a regular file
is ever replaced (never a symlink, device, FIFO or socket), and only a missing or empty folder
by a folder. A run killed with SIGKILL cannot clean up; :func:`stale_temporaries` lets the next
run name what it left.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from deidlint.errors import InputError, UsageError


class Transaction:
    """Outputs of one run that appear together or not at all, from inputs that did not change.

    Each output is written to a temporary file beside its target and only staged; :meth:`commit`
    first checks that no watched input changed while the run read it (an export still being
    appended to: rows written after the read would be lost by the rename), then renames every
    staged file. Until then every target, an ``--in-place`` input included, is untouched, so a
    bad record in the third file leaves the first two as they were. Staged files take disk space
    until the commit.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, str]] = []
        self._watched: dict[str, tuple[int, int, int, int]] = {}

    def watch(self, path: str) -> None:
        self._watched[path] = _signature(path)

    def stage(self, tmp: str, path: str) -> None:
        self._staged.append((tmp, path))

    def commit(self) -> None:
        for path, seen in self._watched.items():
            if _signature(path) != seen:
                raise InputError(f"{path}: changed while fix was reading it; nothing was written (run again)")
        for _, path in self._staged:
            refuse_special(path)  # something may have taken the name while we wrote
        while self._staged:
            tmp, path = self._staged[0]
            try:
                os.replace(tmp, path)
            except OSError as exc:  # the staged file stays listed, so abort() removes it
                raise InputError(f"{path}: {exc.strerror or exc}") from None
            self._staged.pop(0)
            _fsync_folder(os.path.dirname(os.path.abspath(path)))

    def abort(self) -> None:
        """Remove every staged file (an error, Ctrl-C or SIGTERM before the commit)."""
        while self._staged:
            tmp, _ = self._staged.pop()
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _signature(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@contextmanager
def atomic_output(path: str, like: str | None = None, transaction: Transaction | None = None) -> Iterator[IO[bytes]]:
    """A binary file that appears at ``path`` only if the block succeeds, fsynced, never half-written.

    ``like`` names a file whose permission bits the new file takes (the input, for ``--in-place``);
    otherwise a file being replaced keeps its own, and a new one gets what ``open`` would give it
    (0666 less the umask), not the private 0600 of a temporary file. With a ``transaction`` the
    finished file is staged there, to appear when the transaction commits.
    """
    folder = os.path.dirname(os.path.abspath(path))
    refuse_special(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as exc:  # name the output the user asked for, not a temporary file's name
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if like is not None or os.path.exists(path):
            shutil.copymode(like or path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        if transaction is not None:
            transaction.stage(tmp, path)
            return
        refuse_special(path)  # again: something may have taken the name while we wrote
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def stale_temporaries(path: str) -> list[str]:
    """Temporary files an earlier run left beside *path* when it was killed (SIGKILL cannot be
    cleaned up after): they may hold partly fixed report text, so the next run names them."""
    folder = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(prefix) and n.endswith(".tmp"))


def refuse_special(path: str) -> None:
    """Refuse to replace anything but a regular file: a rename over ``/dev/null``, a FIFO, a socket
    or a symlink would swap it for a file of report text (as root, even in /dev). Callers check
    every output before a run starts, so that none is written when a later one would be refused."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    if not stat.S_ISREG(mode):
        what = ("a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise UsageError(f"refusing to replace {path}: it is {what}; name a regular file (or a new one)")


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_folder(path: str) -> Iterator[str]:
    """A folder that appears at ``path`` only if the block succeeds, filled by the block.

    ``path`` must be missing or an empty folder (which the new one replaces); anything else is a
    :class:`UsageError` before the block runs. The new folder gets what ``mkdir`` would
    give it (0777 less the umask), not a temporary folder's private 0700. The files inside are
    not fsynced one by one: a dataset folder holds hundreds of thousands of them, and only the
    rename is made durable.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path) or os.listdir(path)):
        raise UsageError(f"{path} exists and is not an empty folder")
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        os.replace(tmp, path)  # over an empty folder only: rename(2) refuses anything else
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(folder)
