"""The detection engine: every enabled rule, with the semantics of one ordered alternation.

Rules are joined into a single alternation of named groups (``(?P<DL101>...)|(?P<DL102>...)``),
in pack order, so a position is claimed by the first (most specific) rule that matches there.
Python's regex engines try such an alternation of unrelated literals at every position (about
9 MB/s on generated reports). So every built-in rule declares the literals its matches start
with (``triggers``); candidate positions for a whole batch of cells are found at once with
vectorised numpy comparisons over the cells joined by NUL, and at each candidate only the rules
whose triggers start with that character are tried, in order, against the cell's own string.
No rule can match where none of its triggers starts, and every match runs on one cell alone,
so the result is exactly the alternation's, whatever the batching (a hypothesis test holds it).

Each rule category (``trace``, ``residue``) is its own alternation, scanned on its own: a
category asks its own question of the text, so a residue finding (``compared to .``) never
hides a trace that overlaps it, nor the other way round. Findings of all categories come back
merged in text order.

A match whose text is exactly ``mask_token`` is no finding: a configuration that masks has
``fix`` write that token on purpose, and a check (or the fix's own rescan) that reported it would
fail every masked dataset, or remove the masks again under another rule's strategy. The exemption
lives here, where ``check``, ``baseline`` and ``fix`` all scan, so they cannot disagree; when it
applies is the command line's to say (:func:`deidlint.cli.accepted_mask`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import cast

import numpy as np
import regex

from deidlint.errors import UsageError
from deidlint.rules import Rule, Selection

#: Joins cells for the candidate search only; never part of a text a pattern sees.
SEPARATOR = "\x00"

#: Seconds a pattern may run on an empty text, plus seconds per million characters. Generous
#: for any sane pattern, tight enough that a catastrophically backtracking user pattern fails a
#: CI job in seconds instead of hanging it.
DEFAULT_TIMEOUT = (1.0, 2.0)
#: Seconds a guarded scan may spend over a whole run (per process), plus seconds per million
#: characters scanned so far: a pattern slow on every record (``(?:a|aa)+c``, half a second a
#: cell) never hits the per-record limit but cannot run for hours either.
RUN_BUDGET = (10.0, 5.0)
#: Seconds each rule gets when a timed-out batch is rerun rule by rule to name the culprit.
BLAME_SECONDS = 2.0

_ANCHOR = regex.compile(r"(?<!\\)(?:\\\\)*(?:\\[AZz]|\$|(?<!\[)\^)")


@dataclass(frozen=True, slots=True)
class Match:
    """A rule's hit inside one text: Python string offsets and the rule."""

    start: int
    end: int
    rule: Rule


def alternation(rules: Sequence[Rule]) -> str:
    """The rules as one ordered alternation of named groups: the reference for what a scan finds."""
    return "|".join(f"(?P<{r.code}>{'(?i:' if r.ignorecase else '(?:'}{r.pattern}))" for r in rules)


class PatternTimeout(UsageError):
    """A pattern ran past its time limit: a rule pack bug, reported as a usage error."""


class _Budget:
    """What a guarded scan may still spend: on the current record (all its matches together) and
    on the run; each match call gets the smaller remainder as the ``regex`` module's timeout."""

    def __init__(self, record: tuple[float, float], run: tuple[float, float]) -> None:
        self._record, self._per_mb = record, run[1]
        self._allowed, self._spent = run[0], 0.0
        self._started: float | None = None
        self._deadline = 0.0

    def start(self, size: int) -> None:
        self._allowed += self._per_mb * size / 1e6
        self._started = time.perf_counter()
        record = self._record[0] + self._record[1] * size / 1e6
        self._deadline = self._started + min(record, self._allowed - self._spent)

    def left(self) -> float:
        """Seconds the next match call may take: the ``regex`` timeout it is given."""
        left = self._deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError
        return left

    def end(self) -> None:
        if self._started is not None:
            self._spent += time.perf_counter() - self._started
            self._started = None


