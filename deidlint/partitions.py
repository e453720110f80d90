"""One piece of a table held by a distributed engine: its findings, restore's passes, its fix.

A Dask partition, a ``datasets`` batch and a Spark ``mapInPandas`` chunk are all a few columns of
consecutive rows. The functions here do the command line's work on such a piece, through the same
pure functions the command line's worker processes run (:func:`deidlint.checking.located`,
:func:`deidlint.fix.run.survey_task`, ``count_task``, ``fix_task``), so an engine adds only the
moving of pieces and the reductions.

Order is what makes the reductions exact. The command line reads a file in blocks of
:data:`~deidlint.readers.BATCH_ROWS` rows, one column after another within a block, and restore's
counts are merged in that order (a Counter breaks ties by first insertion). Here a piece is cut
into *fragments*, one per (file, block, column) it touches, each keyed by that triple; an engine
sorts the fragments of every piece by key (stably, so the halves of a block that two pieces share
stay in row order) and merges them, and gets the command line's order whatever the partitioning.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from deidlint.checking import located
from deidlint.engine import Scanner
from deidlint.findings import Finding, Summary
from deidlint.fix.fixer import Fixer
from deidlint.fix.restore import ContextKey
from deidlint.fix.run import count_task, dropped_sentence, fix_task, survey_task
from deidlint.fix.stats import FixStats
from deidlint.readers import BATCH_ROWS, Batch

#: The pinned JSON fields of a finding (README, "JSON output"), in order: the columns of a findings table.
FINDING_FIELDS = ("path", "record", "id", "column", "start", "end", "line", "col", "rule", "name", "category",
                  "severity", "marker", "fixable")
#: Where a fragment sits in the command line's reading order: (file, block, column index).
FragmentKey = tuple[str, int, int]


class Table(Protocol):
    """What a piece must offer: its columns by name (a pandas DataFrame, a dict of lists)."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Piece:
    """Where a piece's rows sit: each row's file and its 0-based row in that file."""

    paths: Sequence[str]
    rows: Sequence[int]

    @classmethod
    def at(cls, path: str, first: int, n: int) -> Piece:
        """*n* consecutive rows of one file from row *first*."""
        return cls([path] * n, range(first, first + n))

    def fragments(self, columns: Sequence[str]) -> Iterator[tuple[FragmentKey, str, list[int]]]:
        """(key, column, row indices in the piece) per (file, block, column), in reading order."""
        blocks: dict[tuple[str, int], list[int]] = {}
        for i, (path, row) in enumerate(zip(self.paths, self.rows, strict=True)):
            blocks.setdefault((path, row // BATCH_ROWS), []).append(i)
        for (path, block), indices in blocks.items():
            for c, column in enumerate(columns):
                yield (path, block, c), column, indices


def texts_of(values: Iterable[object]) -> list[str]:
    """Cell texts as the readers give them: a missing value (None, NaN) is the empty text."""
    return [v if isinstance(v, str) else "" for v in values]


def ids_of(values: Iterable[object] | None) -> list[str | None] | None:
    """``--id-column`` values as the readers give them: text, None where missing."""
    if values is None:
        return None
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


def _batch(table: Table, column: str, indices: list[int], piece: Piece, ids: list[str | None] | None,
           cells: list[str] | None = None) -> Batch:
    """The command line's :class:`Batch` for one fragment (*cells*: the column's texts, if read)."""
    texts = cells if cells is not None else texts_of(table[column])
    return Batch(column, [piece.rows[i] for i in indices], [texts[i] for i in indices],
                 [ids[i] for i in indices] if ids is not None else None, [piece.paths[i] for i in indices])


def check_piece(scanner: Scanner, table: Table, columns: Sequence[str], piece: Piece, id_column: str | None = None,
                ignored: Mapping[str, frozenset[str]] | None = None) -> list[tuple[FragmentKey, list[tuple[Any, ...]]]]:
    """The findings of a piece, per fragment, each a tuple of :data:`FINDING_FIELDS`; *ignored*
    gives the codes ``per-path-ignores`` switches off for a file."""
    ids = ids_of(table[id_column]) if id_column else None
    cells = {column: texts_of(table[column]) for column in columns}
    out = []
    for key, column, indices in piece.fragments(columns):
        batch = _batch(table, column, indices, piece, ids, cells[column])
        off = (ignored or {}).get(key[0], frozenset())
        rows = []
        for index, start, end, code, line, col in located(scanner, batch.texts):
            if code in off:
                continue
            text = batch.texts[index]
            finding = Finding(batch.paths[index], batch.rows[index], batch.ids[index] if batch.ids else None, column,
                              start, end, line, col, scanner.rule_of[code], text[start:end])
            rows.append(tuple(finding.as_dict().values()))
        out.append((key, rows))
    return out


def in_order(fragments: Iterable[tuple[FragmentKey, Any]], files: Sequence[str]) -> list[Any]:
    """Fragments of every piece (pieces in partition order) sorted into the command line's reading
    order: by file (in *files*' order), block and column; a block split over pieces keeps row order."""
    rank = {path: i for i, path in enumerate(files)}
    ordered = sorted(fragments, key=lambda item: (rank[item[0][0]], item[0][1], item[0][2]))
    return [value for _, value in ordered]


def by_block(fragments: Iterable[tuple[FragmentKey, Any]], files: Sequence[str]) -> Iterator[tuple[str, list[Any]]]:
    """(file, values) per (file, block), in the command line's reading order, each block given up
    as soon as the next begins, so that only one block is held, however large the corpus.

    Unlike :func:`in_order` this needs the fragments of every piece in partition order with each
    file's rows in one run, as ``--dask`` reads files (one after another, rows in order)."""
    rank = {path: i for i, path in enumerate(files)}
    held: list[tuple[int, Any]] = []
    at: tuple[int, int] | None = None
    path = ""
    for (where, block, column), value in fragments:
        here = (rank[where], block)
        if at is not None and here != at:
            if here < at:
                raise ValueError(f"{where}: pieces out of reading order (block {block} after {at[1]})")
            yield path, [v for _, v in sorted(held, key=lambda item: item[0])]
            held = []
        at, path = here, where
        held.append((column, value))
    if at is not None:
        yield path, [v for _, v in sorted(held, key=lambda item: item[0])]


def counted(summary: Summary, blocks: Iterable[tuple[str, list[list[tuple[Any, ...]]]]]) -> Iterator[tuple[Any, ...]]:
    """The findings (tuples of :data:`FINDING_FIELDS`) of :func:`by_block`'s blocks, counted into
    *summary* as they pass, as :class:`deidlint.checking.Check` counts them (records with
    findings block by block)."""
    for _, found in blocks:
        hit: set[int] = set()
        for rows in found:
            for f in rows:
                summary.findings += 1
                summary.by_rule[f[8]] += 1
                hit.add(f[1])
                yield f
        summary.records_with_findings += len(hit)


# -- restore's corpus passes, then the fix ----------------------------------------------------


def survey_piece(fixer: Fixer, table: Table, columns: Sequence[str]) -> list[ContextKey]:
    """The restore contexts of a piece's markers (their order does not matter: a set of needs)."""
    return [key for column in columns for key in survey_task(fixer, texts_of(table[column]))]


def count_piece(fixer: Fixer, table: Table, columns: Sequence[str],
                piece: Piece) -> list[tuple[FragmentKey, dict[ContextKey, Counter[str]]]]:
    """The fillers of the needed contexts in a piece, per fragment (merge with :func:`learn`)."""
    cells = {column: texts_of(table[column]) for column in columns}
    return [(key, count_task(fixer, [cells[column][i] for i in indices])) for key, column, indices in piece.fragments(columns)]


def need(fixer: Fixer, surveys: Iterable[Sequence[ContextKey]]) -> bool:
    """Reduce the survey: every context goes into the model; whether any needs counting.

    The model compiles its index of needs here, once, so that the pieces do not race to do it."""
    for keys in surveys:
        for key in keys:
            fixer.model.need(key)
    fixer.model.count(())
    return fixer.model.needed


def learn(fixer: Fixer, counts: Iterable[tuple[FragmentKey, dict[ContextKey, Counter[str]]]], files: Sequence[str]) -> None:
    """Reduce the counts of every piece into the model, in the command line's reading order."""
    for found in in_order(counts, files):
        fixer.model.merge(found)


#: A fixed piece: the new texts per column, the statistics, and ``--report-drops`` lines.
FixedPiece = tuple[dict[str, list[str]], FixStats, list[dict[str, object]]]


def fix_piece(fixer: Fixer, table: Table, columns: Sequence[str], piece: Piece, id_column: str | None = None,
              ignored: Mapping[str, frozenset[str]] | None = None) -> FixedPiece:
    """A piece fixed with the learnt model, batch by batch as the command line fixes a file.

    The fixer is copied first: a threaded scheduler runs pieces side by side on one object, and a
    fix keeps per-batch state on it."""
    fixer = copy.copy(fixer)
    ids = ids_of(table[id_column]) if id_column else None
    new = {column: texts_of(table[column]) for column in columns}
    stats = FixStats()
    drops: list[dict[str, object]] = []
    for key, column, indices in piece.fragments(columns):
        batch = _batch(table, column, indices, piece, ids, new[column])
        changes, done = fix_task(fixer, (batch.texts, (ignored or {}).get(key[0], frozenset())))
        for i, text in changes:
            new[column][indices[i]] = text
        stats.add(done)
        drops += [dropped_sentence(batch, drop) for drop in done.drops]
    return new, stats, drops
