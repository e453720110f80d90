"""``check`` and ``fix`` on Dask DataFrames: a data lake's reports, on a cluster (``deidlint[dask]``).

:func:`check_frame` gives the findings as a Dask DataFrame with the pinned JSON fields as columns;
:func:`fix_frame` gives the fixed frame. Both do per partition what the command line does per
batch (:mod:`deidlint.partitions`), so their results are the command line's. ``restore`` learns
from the whole corpus before it changes anything, so a fix is a map-reduce, run eagerly on
whatever scheduler is current (a ``distributed.Client``, or Dask's threads):

1. **survey**: each partition notes the restore contexts of its markers and how many rows of
   which file it holds; the reduce puts every context into the model and numbers each
   partition's rows within their files;
2. **count**: each partition counts the fillers of those contexts, per (file, block, column)
   fragment; the reduce merges the fragments in the command line's reading order;
3. **fix**: each partition is fixed with the learnt model, which travels once per worker.

The merge order makes the model, and so the output, the same as one machine's for any
partitioning. Rows are numbered within their file (``path_column``), as the command line numbers
them; without a path column the frame is one file called *name*. :func:`findings_in_order`
streams the findings to the client in the command line's order, a window of partitions at a
time, for ``check --dask``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from deidlint.errors import MissingExtra, UsageError

try:
    import dask.dataframe as dd
    from dask.base import compute
    from dask.delayed import delayed
except ImportError:  # the extra is not installed
    raise MissingExtra("deidlint.dask", "dask", "dask[dataframe]") from None

from deidlint.api import scanner as builtin_scanner
from deidlint.engine import Scanner
from deidlint.findings import Summary
from deidlint.fix.fixer import Fixer
from deidlint.fix.stats import FixStats
from deidlint.partitions import (
    FINDING_FIELDS,
    Piece,
    by_block,
    check_piece,
    count_piece,
    counted,
    fix_piece,
    learn,
    need,
    survey_piece,
)
from deidlint.readers import has_space

#: The findings frame's column types (``id`` may be missing, so it is an object column).
_FINDING_TYPES: dict[str, Any] = {
    "path": object, "record": "int64", "id": object, "column": object, "start": "int64", "end": "int64", "line": "int64",
    "col": "int64", "rule": object, "name": object, "category": object, "severity": object, "marker": object, "fixable": bool}
FINDINGS_META = pd.DataFrame({name: pd.Series(dtype=_FINDING_TYPES[name]) for name in FINDING_FIELDS})


@dataclass(frozen=True, slots=True)
class Layout:
    """Which rows of which file each partition holds: the files in order of first appearance,
    each file's row count, and per partition the first row of each file in it."""

    files: list[str]
    rows: dict[str, int]
    starts: list[dict[str, int]]
    #: Per partition, its (file, rows) runs.
    runs: list[list[tuple[str, int]]]

    def whole(self, part: int) -> str | None:
        """The file partition *part* holds all of and nothing else, or None."""
        runs = self.runs[part]
        if len(runs) == 1 and self.starts[part][runs[0][0]] == 0 and runs[0][1] == self.rows[runs[0][0]]:
            return runs[0][0]
        return None

    @classmethod
    def of(cls, runs: Sequence[Sequence[tuple[str, int]]]) -> Layout:
        """From each partition's (file, rows) runs, in partition order."""
        rows: dict[str, int] = {}
        starts = []
        for part in runs:
            starts.append({path: rows.get(path, 0) for path, _ in part})
            for path, n in part:
                rows[path] = rows.get(path, 0) + n
        return cls(list(rows), rows, starts, [list(part) for part in runs])


def _paths(df: pd.DataFrame, path_column: str | None, name: str) -> list[str]:
    return [name] * len(df) if path_column is None else [str(p) for p in df[path_column]]


def _runs(df: pd.DataFrame, path_column: str | None, name: str) -> list[tuple[str, int]]:
    return list(Counter(_paths(df, path_column, name)).items())


def _piece(df: pd.DataFrame, path_column: str | None, name: str, start: Mapping[str, int]) -> Piece:
    """The partition's rows numbered within their files, from the first row of each file in it."""
    paths = _paths(df, path_column, name)
    following = dict(start)
    rows = []
    for path in paths:
        rows.append(following.get(path, 0))
        following[path] = rows[-1] + 1
    return Piece(paths, rows)


