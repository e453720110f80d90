"""deidlint beside its peers: throughput, peak memory and recall on the same markers.

    pip install -r benchmarks/requirements-peers.txt
    python benchmarks/peers.py [--reports N] [--openi-reports N] [--subset N] [--repeats R] [--slow-repeats R]

Every tool looks for the same markers: the patterns of deidlint's built-in rule packs, one
pattern per pack (one pack per scrubber family), so the comparison is between engines, not
between regular expressions:
- ``grep -c -E``: the floor (``bench_check.GREP_PATTERN``; it counts lines and has no offsets).
- a plain Python loop: ``csv`` module + one ``re`` alternation of every rule, JSON findings out.
- ``deidlint check --format json`` and ``deidlint fix -o OUT`` (strategy remove), each with its
  default worker processes (one per core) and with ``--jobs 1`` (one process, like every peer).
- Presidio: an ``AnalyzerEngine`` on a blank spaCy pipeline (no model download) whose registry
  holds one ``PatternRecognizer`` with one ``Pattern`` per family; for the fix, its
  ``AnonymizerEngine`` replaces each result with nothing.
- scrubadub: a ``Scrubber`` holding only a ``RegexDetector`` subclass with the same alternation;
  ``iter_filth`` for the check, ``clean`` (which writes ``{{TRACE}}`` tags) for the fix.

Presidio and scrubadub are slow, so every tool runs on the first ``--subset`` reports of each
corpus, and the fast tools also on the whole corpus. The corpora: generated reports
(``deidlint.synth``, mixed styles, MIMIC-CXR size) and the real Open-I reports from ../shared
repeated to ``--openi-reports`` (skipped with a reason when ../shared is absent). Recall is the
share of the generator's ground-truth spans that a tool reports with exactly the same offsets.

Each tool runs in its own process (the harness's wrapper), so peak RSS is per tool, worker
processes included, and includes start-up. The Python peers run as ``python peers.py --worker TOOL CSV [OUT]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from _harness import DATA, ROOT, Result, measure, synth_csv
from bench_check import GREP_PATTERN

sys.path.insert(0, str(ROOT))
csv.field_size_limit(1 << 30)

CHECKS = ("re-check", "presidio-check", "scrubadub-check")
FIXES = ("presidio-fix", "scrubadub-fix")
#: Presidio's throughput is the yardstick: the check tools against its analyzer, the fix tools
#: against analyzer + anonymizer.
YARDSTICK = {"check": "Presidio analyzer", "fix": "Presidio analyzer+anonymizer"}


# --------------------------------------------------------------------------------------------
# Workers: each peer as a command-line tool over the report column of a CSV
# --------------------------------------------------------------------------------------------

def family_patterns() -> dict[str, str]:
    """Pack name -> the alternation of its rules, in deidlint's priority order."""
    from deidlint.engine import alternation
    from deidlint.rules import load_packs

    return {pack.name: alternation(pack.rules) for pack in load_packs() if all(r.default for r in pack.rules)}


def _reports(path: str) -> Iterator[str]:
    """The report column of a CSV, row by row."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        col = next(reader).index("report")
        for row in reader:
            yield row[col]


def _rewrite(src: str, out: str, fix: Callable[[str], str]) -> None:
    """Copy a CSV with ``fix`` applied to its report column."""
    with open(src, newline="", encoding="utf-8") as handle, open(out, "w", newline="", encoding="utf-8") as target:
        reader, writer = csv.reader(handle), csv.writer(target, lineterminator="\n")
        header = next(reader)
        col = header.index("report")
        writer.writerow(header)
        for row in reader:
            row[col] = fix(row[col])
            writer.writerow(row)


def _dump(spans: Iterator[tuple[int, int, int]]) -> None:
    """Findings as deidlint's JSON does them: record (0-based row) and offsets."""
    json.dump({"findings": [{"record": r, "start": s, "end": e} for r, s, e in spans]}, sys.stdout)


