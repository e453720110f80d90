"""`deidlint check` on 227,835 generated reports (MIMIC-CXR size), beside grep and a plain Python loop.

    python benchmarks/bench_check.py [--reports N] [--repeats R]
    python benchmarks/bench_check.py --long-cells [--repeats R]

Three tools read the same CSV and look for the same markers:
- ``grep -c -E``: the floor; it only counts matching lines and knows nothing of CSV.
- a plain Python loop: ``csv`` module + one ``re`` alternation of the markers, JSON findings out.
- ``deidlint check --format json``: every rule of every built-in pack, JSON findings out.
It prints a Markdown table (median of the runs, ratios to grep, peak RSS) and the peak RSS of
deidlint on a quarter of the corpus, to show that memory stays flat as the file grows.

``--long-cells`` times one record whose single cell is 1, 2, 4 and 8 MB of hard-wrapped generated
report text (a whole export pasted into one field), ``grep -c -E`` beside ``deidlint check --jobs
1``: a check linear in cell length takes the same seconds per MB at every size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _harness import DATA, measure, synth_csv, table

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
    parser.add_argument("--long-cells", action="store_true", help="one cell of 1, 2, 4 and 8 MB instead")
    args = parser.parse_args()
    if args.long_cells:
        long_cells(args.repeats)
        return

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



def long_cells(repeats: int, sizes: tuple[int, ...] = (1, 2, 4, 8)) -> None:
    """Seconds per MB of one cell of each size, less the run's fixed cost (interpreter, imports,
    rule compilation: a one-line cell's time): flat means linear in cell length."""
    import csv

    from deidlint import synth

    paths = {mb: DATA / f"long-cell-{mb}mb.csv" for mb in (0, *sizes)}
    if not all(p.exists() for p in paths.values()):
        text = "\n\n".join(r.text for r in synth.generate(60_000, seed=5, style="mixed"))
        DATA.mkdir(exist_ok=True)
        for mb, path in paths.items():
            assert len(text) >= mb * 1_000_000, "not enough generated text"
            cell = text[:mb * 1_000_000] if mb else "Unchanged since ___."
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows([["id", "report"], ["1", cell]])
    commands = {}
    for mb, path in paths.items():
        commands[f"grep {mb} MB"] = [f"grep -c -E '{GREP_PATTERN}' {path}"]
        commands[f"check {mb} MB"] = [sys.executable, "-m", "deidlint", "check", "--format", "json", "--column",
                                      "report", "--jobs", "1", str(path)]
    found = {r.name: r for r in measure(commands, repeats=repeats, shell={n for n in commands if n.startswith("grep")})}
    fixed = found["check 0 MB"].median
    print(f"one cell, median of {repeats} runs; a one-line cell takes {fixed:.3f} s (the fixed cost)\n")
    print("| cell | grep -c -E s | deidlint check --jobs 1 s | check s per MB, fixed cost out | x the 1 MB cell's |")
    print("|---:|---:|---:|---:|---:|")
    first = (found[f"check {sizes[0]} MB"].median - fixed) / sizes[0]
    for mb in sizes:
        check = found[f"check {mb} MB"].median
        per = (check - fixed) / mb
        print(f"| {mb} MB | {found[f'grep {mb} MB'].median:.3f} | {check:.3f} | {per:.3f} | {per / first:.2f} |")

if __name__ == "__main__":
    main()
