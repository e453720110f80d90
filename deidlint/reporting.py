"""Report formats: text, JSON, SARIF 2.1.0, GitHub annotations, JUnit XML, and statistics.

Each reporter receives findings as they stream and the summary at the end, and writes to a
text stream. None of them prints report text unless the user asked for context: only
locations, codes and the marker itself.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import orjson

from deidlint import __version__
from deidlint.errors import RecordError
from deidlint.findings import Finding, Summary
from deidlint.rules import Rule

FORMATS = ("text", "json", "sarif", "github", "junit")
#: Where a finding sits in its file (1-based line, or None when the format has no lines).
LineOf = Callable[[Finding], "int | None"]


class Reporter(Protocol):
    """What the command line drives: one call per finding or bad record, one at the end."""

    def finding(self, finding: Finding) -> None: ...

    def record_error(self, error: RecordError) -> None: ...

    def finish(self, summary: Summary) -> None: ...


def printable(text: str) -> str:
    """*text* with every character that is not printable escaped (``\\n``, ``\\x1b``): a file
    named ``d/x\\nd/fake.txt:0:-:1: DL999 forged`` must not forge a finding line, and XML 1.0
    has no way to carry control characters at all."""
    return text if text.isprintable() else "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text)


def json_text(doc: object, option: int = 0) -> str:
    """*doc* as JSON. A string that is not valid Unicode (a file name with an undecodable byte,
    kept by Python as a lone surrogate, or a lone surrogate escape read from JSONL) is written
    escaped as :func:`printable` shows it, ``n\\udcff.csv``: strict JSON readers, orjson among
    them, refuse lone surrogates, and a report a CI system cannot parse is a report lost."""
    try:
        return orjson.dumps(doc, option=option).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(_valid_unicode(doc), option=option).decode()


def _utf8(text: str) -> str:
    """*text* with every lone surrogate written as its escape (``\\udcff``): valid UTF-8 throughout."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _valid_unicode(value: object) -> object:
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_unicode(v) for v in value]
    return value


def _location(f: Finding) -> str:
    return f"{printable(f.path)}:{f.record}:{printable(f.column or '-')}:{f.start}"


def _marked(f: Finding) -> str:
    """The marker, and the record's ``--id-column`` value when there is one: a curator looks a
    report up by its id, not by its row in one export."""
    return f"{f.marker!r}" + (f" (id {printable(f.id)})" if f.id is not None else "")


def summary_line(summary: Summary, rules: Mapping[str, Rule]) -> str:
    """One human sentence for the end of a run; it speaks of traces unless other categories ran."""
    files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    traces_only = all(r.category == "trace" for r in rules.values())
    if not summary.findings:
        what = "de-identification traces" if traces_only else "findings"
        return f"No {what} found in {summary.records} records ({files})."
    noun = "trace" if traces_only else "finding"
    return (f"Found {summary.findings} {noun}{'s' if summary.findings != 1 else ''} in "
            f"{summary.records_with_findings} of {summary.records} records ({files}).")


class TextReporter:
    """``path:row:column:offset: CODE message marker (id ID)`` per finding, then a summary."""

    def __init__(self, out: IO[str], rules: Sequence[Rule], statistics: bool = False) -> None:
        self.out, self.rules, self.statistics = out, {r.code: r for r in rules}, statistics

    def finding(self, f: Finding) -> None:
        if self.statistics:
            return
        context = f"  | {f.context!r}" if f.context is not None else ""
        self.out.write(f"{_location(f)}: {f.rule.code} {f.rule.message} {_marked(f)}{context}\n")

    def record_error(self, error: RecordError) -> None:
        self.out.write(f"{printable(str(error))}\n")

    def finish(self, summary: Summary) -> None:
        if self.statistics:
            self.out.write(statistics_table(summary, self.rules))
        self.out.write(summary_line(summary, self.rules) + "\n")
        if summary.errors:
            self.out.write(f"{summary.errors} record(s) could not be read and were skipped.\n")
        fixable = sum(n for code, n in summary.by_rule.items() if self.rules[code].fixable)
        if fixable:
            self.out.write(f"{fixable} fixable with 'deidlint fix'.\n")