def _presidio() -> tuple[Callable[[str], list], object]:
    """An analyzer on a blank spaCy pipeline with one pattern per family, and an anonymizer."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    class BlankSpacyEngine(SpacyNlpEngine):
        """Presidio's spaCy engine on ``spacy.blank("en")``: tokens only, nothing to download."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
    engine.load()
    patterns = [Pattern(name, regex, 1.0) for name, regex in family_patterns().items()]
    # Presidio matches case-insensitively by default; the rule packs say when case does not matter.
    recognizer = PatternRecognizer("DEID_TRACE", patterns=patterns, supported_language="en", global_regex_flags=0)
    registry = RecognizerRegistry(recognizers=[recognizer], supported_languages=["en"])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
    return (lambda text: analyzer.analyze(text, language="en")), AnonymizerEngine()


def _scrubber() -> object:
    """A scrubadub Scrubber with one detector: the alternation of every rule."""
    import re

    import scrubadub
    from scrubadub.detectors import RegexDetector
    from scrubadub.filth import Filth

    class TraceFilth(Filth):
        type = "trace"

    class TraceDetector(RegexDetector):
        name = "deid_trace"
        filth_cls = TraceFilth
        regex = re.compile("|".join(f"(?:{p})" for p in family_patterns().values()))

    return scrubadub.Scrubber(detector_list=[TraceDetector()], post_processor_list=[])


def worker(tool: str, src: str, out: str | None) -> None:
    """Run one peer over a CSV: check tools print JSON findings, fix tools write a CSV."""
    if tool == "re-check":
        import re

        pattern = re.compile("|".join(f"(?:{p})" for p in family_patterns().values()))
        _dump((i, m.start(), m.end()) for i, text in enumerate(_reports(src)) for m in pattern.finditer(text))
    elif tool == "presidio-check":
        analyze, _ = _presidio()
        _dump((i, r.start, r.end) for i, text in enumerate(_reports(src)) for r in analyze(text))
    elif tool == "presidio-fix":
        from presidio_anonymizer.entities import OperatorConfig

        analyze, anonymizer = _presidio()
        remove = {"DEFAULT": OperatorConfig("replace", {"new_value": ""})}
        _rewrite(src, out, lambda text: anonymizer.anonymize(text, analyze(text), operators=remove).text)
    elif tool == "scrubadub-check":
        scrubber = _scrubber()
        _dump((i, f.beg, f.end) for i, text in enumerate(_reports(src)) for f in scrubber.iter_filth(text))
    elif tool == "scrubadub-fix":
        _rewrite(src, out, _scrubber().clean)
    else:
        raise SystemExit(f"unknown worker {tool!r}")


# --------------------------------------------------------------------------------------------
# Corpora and ground truth
# --------------------------------------------------------------------------------------------

def openi_csv(n: int) -> Path | None:
    """The Open-I reports (sections joined) repeated to *n* rows, cached in bench-data/."""
    from tests.conftest import IU_REPORTS, iter_openi_reports

    if not IU_REPORTS.is_file():
        print(f"Open-I corpus skipped: {IU_REPORTS} not found (../shared is absent)\n")
        return None
    path = DATA / f"openi-{n}.csv"
    if path.exists():
        return path
    by_file: dict[str, list[str]] = {}
    for name, label, text in iter_openi_reports():
        by_file.setdefault(name, []).append(f"{label.upper()}: {text}")
    reports = ["\n\n".join(sections) for _, sections in sorted(by_file.items())]
    DATA.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["study_id", "report"])
        writer.writerows((f"openi-{i}", reports[i % len(reports)]) for i in range(n))
    os.replace(tmp, path)
    return path


