"""Shared benchmark harness: run commands side by side, report medians, ratios and peak memory.

Each command runs as its own process under a small wrapper (``_peak.py``) that reports the peak
RSS of the child's whole process tree, worker processes included, so every tool is measured the
same way, including process start-up. The machine is shared and
noisy: we run each command several times, interleaved, and quote the median.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-data"

#: Runs each command and prints its process tree's peak memory (see _peak.py).
_PEAK = str(Path(__file__).with_name("_peak.py"))


@dataclass
class Result:
    name: str
    command: list[str]
    seconds: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)
    #: Peak of the largest single process of each run (a worker, or the main process).
    largest_kib: list[int] = field(default_factory=list)
    #: Peak of the largest worker of each run (0: the command ran in one process).
    worker_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(commands: dict[str, list[str]], repeats: int = 3, shell: set[str] = frozenset()) -> list[Result]:
    """Run every command *repeats* times, round-robin, and collect wall time and peak RSS."""
    results = [Result(name, cmd) for name, cmd in commands.items()]
    for _ in range(repeats):
        for result in results:
            argv = ["sh", "-c", result.command[0]] if result.name in shell else result.command
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, _PEAK, *argv], capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{result.name} failed: {proc.stderr.strip()}")
            result.seconds.append(elapsed)
            tree, largest, worker = proc.stdout.strip().splitlines()[-1].split()
            result.peak_kib.append(int(tree))
            result.largest_kib.append(int(largest))
            result.worker_kib.append(int(worker))
    return results


def table(results: list[Result], baseline: str, size_mb: float, rows: int) -> str:
    """A Markdown table: median seconds, MB/s, reports/s, ratio to *baseline*, peak RSS."""
    base = next(r for r in results if r.name == baseline).median
    lines = ["| tool | median s | MB/s | reports/s | x " + baseline + " | peak RSS MiB |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.name} | {r.median:.3f} | {size_mb / r.median:.1f} | {rows / r.median:,.0f} | "
                     f"{r.median / base:.1f} | {max(r.peak_kib) / 1024:.0f} |")
    return "\n".join(lines)


def synth_csv(n: int, seed: int = 0, style: str = "mixed") -> Path:
    """A generated corpus, cached in bench-data/ (git-ignored) so reruns skip generation."""
    from deidlint import synth

    DATA.mkdir(exist_ok=True)
    path = DATA / f"synth-{style}-{n}-{seed}.csv"
    if not path.exists():
        synth.write_dataset(path, n, seed=seed, style=style)
    return path


def repeated_csv(source: Path, times: int) -> Path:
    """``source``'s records written ``times`` over under one header, cached in bench-data/ (whole
    records only: a generated report's quoted field holds line breaks, so no cut in between)."""
    path = DATA / f"{source.stem}-x{times}.csv"
    if not path.exists():
        header, body = source.read_bytes().split(b"\n", 1)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            out.write(header + b"\n")
            for _ in range(times):
                out.write(body if body.endswith(b"\n") else body + b"\n")
        partial.rename(path)
    return path