def statistics_table(summary: Summary, rules: dict[str, Rule]) -> str:
    """Counts per rule, most frequent first, as ``ruff --statistics`` prints them."""
    rows = sorted(summary.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    lines = [f"{n:>{width}}\t{code}\t{rules[code].name}\t{'[*] ' if rules[code].fixable else ''}{rules[code].message}"
             for code, n in rows]
    return "".join(line + "\n" for line in lines)


class JsonReporter:
    """The pinned JSON document, streamed: findings are written as they arrive."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True
        self.errors: list[dict[str, object]] = []
        out.write(f'{{"deidlint":{json_text(__version__)},"findings":[')

    def finding(self, f: Finding) -> None:
        self.out.write(("" if self.first else ",") + json_text(f.as_dict()))
        self.first = False

    def record_error(self, error: RecordError) -> None:
        self.errors.append({"path": error.path, "record": error.record, "error": error.reason})

    def finish(self, summary: Summary) -> None:
        tail = {"summary": summary.as_dict(), **({"errors": self.errors} if self.errors else {})}
        self.out.write("]," + json_text(tail)[1:] + "\n")


def _level(rule: Rule) -> str:
    return {"error": "error", "warning": "warning", "info": "note"}[rule.severity]


def fingerprint(f: Finding) -> str:
    """A stable identity for a finding that contains no report text (hash of location and marker)."""
    key = f"{f.path}\x00{f.record}\x00{f.id}\x00{f.column}\x00{f.rule.code}\x00{f.start}\x00{f.marker}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def file_columns(f: Finding) -> bool:
    """Whether *f*'s cell column is also its column in the file: only for a ``.txt`` report,
    where the record is the whole file (and so has no column name). In CSV the first line of a
    cell starts after the other fields and quotes are doubled; JSON escapes characters. There a
    file position names the line alone."""
    return f.column is None


def artifact_uri(path: str) -> str:
    """A SARIF ``artifactLocation.uri``: a relative URI reference for a relative path (GitHub
    resolves it against the checkout), a ``file:`` URI for an absolute one, percent-encoded so
    that spaces and ``#`` in dataset file names stay part of the path. The file system's own
    bytes are encoded, so a name that is not UTF-8 (``n\\xff.csv``) is ``n%FF.csv``."""
    encoded = quote(os.fsencode(Path(path).as_posix()), safe="/")
    return "file://" + encoded if os.path.isabs(path) else encoded


class SarifReporter:
    """SARIF 2.1.0 for code scanning. Results are buffered: SARIF puts them inside ``runs``.

    Every result has a ``region.startLine``, which GitHub code scanning requires: the record's
    file line, or line 1 for formats without lines (Parquet), where the logical location and
    the ``record`` property say where the trace is. Columns count code points, as offsets do.
    """

    def __init__(self, out: IO[str], rules: Sequence[Rule], line_of: LineOf) -> None:
        self.out, self.rules, self.line_of = out, list(rules), line_of
        self.index = {r.code: i for i, r in enumerate(self.rules)}
        self.results: list[dict[str, object]] = []
        self.notifications: list[dict[str, object]] = []

    def finding(self, f: Finding) -> None:
        line = self.line_of(f)
        region = ({"startLine": 1} if line is None
                  else {"startLine": line, "startColumn": f.col, "endColumn": f.col + len(f.marker)}
                  if file_columns(f) and "\n" not in f.marker else {"startLine": line})
        where = f"record {f.record}" + (f", column {f.column}" if f.column else "") + (f", id {f.id}" if f.id else "")
        self.results.append({
            "ruleId": f.rule.code,
            "ruleIndex": self.index[f.rule.code],
            "level": _level(f.rule),
            "message": {"text": f"{f.rule.message} ({f.marker!r}) at {where}, offset {f.start}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": artifact_uri(f.path)}, "region": region},
                "logicalLocations": [{"fullyQualifiedName": where, "kind": "element"}],
            }],
            "partialFingerprints": {"deidlintFinding/v1": fingerprint(f)},
            "properties": {"record": f.record, "column": f.column, "id": f.id, "start": f.start, "end": f.end,
                           "category": f.rule.category},
        })

    def record_error(self, error: RecordError) -> None:
        self.notifications.append({
            "level": "error", "message": {"text": error.reason},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(error.path)}}}],
        })

    def finish(self, summary: Summary) -> None:
        driver = {
            "name": "deidlint", "version": __version__, "semanticVersion": __version__,
            "informationUri": "https://pypi.org/project/deidlint/",
            "rules": [{
                "id": r.code, "name": r.name,
                "shortDescription": {"text": r.message},
                "fullDescription": {"text": f"{r.message} (pack {r.pack}, kind {r.kind}, default fix {r.fix})."},
                "help": {"text": f"Run 'deidlint rule {r.code}' for examples; 'deidlint fix' repairs it."},
                "defaultConfiguration": {"level": _level(r)},
                "properties": {"category": r.category, "pack": r.pack, "tags": [r.category, r.pack]},
            } for r in self.rules],
        }
        invocation: dict[str, object] = {"executionSuccessful": True}
        if self.notifications:
            invocation["toolExecutionNotifications"] = self.notifications
        doc = {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": self.results,
                      "columnKind": "unicodeCodePoints", "properties": {"summary": summary.as_dict()}}],
        }
        self.out.write(json_text(doc, orjson.OPT_INDENT_2) + "\n")


def _gh_escape(value: str, prop: bool = False) -> str:
    """A workflow-command value: GitHub's own escapes, and valid UTF-8 (an undecodable byte of a
    file name escaped as ``\\udcff``; the runner would mangle the raw byte anyway)."""
    value = _utf8(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


class GithubReporter:
    """GitHub Actions workflow commands: one ``::error`` annotation per finding."""

    def __init__(self, out: IO[str], rules: Sequence[Rule], line_of: LineOf) -> None:
        self.out, self.rules, self.line_of = out, {r.code: r for r in rules}, line_of

    def finding(self, f: Finding) -> None:
        line = self.line_of(f)
        props = f"file={_gh_escape(f.path, True)}"
        if line is not None:
            props += f",line={line}" + (f",col={f.col}" if file_columns(f) else "")
        title = _gh_escape(f"{f.rule.code} {f.rule.name}", True)
        level = {"error": "error", "warning": "warning", "info": "notice"}[f.rule.severity]
        message = f"{f.rule.message} {_marked(f)} at record {f.record}" + (f", column {f.column}" if f.column else "")
        self.out.write(f"::{level} {props},title={title}::{_gh_escape(message)}\n")

    def record_error(self, error: RecordError) -> None:
        self.out.write(f"::error file={_gh_escape(error.path, True)}::{_gh_escape(error.reason)}\n")

    def finish(self, summary: Summary) -> None:
        self.out.write(summary_line(summary, self.rules) + "\n")


class JunitReporter:
    """JUnit XML: a test suite per file, a test case per rule, failing when it found traces.

    CI systems show one failure per rule and file with its count and first locations, which is
    readable where a test case per finding (hundreds of thousands) would not be.
    """

    FIRST = 20

    def __init__(self, out: IO[str], rules: Sequence[Rule]) -> None:
        self.out, self.rules = out, list(rules)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.examples: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def finding(self, f: Finding) -> None:
        self.counts[f.path][f.rule.code] += 1
        examples = self.examples[(f.path, f.rule.code)]
        if len(examples) < self.FIRST:
            examples.append(f"{_location(f)} {_marked(f)}")

    def record_error(self, error: RecordError) -> None:
        self.errors[error.path].append(printable(str(error)))

    def finish(self, summary: Summary) -> None:
        paths = sorted(set(self.counts) | set(self.errors)) or ["(all inputs)"]
        total_failures = sum(len(c) for c in self.counts.values())
        total_errors = sum(len(e) for e in self.errors.values())
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="deidlint" '
                 f'tests="{len(paths) * len(self.rules) + total_errors}" failures="{total_failures}" '
                 f'errors="{total_errors}">\n']
        for path in paths:
            counts = self.counts.get(path, Counter())
            errors = self.errors.get(path, [])
            name = quoteattr(printable(path))
            parts.append(f'  <testsuite name={name} tests="{len(self.rules) + len(errors)}" '
                         f'failures="{len(counts)}" errors="{len(errors)}">\n')
            for rule in self.rules:
                parts.append(f'    <testcase classname={name} name={quoteattr(f"{rule.code} {rule.name}")}>')
                if counts[rule.code]:
                    shown = self.examples[(path, rule.code)]
                    more = counts[rule.code] - len(shown)
                    body = "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
                    parts.append(f'<failure type={quoteattr(rule.code)} '
                                 f'message={quoteattr(f"{counts[rule.code]} x {rule.message}")}>{escape(body)}</failure>')
                parts.append("</testcase>\n")
            for error in errors:
                parts.append(f'    <testcase classname={name} name="read">'
                             f'<error message={quoteattr(error)}/></testcase>\n')
            parts.append("  </testsuite>\n")
        parts.append("</testsuites>\n")
        self.out.write("".join(parts))
