"""Run a command and print the peak memory of its whole process tree, in KiB, on the last line,
then the peak of its largest single process (a Dask worker, say).

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


def _tree_rss_kib(root: int) -> tuple[int, int]:
    """Resident KiB of ``root`` and every process below it (0 for processes that just ended), and
    of the largest of them."""
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
    total, largest, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        todo.extend(children.get(pid, ()))
    return total, largest


def main() -> int:
    with tempfile.TemporaryFile() as sink:
        child = subprocess.Popen(sys.argv[1:], stdout=sink)
        peak = largest = 0
        while True:
            try:
                code = child.wait(timeout=0.02)
                break
            except subprocess.TimeoutExpired:
                tree, one = _tree_rss_kib(child.pid)
                peak, largest = max(peak, tree), max(largest, one)
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(max(peak, single), max(largest, single))
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(main())
