"""Findings and the run summary: what the scan hands to reports, baselines, gates and fixes.

A finding locates a trace (file, record, column, offsets into the cell text exactly as read)
and names the rule. It carries the matched marker (``___``, ``[**Hospital1 18**]``) but never
the text around it: reports are sensitive, and findings end up in CI logs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from deidlint.rules import Rule


@dataclass(slots=True)
class Finding:
    """One trace in one cell. (Not frozen: a frozen dataclass is several times slower to
    create, and a run can create millions.)"""

    path: str
    record: int
    id: str | None
    column: str | None
    start: int
    end: int
    line: int
    col: int
    rule: Rule
    marker: str
    #: Text around the marker, only when the user asked for it with ``--show-context``.
    context: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The pinned JSON shape of a finding (see README, 'JSON output')."""
        rule = self.rule
        extra = {} if self.context is None else {"context": self.context}
        return {
            "path": self.path, "record": self.record, "id": self.id, "column": self.column,
            "start": self.start, "end": self.end, "line": self.line, "col": self.col,
            "rule": rule.code, "name": rule.name, "category": rule.category, "severity": rule.severity,
            "marker": self.marker, "fixable": rule.fixable, **extra,
        }


@dataclass(slots=True)
class Summary:
    """Counts over a whole run; the JSON summary and the text footer print these."""

    files: int = 0
    records: int = 0
    records_with_findings: int = 0
    findings: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    errors: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files, "records": self.records,
            "records_with_findings": self.records_with_findings, "findings": self.findings,
            "by_rule": dict(sorted(self.by_rule.items())),
        }


class LineCounter:
    """1-based line and column of offsets that arrive in increasing order per cell, counting each
    newline once: a hard-wrapped 8 MB cell with thousands of findings stays linear, where
    counting from the cell's start for every finding would be quadratic."""

    __slots__ = ("_text", "_pos", "_line", "_line_start")

    def __init__(self) -> None:
        self._text: str | None = None
        self._pos = self._line_start = 0
        self._line = 1

    def at(self, text: str, offset: int) -> tuple[int, int]:
        if text is not self._text or offset < self._pos:
            self._text, self._pos, self._line, self._line_start = text, 0, 1, 0
        newlines = text.count("\n", self._pos, offset)
        if newlines:
            self._line += newlines
            self._line_start = text.rfind("\n", self._pos, offset) + 1
        self._pos = offset
        return self._line, offset - self._line_start + 1
