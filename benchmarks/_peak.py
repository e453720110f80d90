"""Run a command and print the peak memory of its whole process tree, in KiB, on the last line,
then the peak of its largest single process, then that of its largest worker: any process of the
tree but the shell that started it and the deidlint process itself (``-m deidlint``: the command
line's main process, or Dask's client and scheduler), so a Dask worker or a ``--jobs`` worker.

``getrusage(RUSAGE_CHILDREN).ru_maxrss`` gives the largest single process, which undercounts a
tool that works in several processes (deidlint with ``--jobs``). This wrapper samples the
resident set of the child and all its descendants every 20 ms from /proc and reports the
largest sum seen, or ru_maxrss if that is larger (a process shorter than one sample). Output
goes to a real temporary file, never /dev/null: GNU grep notices /dev/null and stops at the
first match, and every tool should pay for writing what it finds.

    python benchmarks/_peak.py COMMAND [ARG...]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from collections import defaultdict


def _is_worker(pid: int, root: int, seen: dict[int, bool]) -> bool:
    """Whether *pid* is a worker (see the module's docstring); looked up once per process."""
    if pid not in seen:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = b"\0" + handle.read()
        except OSError:
            return False
        seen[pid] = pid != root and b"\0-m\0deidlint\0" not in argv
    return seen[pid]


def _tree_rss_kib(root: int, seen: dict[int, bool]) -> tuple[int, int, int]:
    """Resident KiB of ``root`` and every process below it (0 for processes that just ended), of
    the largest of them, and of the largest worker (*seen* caches which processes are workers)."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children[int(fields[1])].append(pid)  # fields[1] is the parent pid
        rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)  # fields[21] is rss in pages
    total, largest, worker, todo = 0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        if rss.get(pid, 0) > worker and _is_worker(pid, root, seen):
            worker = rss[pid]
        todo.extend(children.get(pid, ()))
    return total, largest, worker


def main() -> int:
    with tempfile.TemporaryFile() as sink:
        child = subprocess.Popen(sys.argv[1:], stdout=sink)
        peak = largest = worker = 0
        seen: dict[int, bool] = {}
        while True:
            try:
                code = child.wait(timeout=0.02)
                break
            except subprocess.TimeoutExpired:
                tree, one, busy = _tree_rss_kib(child.pid, seen)
                peak, largest, worker = max(peak, tree), max(largest, one), max(worker, busy)
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(max(peak, single), max(largest, single), worker)
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
