"""`deidlint fix` on 227,835 generated reports (MIMIC-CXR size), beside `check` and a naive fix.

    python benchmarks/bench_fix.py [--reports N] [--repeats R] [--strategy S]
    python benchmarks/bench_fix.py --restore-accuracy


Three commands read the same CSV:
- a naive fix: ``csv`` module + one ``re.sub`` that deletes the markers (the wreckage the fixer
  exists to avoid: ``Comparison to .``), CSV out; the floor for "read, rewrite, write".
- ``deidlint check --format json``: the scan alone, for scale.
- ``deidlint fix -o OUT``: scan, restore's corpus passes, sentence repair, format-preserving write.
It prints a Markdown table (median of the runs, reports/s, peak RSS) and the peak RSS of the fix
on a quarter of the corpus, to show that memory stays flat as the file grows.

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
from pathlib import Path

from _harness import measure, synth_csv, table

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
        results = measure({
            "naive fix (csv + re.sub)": [sys.executable, str(naive), str(corpus), out],
            "deidlint check": [sys.executable, "-m", "deidlint", "check", "--format", "json", "--column", "report",
                               str(corpus)],
            f"deidlint fix --strategy {args.strategy}": [*fix, str(corpus)],
        }, repeats=args.repeats)
        small = measure({"fix (1/4 corpus)": [*fix, str(quarter)]}, repeats=1)
    print(f"corpus: {args.reports:,} generated reports, {size_mb:.1f} MB CSV; median of {args.repeats} runs\n")
    print(table(results, "deidlint check", size_mb, args.reports))
    fix_result = results[-1]
    print(f"\ndeidlint fix: {args.reports / fix_result.median:,.0f} reports/s end to end; peak RSS "
          f"{max(small[0].peak_kib) / 1024:.0f} MiB on {args.reports // 4:,} reports, "
          f"{max(fix_result.peak_kib) / 1024:.0f} MiB on {args.reports:,}")


if __name__ == "__main__":
    main()
