"""A rewrite: one unit of repair, as a self-describing record with examples the tests run.

Every unit of rewriting in :mod:`deidlint.fix` (a frame, a tidy rule, a step of the sentence
repair) is one :class:`Rewrite`, as every detection rule is one TOML record: a name, what it does,
why it exists, and examples of a report and what ``fix`` writes for it under a strategy. The
tests run every example end to end and check that the rewrite fired on it (the repair reports
the names of the rewrites it applied), and, for a rewrite of a table, that the example's output
differs without it: a rewrite that no example needs has no place in the table. The examples are
invented; none is a sentence of a real report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import regex

from deidlint.fix.kinds import ANY_PLACEHOLDER, PLACEHOLDER, compile_frame

Replacement = str | Callable[[regex.Match[str]], str]


class Example(NamedTuple):
    """A report (invented, with real markers) and what ``fix --strategy strategy`` writes for it."""

    strategy: str
    text: str
    fixed: str


class Rewrite(NamedTuple):
    """One unit of rewriting. A table rewrite has a ``pattern`` (placeholder macros as in
    :func:`~deidlint.fix.kinds.compile_frame`) and its ``replacement``; a step of the repair that
    is code has neither, and the code names the record when it acts."""

    name: str
    does: str
    why: str
    examples: tuple[Example, ...]
    pattern: str = ""
    replacement: Replacement = ""


class Frame(NamedTuple):
    """A table rewrite compiled: the placeholders it needs (others skip it), pattern, replacement."""

    name: str
    needs: frozenset[str]
    pattern: regex.Pattern[str]
    replacement: Replacement


PLACEHOLDER_CHARS = frozenset(PLACEHOLDER.values())


def compile_table(table: Sequence[Rewrite]) -> tuple[Frame, ...]:
    """Compile a frame table; each frame notes the placeholders it needs, so others are skipped."""
    out = []
    for rewrite in table:
        compiled = compile_frame(rewrite.pattern)
        needs = (PLACEHOLDER_CHARS if ANY_PLACEHOLDER in compiled.pattern
                 else frozenset(c for c in compiled.pattern if c in PLACEHOLDER_CHARS))
        out.append(Frame(rewrite.name, needs, compiled, rewrite.replacement))
    names = [r.name for r in table]
    assert len(names) == len(set(names)), "rewrite names must be unique within a table"
    return tuple(out)