def text_columns(ddf: dd.DataFrame, columns: Sequence[str] | None, *exclude: str | None) -> list[str]:
    """The columns to scan: those named, else every text column (object or string dtype) but *exclude*."""
    if columns is not None:
        missing = [c for c in columns if c not in ddf.columns]
        if missing:
            raise UsageError(f"no column {missing[0]!r} (columns: {', '.join(map(str, ddf.columns))})")
        return list(columns)
    chosen = [str(c) for c in ddf.columns if c not in exclude and (
        pd.api.types.is_string_dtype(ddf[c].dtype) or ddf[c].dtype == object)]
    if not chosen:
        raise UsageError(f"no text column found; name one (columns: {', '.join(map(str, ddf.columns))})")
    return chosen


def _spaced(df: pd.DataFrame, candidates: Sequence[str]) -> set[str]:
    return {c for c in candidates if any(has_space(v) for v in df[c])}


def spaced_columns(ddf: dd.DataFrame, candidates: Sequence[str]) -> list[str]:
    """Of *candidates*, those with a value that holds white space anywhere: the command line's
    choice of text columns (:func:`deidlint.readers.has_space`), over every partition."""
    found = set().union(*compute(*[delayed(_spaced)(part, candidates) for part in ddf.to_delayed()]))
    chosen = [c for c in candidates if c in found]
    if not chosen:
        raise UsageError(f"no text column found; name one with --column (columns: {', '.join(candidates)})")
    return chosen


def layout(ddf: dd.DataFrame, path_column: str | None = None, name: str = "<frame>") -> Layout:
    """One pass over the partitions: how many rows of each file each holds."""
    return Layout.of(compute(*[delayed(_runs)(part, path_column, name) for part in ddf.to_delayed()]))


def _findings(df: pd.DataFrame, scanner: Scanner, columns: Sequence[str], path_column: str | None, name: str,
              start: Mapping[str, int], id_column: str | None, ignored: Mapping[str, frozenset[str]] | None) -> pd.DataFrame:
    fragments = check_piece(scanner, df, columns, _piece(df, path_column, name, start), id_column, ignored)
    rows = [row for _, found in fragments for row in found]
    return pd.DataFrame({name: pd.Series([row[k] for row in rows], dtype=_FINDING_TYPES[name])
                         for k, name in enumerate(FINDING_FIELDS)})


def check_frame(ddf: dd.DataFrame, columns: Sequence[str] | None = None, *, path_column: str | None = None,
                id_column: str | None = None, name: str = "<frame>", select: Sequence[str] = (),
                ignore: Sequence[str] = (), scanner: Scanner | None = None,
                ignored: Mapping[str, frozenset[str]] | None = None) -> dd.DataFrame:
    """The findings of *ddf*'s text columns, one row per finding with :data:`FINDING_FIELDS` as
    columns, in the command line's order within each partition.

    ``scanner`` defaults to the built-in rules filtered like ``--select``/``--ignore``; ``ignored``
    maps a file to the codes switched off for it. The row count per file is computed here (one
    pass), so that ``record`` numbers rows within their file; the scan itself is lazy.
    """
    engine = scanner or builtin_scanner(tuple(select), tuple(ignore))
    columns = text_columns(ddf, columns, path_column, id_column)
    plan = layout(ddf, path_column, name)
    shared = delayed(engine, pure=True)
    parts = [delayed(_findings)(part, shared, columns, path_column, name, start, id_column, ignored)
             for part, start in zip(ddf.to_delayed(), plan.starts, strict=True)]
    return dd.from_delayed(parts, meta=FINDINGS_META, verify_meta=False)


def computed(parts: Sequence[Any], window: int) -> Iterator[Any]:
    """The value of each lazy part, in order, with at most *window* of them computed or held at a
    time: a corpus's findings pass through the client instead of piling up on it.

    On a ``distributed`` cluster the parts are futures in a sliding window (the next part starts as
    the first is taken); on any other scheduler they are computed *window* at a time."""
    client = _client()
    if client is None:
        for first in range(0, len(parts), window):
            yield from compute(*parts[first:first + window])
        return
    futures = deque(client.compute(list(parts[:window])))
    following = window
    while futures:
        future = futures.popleft()
        yield future.result()
        future.release()
        if following < len(parts):
            futures.append(client.compute(parts[following]))
            following += 1