def ground_truth(corpus: Path, n: int) -> set[tuple[int, int, int]]:
    """(row, start, end) of every trace in *corpus*, written by ``synth_csv(n)`` with seed 0.

    The CSV is cached across runs, so each report is compared with the generator's: a corpus
    left by an older generator would make every recall figure meaningless.
    """
    from deidlint import synth

    truth = set()
    for row, (rep, text) in enumerate(zip(synth.generate(n, seed=0), _reports(str(corpus)), strict=True)):
        if rep.text != text:
            raise SystemExit(f"{corpus} was written by another version of deidlint.synth: delete it and rerun")
        truth.update((row, s.start, s.end) for s in rep.spans)
    return truth


def recall(findings: Path, truth: set[tuple[int, int, int]]) -> float:
    """Share of ground-truth spans found with exactly the same offsets."""
    found = {(f["record"], f["start"], f["end"]) for f in json.loads(findings.read_text())["findings"]}
    return len(truth & found) / len(truth)


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------

class Bench:
    """Runs the tools on each corpus and keeps the rows of the table."""

    def __init__(self, tmp: Path, repeats: int, slow_repeats: int) -> None:
        self.tmp, self.repeats, self.slow_repeats = tmp, repeats, slow_repeats
        #: (tool, task, corpus, reports, result, recall or None)
        self.rows: list[tuple[str, str, str, int, Result, float | None]] = []
        #: Tool -> median seconds on a header-only CSV: import and set-up, no reports.
        self.startup: dict[str, float] = {}

    def commands(self, corpus: Path, slow: bool) -> dict[str, tuple[str, str]]:
        """Tool name -> (task, shell command); check tools' output goes to a file (recall reads it)."""
        me = [sys.executable, str(Path(__file__).resolve()), "--worker"]
        deidlint = [sys.executable, "-m", "deidlint"]
        fixed = str(self.tmp / "fixed.csv")
        tools = {
            "grep -c -E": ("check", f"grep -c -E {shlex.quote(GREP_PATTERN)} {shlex.quote(str(corpus))}"),
            "python csv+re loop": ("check", [*me, "re-check", str(corpus)]),
            "deidlint check --jobs 1": ("check", [*deidlint, "check", "--jobs", "1", "--format", "json", "--column",
                                                  "report", str(corpus)]),
            "deidlint check": ("check", [*deidlint, "check", "--format", "json", "--column", "report", str(corpus)]),
            "deidlint fix --jobs 1": ("fix", [*deidlint, "fix", "--jobs", "1", "--column", "report", "-o", fixed,
                                              str(corpus)]),
            "deidlint fix": ("fix", [*deidlint, "fix", "--column", "report", "-o", fixed, str(corpus)]),
        }
        if slow:
            tools |= {
                "Presidio analyzer": ("check", [*me, "presidio-check", str(corpus)]),
                "Presidio analyzer+anonymizer": ("fix", [*me, "presidio-fix", str(corpus), fixed]),
                "scrubadub iter_filth": ("check", [*me, "scrubadub-check", str(corpus)]),
                "scrubadub clean": ("fix", [*me, "scrubadub-fix", str(corpus), fixed]),
            }
        out = {}
        for name, (task, cmd) in tools.items():
            line = cmd if isinstance(cmd, str) else shlex.join(cmd)
            if task == "check":  # also grep's count: GNU grep stops at the first match when stdout is /dev/null
                line += f" > {shlex.quote(str(self.findings(name)))}"
            out[name] = (task, line)
        return out

    def findings(self, name: str) -> Path:
        """Where a check tool's output goes."""
        return self.tmp / (name.replace(" ", "_").replace("+", "_") + ".json")

    def time(self, corpus: Path, slow: bool) -> tuple[dict[str, tuple[str, str]], list[Result]]:
        """Commands for *corpus* and their timings (the slow peers only when *slow*)."""
        commands = self.commands(corpus, slow)
        fast = [n for n in commands if not n.startswith(("Presidio", "scrubadub"))]
        results = measure({n: [commands[n][1]] for n in fast}, repeats=self.repeats, shell=set(fast))
        if slow:
            peers = [n for n in commands if n not in fast]
            results += measure({n: [commands[n][1]] for n in peers}, repeats=self.slow_repeats, shell=set(peers))
        return commands, results

    def measure_startup(self) -> None:
        """Every tool on a CSV with a header and no reports, to separate start-up from throughput."""
        empty = self.tmp / "empty.csv"
        empty.write_text("study_id,report\n")
        self.startup = {r.name: r.median for r in self.time(empty, True)[1]}

    def run(self, label: str, corpus: Path, rows: int, slow: bool, truth: set[tuple[int, int, int]] | None) -> None:
        """Time the tools on *corpus* and score their recall."""
        commands, results = self.time(corpus, slow)
        for result in results:
            task = commands[result.name][0]
            score = None
            if truth is not None and task == "check" and not result.name.startswith("grep"):
                score = recall(self.findings(result.name), truth)
            self.rows.append((result.name, task, label, rows, result, score))

    def net(self, name: str, rows: int, r: Result) -> float | None:
        """Reports/s once started: time beyond the tool's start-up (None when lost in the noise)."""
        work = r.median - self.startup[name]
        return rows / work if work > 0.05 * r.median else None

    def table(self) -> str:
        """Markdown: each row's reports/s against Presidio's on the same corpus (its subset)."""
        yard = {(task, label): (rows / r.median, self.net(name, rows, r)) for name, task, label, rows, r, _ in self.rows
                if name == YARDSTICK[task]}
        lines = ["| tool | corpus | reports | median s | reports/s | x Presidio | start-up s | reports/s after start-up "
                 "| x Presidio after start-up | peak RSS MiB | recall |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, task, label, rows, r, score in self.rows:
            base, base_net = yard.get((task, label), (None, None))
            net = self.net(name, rows, r)
            cells = [name, label, f"{rows:,}", f"{r.median:.2f}", f"{rows / r.median:,.0f}",
                     f"{rows / r.median / base:,.1f}" if base else "n/a", f"{self.startup[name]:.2f}",
                     f"{net:,.0f}" if net else "n/a", f"{net / base_net:,.1f}" if net and base_net else "n/a",
                     f"{max(r.peak_kib) / 1024:.0f}", f"{score:.4f}" if score is not None else "n/a"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=227_835, help="generated corpus size")
    parser.add_argument("--openi-reports", type=int, default=50_000, help="Open-I reports repeated to this size")
    parser.add_argument("--subset", type=int, default=5_000, help="reports every tool, Presidio included, runs on")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the fast tools (median)")
    parser.add_argument("--slow-repeats", type=int, default=1, help="runs of Presidio and scrubadub")
    parser.add_argument("--worker", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.worker[2] if len(args.worker) > 2 else None)
        return

    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), args.repeats, args.slow_repeats)
        bench.measure_startup()
        for n, slow in ((args.subset, True), (args.reports, False)):
            corpus = synth_csv(n)
            bench.run("generated", corpus, n, slow, ground_truth(corpus, n))
        openi_small, openi = openi_csv(args.subset), openi_csv(args.openi_reports)
        if openi_small and openi:
            bench.run("Open-I repeated", openi_small, args.subset, True, None)
            bench.run("Open-I repeated", openi, args.openi_reports, False, None)
    print(f"Median of {args.repeats} runs (fast tools), {args.slow_repeats} (Presidio, scrubadub); every tool in its "
          f"own process, start-up included. x Presidio = reports/s over Presidio's on the {args.subset:,}-report "
          "subset of the same corpus (check tools vs its analyzer, fix tools vs analyzer+anonymizer). Recall: "
          "share of the generator's ground-truth spans found with exact offsets (n/a: no offsets or no ground "
          "truth). Start-up: the same tool on a CSV with no reports; the columns after start-up divide the "
          "reports by the time beyond it (n/a where it is within 5% of the total, i.e. noise).\n")
    print(bench.table())


if __name__ == "__main__":
    main()
