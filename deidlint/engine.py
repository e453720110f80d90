"""The detection engine: every enabled rule, compiled into one pattern, in one pass per text.

Rules are joined into a single alternation of named groups (``(?P<DL101>...)|(?P<DL102>...)``),
in pack order, so a position is claimed by the first (most specific) rule that matches there
and the text is walked once, not once per rule. For datasets, many cells are joined with a NUL
separator and scanned in one call: that removes the per-call overhead that dominates on short
reports. NUL behaves like the ends of a string for the lookarounds rules use (it is neither a
word character nor any marker character); a match that nevertheless straddles two cells is
discarded and both cells are rescanned on their own, so results never depend on batching.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import regex

from deidlint.errors import UsageError
from deidlint.rules import Rule

#: Joins cells in a batch. See the module docstring for why NUL is safe.
SEPARATOR = "\x00"

#: Seconds a pattern may run on an empty text, plus seconds per million characters. Generous
#: for any sane pattern (the built-in packs scan about 100 MB/s), tight enough that a
#: catastrophically backtracking user pattern fails a CI job in seconds instead of hanging it.
DEFAULT_TIMEOUT = (1.0, 2.0)

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


class Scanner:
    """Compiled form of a rule set; cheap to call, expensive to build (build once per run)."""

    def __init__(self, rules: Sequence[Rule], timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        if not rules:
            raise UsageError("no rules selected")
        for rule in rules:
            if _ANCHOR.search(rule.pattern):
                raise UsageError(
                    f"rule {rule.code} ({rule.source}): anchors (^, $, \\A, \\Z) are not supported; "
                    "patterns are matched inside each cell"
                )
        self.rules = tuple(rules)
        self._by_code = {rule.code: rule for rule in self.rules}
        self._timeout = timeout
        #: The regex module's time limit costs about 2 µs per anchored match, doubling scan
        #: time, so it guards every pattern the user brought (a catastrophic one fails the run
        #: with its rule named) but not the built-in packs, whose patterns use only bounded
        #: quantifiers and are checked against adversarial input in the tests.
        self._guarded = not all(rule.builtin for rule in self.rules)
        self._full = regex.compile(alternation(self.rules))
        #: Trigger literals, and for each first character the ordered alternation of the rules
        #: whose triggers start with it. None when some rule has no triggers: then every
        #: position is a candidate and the full alternation is used.
        self._triggers: tuple[str, ...] | None = None
        self._by_first: dict[str, regex.Pattern[str]] = {}
        if all(rule.triggers for rule in self.rules):
            self._triggers = tuple(sorted({t for rule in self.rules for t in rule.triggers}))
            firsts = {t[0] for t in self._triggers}
            self._by_first = {
                c: regex.compile(alternation([r for r in self.rules if any(t[0] == c for t in r.triggers)]))
                for c in firsts
            }

    def _finditer(self, text: str) -> list[tuple[int, int, str]]:
        """Leftmost-first, non-overlapping matches: the semantics of the one ordered alternation.

        Python's regex engines try an alternation of unrelated literals at every position (about
        9 MB/s on the benchmark corpus). Every built-in rule declares the literals its matches
        start with, so candidate positions are found with ``str.find`` (memchr speed), and at each
        one only the rules whose triggers start with that character are tried, in rule order.
        No rule can match where none of its triggers starts, so the result is the same.
        """
        base, per_million = self._timeout
        budget = base + per_million * len(text) / 1e6
        try:
            if self._triggers is None:
                return [(m.start(), m.end(), m.lastgroup)  # type: ignore[misc]
                        for m in self._full.finditer(text, timeout=budget) if m.end() > m.start()]
            limit = {"timeout": budget} if self._guarded else {}
            by_first = self._by_first
            out: list[tuple[int, int, str]] = []
            pos = 0
            for p in self._candidates(text):
                if p < pos:
                    continue
                m = by_first[text[p]].match(text, p, **limit)
                if m is not None and m.end() > p:
                    out.append((p, m.end(), m.lastgroup))  # type: ignore[arg-type]
                    pos = m.end()
            return out
        except TimeoutError:
            raise PatternTimeout(self._blame(text)) from None

    def _candidates(self, text: str) -> list[int]:
        """Sorted, distinct positions where some trigger literal starts (overlaps included).

        Long ASCII texts (a batch of cells) are searched with numpy, one vectorised comparison
        per literal character; short or non-ASCII texts with ``str.find``.
        """
        triggers = self._triggers
        assert triggers is not None
        if len(text) >= 4096 and text.isascii():
            data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
            found = []
            for literal in triggers:
                width = len(data) - len(literal) + 1
                if width <= 0:
                    continue
                hit = data[:width] == ord(literal[0])
                for k in range(1, len(literal)):
                    hit &= data[k:k + width] == ord(literal[k])
                found.append(np.flatnonzero(hit))
            merged = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.intp)
            if not merged.size:
                return []
            return merged[np.concatenate(([True], merged[1:] != merged[:-1]))].tolist()
        candidates: set[int] = set()
        find = text.find
        for literal in triggers:
            i = find(literal)
            while i >= 0:
                candidates.add(i)
                i = find(literal, i + 1)
        return sorted(candidates)

    def _blame(self, text: str) -> str:
        """Name the rule that timed out by running each alone, so the message is actionable."""
        base, per_million = self._timeout
        for rule in self.rules:
            try:
                for _ in rule.compiled().finditer(text, timeout=base + per_million * len(text) / 1e6):
                    pass
            except TimeoutError:
                return f"rule {rule.code} ({rule.source}) timed out: its pattern backtracks catastrophically"
        return "the combined rule pattern timed out"

    def scan(self, text: str) -> list[Match]:
        """All non-overlapping matches in *text*, left to right."""
        by_code = self._by_code
        return [Match(s, e, by_code[c]) for s, e, c in self._finditer(text)]

    def scan_many(self, texts: Sequence[str]) -> list[tuple[int, Match]]:
        """Matches for a batch of texts as ``(index, match)``, identical to scanning each alone."""
        if not texts:
            return []
        starts = [0, *accumulate(len(t) + 1 for t in texts)]
        joined = SEPARATOR.join(texts)
        by_code = self._by_code
        out: list[tuple[int, Match]] = []
        rescan: set[int] = set()
        row = 0
        for s, e, code in self._finditer(joined):
            if s >= starts[row + 1]:
                row = bisect.bisect_right(starts, s, row) - 1
            if e > starts[row + 1] - 1:
                last = bisect.bisect_right(starts, e - 1, row) - 1
                rescan.update(range(row, last + 1))
                continue
            out.append((row, Match(s - starts[row], e - starts[row], by_code[code])))
        if rescan:
            out = [item for item in out if item[0] not in rescan]
            out.extend((i, m) for i in sorted(rescan) for m in self.scan(texts[i]))
            out.sort(key=lambda item: (item[0], item[1].start))
        return out