def _client() -> Any:
    """The current ``distributed.Client``, or None (Dask's own schedulers, or no distributed)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _shared(value: Any) -> Any:
    """*value* as an argument every task reads: scattered to every worker once on a cluster (a part
    computed on its own would otherwise ship it again), else a pure delayed value."""
    client = _client()
    return client.scatter(value, broadcast=True, hash=False) if client is not None else delayed(value, pure=True)


def findings_in_order(ddf: dd.DataFrame, scanner: Scanner, columns: Sequence[str], plan: Layout,
                      path_column: str | None, name: str, id_column: str | None,
                      ignored: Mapping[str, frozenset[str]] | None, summary: Summary,
                      window: int = 4) -> Iterator[tuple[Any, ...]]:
    """The findings of *ddf* (files one after another, rows in order, as ``--dask`` reads them)
    in the command line's order, counted into *summary*, streamed: *window* partitions at a
    time on the cluster, one block of 4,096 rows held on the client."""
    shared = _shared(scanner)
    parts = [delayed(check_piece)(shared, part, columns, delayed(_piece)(part, path_column, name, start),
                                  id_column, ignored)
             for part, start in zip(ddf.to_delayed(), plan.starts, strict=True)]
    fragments = (fragment for found in computed(parts, window) for fragment in found)
    yield from counted(summary, by_block(fragments, plan.files))


# -- fix --------------------------------------------------------------------------------------


def _survey(df: pd.DataFrame, fixer: Fixer, columns: Sequence[str], path_column: str | None,
            name: str) -> tuple[list[tuple[str, int]], list[Any]]:
    return _runs(df, path_column, name), survey_piece(fixer, df, columns)


def learnt(ddf: dd.DataFrame, fixer: Fixer, columns: Sequence[str], path_column: str | None = None,
           name: str = "<frame>") -> Layout:
    """Restore's survey and count passes over *ddf*, reduced into ``fixer.model``; the layout.

    Without anything to restore, only the layout is computed."""
    parts = ddf.to_delayed()
    if not fixer.may_restore:
        return layout(ddf, path_column, name)
    shared = delayed(fixer, pure=True)
    surveyed = compute(*[delayed(_survey, nout=2)(p, shared, columns, path_column, name) for p in parts])
    plan = Layout.of([runs for runs, _ in surveyed])
    if need(fixer, [keys for _, keys in surveyed]):
        shared = delayed(fixer, pure=True)  # now with the needs, which the pieces count
        counted = compute(*[delayed(count_piece)(shared, p, columns,
                                                           delayed(_piece)(p, path_column, name, start))
                                 for p, start in zip(parts, plan.starts, strict=True)])
        learn(fixer, [fragment for fragments in counted for fragment in fragments], plan.files)
    return plan


def _fixed(df: pd.DataFrame, fixer: Fixer, columns: Sequence[str], path_column: str | None, name: str,
           start: Mapping[str, int], id_column: str | None,
           ignored: Mapping[str, frozenset[str]] | None) -> tuple[pd.DataFrame, FixStats, list[dict[str, object]]]:
    """A partition fixed: the frame with its text columns replaced, the statistics, the drops."""
    new, stats, drops = fix_piece(fixer, df, columns, _piece(df, path_column, name, start), id_column, ignored)
    return with_texts(df, new), stats, drops


def with_texts(df: pd.DataFrame, new: Mapping[str, list[str]]) -> pd.DataFrame:
    """*df* with the fixed texts of its text columns; a missing value stays missing, types stay."""
    out = df.copy()
    for column, texts in new.items():
        values = [t if isinstance(v, str) else v for v, t in zip(df[column], texts, strict=True)]
        out[column] = pd.Series(values, index=df.index, dtype=df[column].dtype)
    return out


def fixed_parts(ddf: dd.DataFrame, fixer: Fixer, columns: Sequence[str], plan: Layout, path_column: str | None = None,
                name: str = "<frame>", id_column: str | None = None,
                ignored: Mapping[str, frozenset[str]] | None = None) -> list[Any]:
    """Lazy (fixed frame, statistics, drops) per partition, for a fixer that has learnt (:func:`learnt`)."""
    shared = delayed(fixer, pure=True)
    return [delayed(_fixed, nout=3)(part, shared, columns, path_column, name, start, id_column, ignored)
            for part, start in zip(ddf.to_delayed(), plan.starts, strict=True)]


def fix_frame(ddf: dd.DataFrame, columns: Sequence[str] | None = None, *, strategy: str | None = None,
              fixer: Fixer | None = None, path_column: str | None = None, name: str = "<frame>",
              select: Sequence[str] = (), ignore: Sequence[str] = ()) -> dd.DataFrame:
    """*ddf* with its text columns fixed as ``deidlint fix --strategy STRATEGY`` fixes them.

    ``fixer`` (a :class:`deidlint.fix.Fixer`) sets every other option; else one is built over the
    built-in rules filtered like ``--select``/``--ignore``. The survey and count passes run here,
    on the current scheduler; the fix itself is lazy.
    """
    fixer = fixer or Fixer(builtin_scanner(tuple(select), tuple(ignore)), strategy)
    columns = text_columns(ddf, columns, path_column)
    plan = learnt(ddf, fixer, columns, path_column, name)
    parts = fixed_parts(ddf, fixer, columns, plan, path_column, name)
    return dd.from_delayed([frame for frame, _, _ in parts], meta=ddf._meta, verify_meta=False)