class Scanner:
    """Compiled form of a rule set; cheap to call, expensive to build (build once per run)."""

    def __init__(self, rules: Sequence[Rule], timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 guard: bool | None = None, mask_token: str | None = None, silent: Collection[Rule] = ()) -> None:
        """``rules`` match in this order, the first match winning; those also in ``silent`` claim
        their text and are never reported (see :class:`deidlint.rules.Selection`)."""
        quiet = frozenset(silent)
        #: The rules reported; :attr:`_matching` adds the silent ones, in their places.
        self.rules = tuple(r for r in rules if r not in quiet)
        if not self.rules:
            raise UsageError("no rules selected")
        self._matching = tuple(rules)
        self._silent = frozenset(r.code for r in quiet)
        for rule in self._matching:
            if _ANCHOR.search(rule.pattern):
                raise UsageError(
                    f"rule {rule.code} ({rule.source}): anchors (^, $, \\A, \\Z) are not supported; "
                    "patterns are matched inside each cell"
                )
            if any(SEPARATOR in t for t in rule.triggers):
                raise UsageError(f"rule {rule.code} ({rule.source}): a trigger cannot contain NUL")
        #: The mask token, never reported (see the module docstring); "" exempts nothing.
        self.mask_token = mask_token or ""
        #: Rule by code, for turning :meth:`spans` into findings.
        self.rule_of = {rule.code: rule for rule in self.rules}
        categories = dict.fromkeys(rule.category for rule in self.rules)
        #: One scanner per category when there are several (see the module docstring); a silent
        #: rule matches among the rules of its own category.
        self._parts = [Scanner([r for r in self._matching if r.category == c], timeout, guard, mask_token, quiet)
                       for c in categories] if len(categories) > 1 else []
        #: The regex module's time limit costs about 2 µs per anchored match, doubling scan
        #: time, so it guards every pattern the user brought (a catastrophic one fails the run
        #: with its rule named) but not the built-in packs, whose patterns use only bounded
        #: quantifiers and are checked against adversarial input in the tests.
        #: ``guard`` forces the choice either way (the tests force it on for the built-in packs).
        self._guarded = not all(rule.builtin for rule in self._matching) if guard is None else guard
        self._triggers: tuple[str, ...] | None = None
        self._by_first: dict[str, regex.Pattern[str] | re.Pattern[str]] = {}
        #: Time left to a guarded scan, per record and per run (None: unguarded, no clock read).
        self._budget: _Budget | None = None
        if self._parts:
            return  # each part keeps its own budget
        if self._guarded:
            self._budget = _Budget(timeout, RUN_BUDGET)
        self._full = regex.compile(alternation(self._matching))
        #: Trigger literals, and for each first character the ordered alternation of the rules
        #: whose triggers start with it. None when some rule has no triggers: then each cell is
        #: searched with the full alternation.
        if all(rule.triggers for rule in self._matching):
            self._triggers = tuple(sorted({t for rule in self._matching for t in rule.triggers}))
            for c in {t[0] for t in self._triggers}:
                group = alternation([r for r in self._matching if any(t[0] == c for t in r.triggers)])
                self._by_first[c] = self._fast(group) or regex.compile(group)

    @classmethod
    def of(cls, chosen: Selection, mask_token: str | None = None) -> Scanner:
        """The scanner of a selection: its silent rules match in their places, the chosen report."""
        return cls(chosen.matching, mask_token=mask_token, silent=chosen.silent)

    def _fast(self, pattern: str) -> re.Pattern[str] | None:
        """The standard library's compilation of *pattern*, when it can stand in for ``regex``.

        An anchored match costs about a third as much in ``re`` (measured: 0.5-1.3 µs against
        1.5-3.7 µs per candidate). It has no time limit, so only unguarded (built-in) rule sets use
        it, and only patterns ``re`` accepts (no variable-width lookbehind); the equivalence test
        against the ``regex`` alternation keeps the two engines honest.
        """
        if self._guarded:
            return None
        try:
            return re.compile(pattern)
        except re.error:
            return None

    def _candidates(self, joined: str) -> np.ndarray:
        """Sorted, distinct positions in *joined* where some trigger literal starts (overlaps included).

        One vectorised comparison per literal character, over bytes for ASCII text and over
        UTF-32 code points otherwise, so positions are string offsets either way.
        """
        assert self._triggers is not None
        if joined.isascii():
            data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        else:
            data = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        found = []
        for literal in self._triggers:
            width = len(data) - len(literal) + 1
            if width <= 0:
                continue
            hit = data[:width] == ord(literal[0])
            for k in range(1, len(literal)):
                hit &= data[k:k + width] == ord(literal[k])
            found.append(np.flatnonzero(hit))
        if not found:
            return np.empty(0, dtype=np.intp)
        merged = np.sort(np.concatenate(found))
        return merged[np.concatenate(([True], merged[1:] != merged[:-1]))] if merged.size else merged

    def spans(self, texts: Sequence[str]) -> list[tuple[int, int, int, str]]:
        """``(cell, start, end, code)`` for every match, leftmost-first and non-overlapping per cell.

        The raw form of :meth:`scan_many`, for the dataset path, where millions of matches make
        every per-match object count.
        """
        if self._parts:
            merged = [span for part in self._parts for span in part.spans(texts)]
            merged.sort(key=lambda span: (span[0], span[1]))
            return merged
        out: list[tuple[int, int, int, str]] = []
        budget = self._budget
        # A match is the mask token when it is as long and starts with it (no slice per match).
        token = self.mask_token
        width = len(token) or -1
        try:
            if self._triggers is None:
                for i, text in enumerate(texts):
                    if budget:
                        budget.start(len(text))
                    # Every alternative of the alternation is a named group, so a match has a lastgroup.
                    out.extend((i, m.start(), m.end(), m.lastgroup)  # type: ignore[misc]
                               for m in self._full.finditer(text, timeout=budget.left() if budget else None)
                               if m.end() > m.start()
                               and (m.end() - m.start() != width or not text.startswith(token, m.start())))
                    if budget:
                        budget.end()
                return self._reported(out)
            starts = np.fromiter(accumulate((len(t) + 1 for t in texts), initial=0), dtype=np.intp, count=len(texts) + 1)
            candidates = self._candidates(SEPARATOR.join(texts))
            cells = np.searchsorted(starts, candidates, side="right") - 1
            offsets = candidates - starts[cells]
            by_first = self._by_first
            cell, text, pos = -1, "", 0
            for i, p in zip(cells.tolist(), offsets.tolist(), strict=True):
                if i != cell:
                    cell, text, pos = i, texts[i], 0
                    if budget:
                        budget.end()
                        budget.start(len(text))
                if p < pos:
                    continue
                # A budget means a guarded scan, whose patterns are all ``regex`` ones (``_fast`` declines).
                m = (cast("regex.Pattern[str]", by_first[text[p]]).match(text, p, timeout=budget.left()) if budget
                     else by_first[text[p]].match(text, p))
                if m is not None and m.end() > p:
                    pos = m.end()
                    if pos - p != width or not text.startswith(token, p):
                        out.append((i, p, pos, m.lastgroup))  # type: ignore[arg-type]  # named, as above
            if budget:
                budget.end()
            return self._reported(out)
        except TimeoutError:
            raise PatternTimeout(self._blame(texts)) from None

    def _reported(self, spans: list[tuple[int, int, int, str]]) -> list[tuple[int, int, int, str]]:
        """*spans* without those of silent rules, which matched only to keep their text."""
        return [span for span in spans if span[3] not in self._silent] if self._silent else spans

    def _blame(self, texts: Sequence[str]) -> str:
        """Name the rule that ran out of time by running each alone on the batch (each for at most
        BLAME_SECONDS), so the message is actionable: the first to use them all, or the slowest."""
        slowest, worst = None, -1.0
        for rule in self._matching:
            pattern = rule.compiled()
            started = time.perf_counter()
            try:
                for text in texts:
                    left = BLAME_SECONDS - (time.perf_counter() - started)
                    if left <= 0:
                        raise TimeoutError
                    for _ in pattern.finditer(text, timeout=left):
                        pass
            except TimeoutError:
                return f"rule {rule.code} ({rule.source}) ran past its time budget: its pattern backtracks catastrophically"
            if time.perf_counter() - started > worst:
                slowest, worst = rule, time.perf_counter() - started
        assert slowest is not None
        return (f"the rules ran past their time budget; the slowest is {slowest.code} ({slowest.source}), "
                f"{worst:.2f} s on one batch alone")

    def scan(self, text: str) -> list[Match]:
        """All non-overlapping matches in *text*, left to right."""
        rule_of = self.rule_of
        return [Match(s, e, rule_of[c]) for _, s, e, c in self.spans([text])]

    def scan_many(self, texts: Sequence[str]) -> list[tuple[int, Match]]:
        """Matches for a batch of texts as ``(index, match)``, identical to scanning each alone."""
        rule_of = self.rule_of
        return [(i, Match(s, e, rule_of[c])) for i, s, e, c in self.spans(texts)] if texts else []
