"""`deidlint fix` on 227,835 generated reports (MIMIC-CXR size), beside `check` and a naive fix.

    python benchmarks/bench_fix.py [--reports N] [--repeats R] [--strategy S]
    python benchmarks/bench_fix.py --restore-accuracy
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

``--restore-accuracy`` measures the ``restore`` strategy instead: in sentences that hold no
marker, ordinary words of known value are masked with the corpus's own marker (``XXXX`` in the
Open-I reports from ../shared, ``___`` in a generated MIMIC-style corpus), the whole corpus is
fixed with ``--strategy restore``, and each masked word is scored: restored correctly, restored
wrongly, or not restored (removed instead). Precision is correct / restored; coverage is
restored / masked.
"""

from __future__ import annotations

import argparse
import random
import re
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


_WORD = re.compile(r"[a-z]{4,}")


def restore_accuracy(texts: list[str], marker: str, seed: int = 0, share: float = 0.15) -> dict[str, float]:
    """Mask one ordinary word in ``share`` of the marker-free sentences, restore, and score."""
    from deidlint.api import scanner
    from deidlint.fixing import fix_texts, sentence_units

    rng = random.Random(seed)
    engine = scanner()
    masked_texts, cases = [], []
    for text in texts:
        spans = [(m.start, m.end) for m in engine.scan(text)]
        pieces, pos = [], 0
        for unit in sentence_units(text):
            sentence = text[unit.body:unit.end]
            if unit.header or any(s < unit.end and e > unit.start for s, e in spans) or rng.random() >= share:
                continue
            tokens = sentence.split(" ")
            choices = [i for i, t in enumerate(tokens) if i and _WORD.fullmatch(t)]
            if not choices:
                continue
            i = rng.choice(choices)
            masked = " ".join([*tokens[:i], marker, *tokens[i + 1:]])
            pieces += [text[pos:unit.body], masked]
            pos = unit.end
            cases.append((len(masked_texts), sentence, tokens[:i], tokens[i + 1:]))
        masked_texts.append("".join(pieces) + text[pos:])
    fixed = fix_texts(masked_texts, "restore")
    correct = wrong = 0
    for index, sentence, before, after in cases:
        if sentence in fixed[index]:
            correct += 1
        elif re.search(re.escape(" ".join(before)) + r" \S+ " + re.escape(" ".join(after)), fixed[index]):
            wrong += 1
    restored = correct + wrong
    return {"masked": len(cases), "restored": restored, "correct": correct,
            "precision": correct / restored if restored else float("nan"), "coverage": restored / len(cases)}


def accuracy_report() -> None:
    from deidlint import synth

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import IU_REPORTS, iter_openi_reports

    corpora = {"generated (MIMIC style, ___)": ([r.text for r in synth.generate(20000, seed=1, style="mimic")], "___")}
    if IU_REPORTS.is_file():
        by_file: dict[str, list[str]] = {}
        for name, label, text in iter_openi_reports():
            by_file.setdefault(name, []).append(f"{label.upper()}: {text}")
        corpora["Open-I reports (XXXX)"] = (["\n\n".join(v) for _, v in sorted(by_file.items())], "XXXX")
    print("| corpus | masked words | restored | correct | precision | coverage |\n|---|---:|---:|---:|---:|---:|")
    for name, (texts, marker) in corpora.items():
        r = restore_accuracy(texts, marker)
        print(f"| {name} | {r['masked']:,} | {r['restored']:,} | {r['correct']:,} | {r['precision']:.3f} | "
              f"{r['coverage']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=227_835)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategy", default="remove")
    parser.add_argument("--restore-accuracy", action="store_true", help="measure restore's precision and coverage")
    parser.add_argument("--memory", action="store_true",
                        help="peak RSS of the fix on the corpus and on the corpus repeated to over 1 GB")
    args = parser.parse_args()
    if args.restore_accuracy:
        accuracy_report()
        return

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
