"""Thresholds: CI gates that accept some traces and fail only past a limit.

Not every dataset gate is zero-tolerance. A curator may accept a few over-scrubbed ordinary
words in a training set while blocking any leftover name placeholder, or accept traces in at
most 1% of reports. A threshold names rules (``select``, as ``--select`` does) and/or a
``category``, limits the number of matching findings (``max-count``) and/or the share of
records that have one (``max-share``, Great Expectations' ``mostly`` turned around), and has a
level: ``fail`` sets exit code 1, ``warn`` is only reported (Soda's warn/fail).

Semantics, pinned by the tests: a measured value *at* the limit passes, one above it does not;
shares are compared exactly (as fractions of the decimal written in the config, so 0.29 of 100
records allows 29). Findings of rules that no threshold names keep the default of a check
without thresholds: any one of them fails the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from deidlint.errors import UsageError
from deidlint.findings import Finding, Summary
from deidlint.rules import Rule

LEVELS = ("warn", "fail")
_KEYS = ("category", "level", "max-count", "max-share", "select")


@dataclass(slots=True)
class Tally:
    """Findings counted as a gate or a baseline sees them: total, per rule, distinct records."""

    findings: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    records: dict[str, set[int]] = field(default_factory=dict)

    def add(self, f: Finding) -> None:
        self.findings += 1
        self.by_rule[f.rule.code] += 1
        self.records.setdefault(f.path, set()).add(f.record)

    @property
    def records_with_findings(self) -> int:
        return sum(len(rows) for rows in self.records.values())

    def summary(self, read: Summary) -> Summary:
        """*read*'s file and record counts with this tally's findings (what a baseline left over)."""
        return replace(read, findings=self.findings, by_rule=Counter(self.by_rule),
                       records_with_findings=self.records_with_findings)


@dataclass(frozen=True, slots=True)
class Threshold:
    """One configured limit; ``label`` names what it covers in the summary."""

    select: tuple[str, ...]
    category: str | None
    max_count: int | None
    max_share: Fraction | None
    level: str
    label: str

    def covers(self, rule: Rule) -> bool:
        return ((not self.select or any(rule.selected_by(s) for s in self.select))
                and (self.category is None or rule.category == self.category))


def parse_thresholds(raw: Sequence[Mapping[str, object]], rules: Sequence[Rule], origin: str) -> list[Threshold]:
    """Validate ``[[tool.deidlint.thresholds]]`` tables strictly; any problem is a one-line error.

    *rules* are all rules that exist (not only the selected ones), so a selector is checked for
    typos without making ``--select`` on the command line break a configured gate.
    """
    out = []
    categories = sorted({r.category for r in rules})
    for n, table in enumerate(raw, 1):
        where = f"{origin}: thresholds[{n}]"
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
        select = table.get("select", [])
        if isinstance(select, str):
            select = [select]
        if not isinstance(select, list) or not all(isinstance(s, str) and s for s in select):
            raise UsageError(f"{where}: 'select' must be a rule selector or a list of them")
        for selector in select:
            if not any(r.selected_by(selector) for r in rules):
                raise UsageError(f"{where}: 'select' {selector!r} names no rule (see 'deidlint rules')")
        category = table.get("category")
        if category is not None and category not in categories:
            raise UsageError(f"{where}: 'category' {category!r} is not one of {', '.join(categories)}")
        max_count = table.get("max-count")
        if max_count is not None and (isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 0):
            raise UsageError(f"{where}: 'max-count' must be a whole number, 0 or more")
        max_share = table.get("max-share")
        if max_share is not None and (isinstance(max_share, bool) or not isinstance(max_share, (int, float))
                                      or not 0 <= max_share <= 1):
            raise UsageError(f"{where}: 'max-share' must be a number from 0 to 1")
        if max_count is None and max_share is None:
            raise UsageError(f"{where}: needs 'max-count' or 'max-share' (or both)")
        level = table.get("level", "fail")
        if level not in LEVELS:
            raise UsageError(f"{where}: 'level' must be 'warn' or 'fail'")
        parts = [*select, *([f"category {category}"] if category else [])]
        out.append(Threshold(
            select=tuple(select), category=category, max_count=max_count,
            # str() first: the fraction of the decimal the user wrote, not of its binary float.
            max_share=None if max_share is None else Fraction(str(max_share)),
            level=str(level), label=" + ".join(parts) if parts else "all rules",
        ))
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """One measured limit: ``status`` is ``ok``, ``warn`` or ``fail``."""

    label: str
    status: str
    text: str


def _percent(value: Fraction) -> str:
    return f"{float(value) * 100:.4g}%"


class Gate:
    """Counts the reported findings per threshold, then judges them against the limits."""

    def __init__(self, thresholds: Sequence[Threshold]) -> None:
        self.thresholds = list(thresholds)
        self.tallies = [Tally() for _ in self.thresholds]
        self.uncovered = Tally()
        self._covering: dict[str, list[int]] = {}

    def observe(self, f: Finding) -> None:
        if not self.thresholds:  # only the count decides a run without thresholds: keep it cheap
            self.uncovered.findings += 1
            return
        code = f.rule.code
        covering = self._covering.get(code)
        if covering is None:
            covering = self._covering[code] = [i for i, t in enumerate(self.thresholds) if t.covers(f.rule)]
        for i in covering:
            self.tallies[i].add(f)
        if not covering:
            self.uncovered.add(f)

    def outcomes(self, records: int) -> list[Outcome]:
        """Every limit with its measured value; *records* is the number of records read."""
        out = []
        for t, tally in zip(self.thresholds, self.tallies, strict=True):
            bad = t.level
            if t.max_count is not None:
                over = tally.findings > t.max_count
                out.append(Outcome(t.label, bad if over else "ok",
                                   f"{tally.findings} finding(s) {'>' if over else '<='} max-count {t.max_count}"))
            if t.max_share is not None:
                hit = tally.records_with_findings
                share = Fraction(hit, records) if records else Fraction(0)
                over = share > t.max_share
                out.append(Outcome(t.label, bad if over else "ok",
                                   f"{_percent(share)} of records ({hit} of {records}) "
                                   f"{'>' if over else '<='} max-share {_percent(t.max_share)}"))
        if self.thresholds and self.uncovered.findings:
            rules = ", ".join(sorted(self.uncovered.by_rule))
            out.append(Outcome("rules without a threshold", "fail",
                               f"{self.uncovered.findings} finding(s) of {rules}"))
        return out

    def verdict(self, records: int) -> tuple[list[Outcome], int]:
        """The measured limits, and exit code 1 when a ``fail`` limit is exceeded or, with no
        threshold covering it, any finding remains (so a run without thresholds is unchanged)."""
        outcomes = self.outcomes(records)
        failed = any(o.status == "fail" for o in outcomes) or (not self.thresholds and self.uncovered.findings > 0)
        return outcomes, 1 if failed else 0


def outcome_lines(outcomes: Sequence[Outcome]) -> str:
    """The threshold part of the text summary: one aligned line per measured limit."""
    if not outcomes:
        return ""
    width = max(len(o.label) for o in outcomes)
    return "Thresholds:\n" + "".join(f"  {o.status:<4}  {o.label:<{width}}  {o.text}\n" for o in outcomes)
