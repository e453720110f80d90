"""`deidlint fix` on 227,835 generated reports (MIMIC-CXR size), beside `check` and a naive fix.

    python benchmarks/bench_fix.py [--reports N] [--repeats R] [--strategy S]
    python benchmarks/bench_fix.py --memory


These commands read the same CSV:
- a naive fix: ``csv`` module + one ``re.sub`` that deletes the markers (the wreckage the fixer
  exists to avoid: ``Comparison to .``), CSV out; the floor for "read, rewrite, write".
- ``deidlint check --format json``: the scan alone, for scale.
- ``deidlint fix -o OUT``: scan, restore's corpus passes, sentence repair, format-preserving write;
  once in one process (``--jobs 1``) and once with a worker per core (the default).
It prints a Markdown table (median of the runs, reports/s, peak RSS) and the peak RSS of the fix
on a quarter of the corpus, to show that memory stays flat as the file grows.

``--memory`` measures flat memory instead: the fix on the corpus (115 MB) and on its records
repeated nine times (1.04 GB), with one process and with one worker per core, peak RSS of all
processes.

``restore``'s accuracy is measured by benchmarks/fix_quality.py (the masking experiment).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from _harness import measure, repeated_csv, synth_csv, table

NAIVE_FIX = r'''
import csv, re, sys
csv.field_size_limit(1 << 30)
pattern = re.compile(
    r"(?<!_)___(?!_)|\[\*\*[^\[\]]{0,120}?\*\*\]|XXXX|<[A-Z][A-Z_]+>|\{\{[A-Z][A-Z0-9_]*\}\}"
    r"|\[(?:REDACTED|NAME|DATE|PHI)\]|<<[A-Z_]+>>|(?<![*\w])\*{3,9}(?![*\w])")
with open(sys.argv[1], newline="", encoding="utf-8") as src, open(sys.argv[2], "w", newline="", encoding="utf-8") as out:
    reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
    header = next(reader)
    writer.writerow(header)
    col = header.index("report")
    for row in reader:
        row[col] = pattern.sub("", row[col])
        writer.writerow(row)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=227_835)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategy", default="remove")
    parser.add_argument("--memory", action="store_true",
                        help="peak RSS of the fix on the corpus and on the corpus repeated to over 1 GB")
    args = parser.parse_args()
    corpus = synth_csv(args.reports)
    quarter = synth_csv(args.reports // 4)
    size_mb = corpus.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        naive = Path(tmp) / "naive_fix.py"
        naive.write_text(NAIVE_FIX)
        out = str(Path(tmp) / "fixed.csv")
        fix = [sys.executable, "-m", "deidlint", "fix", "--column", "report", "--strategy", args.strategy, "-o", out]
        if args.memory:
            memory_report(corpus, fix)
            return
        results = measure({
            "naive fix (csv + re.sub)": [sys.executable, str(naive), str(corpus), out],
            "deidlint check": [sys.executable, "-m", "deidlint", "check", "--format", "json", "--column", "report",
                               str(corpus)],
            f"deidlint fix --strategy {args.strategy} --jobs 1": [*fix, "--jobs", "1", str(corpus)],
            f"deidlint fix --strategy {args.strategy}": [*fix, str(corpus)],
        }, repeats=args.repeats)
        small = measure({"fix (1/4 corpus)": [*fix, str(quarter)]}, repeats=1)
    print(f"corpus: {args.reports:,} generated reports, {size_mb:.1f} MB CSV; median of {args.repeats} runs\n")
    print(table(results, "deidlint check", size_mb, args.reports))
    for fix_result in results[-2:]:
        print(f"\n{fix_result.name}: {args.reports / fix_result.median:,.0f} reports/s end to end")
    print(f"peak RSS of the fix (all processes): {max(small[0].peak_kib) / 1024:.0f} MiB on {args.reports // 4:,} "
          f"reports, {max(results[-1].peak_kib) / 1024:.0f} MiB on {args.reports:,}")


def memory_report(corpus: Path, fix: list[str]) -> None:
    """Peak RSS of the fix on the corpus and on the corpus repeated to over 1 GB: flat memory
    means the second is not much above the first."""
    print("| input | reports | MB | jobs | seconds | reports/s | peak RSS MiB (all processes) |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    rows = sum(1 for _ in _csv_rows(corpus))
    for times in (1, 9):
        path = repeated_csv(corpus, times)
        for jobs in ("1", "0"):
            r = measure({path.name: [*fix, "--jobs", jobs, str(path)]}, repeats=1)[0]
            print(f"| {path.name} | {rows * times:,} | {path.stat().st_size / 1e6:,.0f} | {jobs if jobs != '0' else 'all'} "
                  f"| {r.median:.1f} | {rows * times / r.median:,.0f} | {max(r.peak_kib) / 1024:.0f} |", flush=True)


def _csv_rows(path: Path) -> Iterator[list[str]]:
    import csv

    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        yield from reader


if __name__ == "__main__":
    main()
