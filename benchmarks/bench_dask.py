"""``deidlint check|fix --dask local`` on a LocalCluster of 1 and of 2 workers, beside the command
line with 2 worker processes, on the 227,835 generated reports (MIMIC-CXR's size).

    python benchmarks/bench_dask.py [--reports N] [--times 1,10] [--repeats R] [--commands check,fix]

The corpus is written as Parquet files of about 14,000 reports each (a data lake's layout: Dask
reads one partition per file), ``--times 10`` its records ten times over. Every command reads the
same files: the command line as a folder, Dask as a glob. ``fix`` is ``--strategy restore``,
with restore's survey and count passes. Printed: a Markdown table per corpus (median seconds,
reports/s, ratio to the command line, peak RSS of the whole process tree, of its largest process
and of its largest worker: a Dask worker, or a worker process of the command line's ``-j 2``, see
``_peak.py``), the load average before and after, then the scaling from 1 to 2 workers, the
overhead of Dask against the command line, and partitions/s per worker, the measured rate a
scale-out projection multiplies.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _harness import DATA, Result, measure, synth_csv

#: Reports per Parquet file (a partition): 16 files for the 227,835-report corpus.
FILE_REPORTS = 14_240


def parquet_folder(n: int, times: int) -> Path:
    """The corpus (cached CSV) as Parquet files of :data:`FILE_REPORTS` reports, *times* over."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = DATA / f"dask-{n}-x{times}"
    if folder.is_dir():
        return folder
    table = pacsv.read_csv(synth_csv(n), parse_options=pacsv.ParseOptions(newlines_in_values=True))
    partial = folder.with_suffix(".partial")
    partial.mkdir(parents=True, exist_ok=True)
    k = 0
    for _ in range(times):
        for first in range(0, table.num_rows, FILE_REPORTS):
            pq.write_table(table.slice(first, FILE_REPORTS), partial / f"part-{k:05d}.parquet")
            k += 1
    partial.rename(folder)
    return folder


def commands(op: str, folder: Path, out: Path) -> dict[str, list[str]]:
    deidlint = f"{sys.executable} -m deidlint"
    flags = "--format json --column report" if op == "check" else "--strategy restore --column report"
    cmd = {
        "deidlint CLI -j 2": f"{deidlint} {op} {flags} -j 2 {folder}",
        "Dask LocalCluster, 1 worker": f"{deidlint} {op} {flags} --dask local -j 1 '{folder}/*.parquet'",
        "Dask LocalCluster, 2 workers": f"{deidlint} {op} {flags} --dask local -j 2 '{folder}/*.parquet'",
    }
    if op == "fix":  # a fresh output folder each run
        cmd = {name: f"rm -rf {out} && {line} -o {out}" + ("/" if "CLI" in name else "") for name, line in cmd.items()}
    return {name: [line] for name, line in cmd.items()}


def report(op: str, results: list[Result], rows: int, files: int, repeats: int) -> None:
    by = {r.name: r for r in results}
    cli, one, two = by["deidlint CLI -j 2"], by["Dask LocalCluster, 1 worker"], by["Dask LocalCluster, 2 workers"]
    print(f"\n`{op}` on {rows:,} reports in {files} Parquet files, median of {repeats} run(s)\n")
    print("| run | median s | reports/s | x CLI -j 2 time | peak RSS, all processes MiB | largest process MiB "
          "| largest worker MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        worker = f"{max(r.worker_kib) / 1024:.0f}" if max(r.worker_kib) else "none (one process)"
        print(f"| {r.name} | {r.median:.1f} | {rows / r.median:,.0f} | {r.median / cli.median:.2f} | "
              f"{max(r.peak_kib) / 1024:.0f} | {max(r.largest_kib) / 1024:.0f} | {worker} |")
    print(f"\nscaling 1 -> 2 workers: {one.median / two.median:.2f}x; Dask (2 workers) against the CLI (-j 2): "
          f"{two.median / cli.median:.2f}x the time; partitions/s per worker: {files / one.median:.3f} (1 worker), "
          f"{files / two.median / 2:.3f} (2 workers)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=227_835)
    parser.add_argument("--times", default="1,10", help="corpus sizes, as multiples of --reports (default 1,10)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--commands", default="check,fix")
    args = parser.parse_args()
    for times in [int(t) for t in args.times.split(",")]:
        folder = parquet_folder(args.reports, times)
        files = len(list(folder.glob("*.parquet")))
        for op in args.commands.split(","):
            before = os.getloadavg()
            with tempfile.TemporaryDirectory(dir=DATA) as tmp:
                cmd = commands(op, folder, Path(tmp) / "out")
                results = measure(cmd, repeats=args.repeats, shell=set(cmd))
            report(op, results, args.reports * times, files, args.repeats)
            print(f"load average (1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in before)}, after: "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
