"""`deidlint check` on 227,835 generated reports (MIMIC-CXR size), beside grep and a plain Python loop.

    python benchmarks/bench_check.py [--reports N] [--repeats R]

Three tools read the same CSV and look for the same markers:
- ``grep -c -E``: the floor; it only counts matching lines and knows nothing of CSV.
- a plain Python loop: ``csv`` module + one ``re`` alternation of the markers, JSON findings out.
- ``deidlint check --format json``: every rule of every built-in pack, JSON findings out.
It prints a Markdown table (median of the runs, ratios to grep, peak RSS) and the peak RSS of
deidlint on a quarter of the corpus, to show that memory stays flat as the file grows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _harness import measure, synth_csv, table

GREP_PATTERN = r"___|\[\*\*|XXXX|<[A-Z_]+>|\{\{[A-Z]|\[(REDACTED|NAME|DATE|PHI)\]|<<[A-Z]|\*\*\*"

PLAIN_LOOP = r'''
import csv, json, re, sys
csv.field_size_limit(1 << 30)
pattern = re.compile(
    r"(?<!_)___(?!_)|\[\*\*[^\[\]]{0,120}?\*\*\]|XXXX|<[A-Z][A-Z_]+>|\{\{[A-Z][A-Z0-9_]*\}\}"
    r"|\[(?:REDACTED|NAME|DATE|PHI)\]|<<[A-Z_]+>>|(?<![*\w])\*{3,9}(?![*\w])")
out = []
with open(sys.argv[1], newline="", encoding="utf-8") as handle:
    reader = csv.reader(handle)
    header = next(reader)
    col = header.index("report")
    for row_number, row in enumerate(reader):
        text = row[col]
        for m in pattern.finditer(text):
            out.append({"record": row_number, "start": m.start(), "end": m.end(), "marker": m.group()})
json.dump(out, sys.stdout)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=227_835)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    corpus = synth_csv(args.reports)
    quarter = synth_csv(args.reports // 4)
    size_mb = corpus.stat().st_size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        loop = Path(tmp) / "plain_loop.py"
        loop.write_text(PLAIN_LOOP)
        deidlint = [sys.executable, "-m", "deidlint", "check", "--format", "json", "--column", "report"]
        results = measure({
            "grep -c -E": [f"grep -c -E '{GREP_PATTERN}' {corpus}"],
            "python csv+re loop": [sys.executable, str(loop), str(corpus)],
            "deidlint check --jobs 1": [*deidlint, "--jobs", "1", str(corpus)],
            "deidlint check": [*deidlint, str(corpus)],
        }, repeats=args.repeats, shell={"grep -c -E"})
        small = measure({"deidlint check (1/4 corpus)": [*deidlint, str(quarter)]}, repeats=1)
    print(f"corpus: {args.reports:,} generated reports, {size_mb:.1f} MB CSV; median of {args.repeats} runs\n")
    print(table(results, "grep -c -E", size_mb, args.reports))
    print(f"\npeak RSS of deidlint check: {max(small[0].peak_kib) / 1024:.0f} MiB on {args.reports // 4:,} reports, "
          f"{max(results[-1].peak_kib) / 1024:.0f} MiB on {args.reports:,}")


if __name__ == "__main__":
    main()
