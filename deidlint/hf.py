"""``check`` and ``fix`` on Hugging Face ``datasets`` (``deidlint[hf]``), where text-to-image
pipelines keep their captions.

Each pass is one ``Dataset.map(batched=True, num_proc=N)`` over the pieces of
:mod:`deidlint.partitions`, with the reductions in this process: for ``fix``, restore's survey,
then its count (merged in the command line's reading order), then the fix with the learnt model.
A dataset is one file to the command line's eyes, called *name*, its rows numbered from 0, so
the results are those of ``deidlint check`` / ``fix`` on the same rows exported to one file.
The passes keep nothing on disk (``keep_in_memory``) and never reuse a cache: a cached survey of
yesterday's fixer would be the wrong model.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from deidlint.errors import MissingExtra, UsageError

try:
    import datasets
except ImportError:  # the extra is not installed
    raise MissingExtra("deidlint.hf", "hf", "datasets") from None

from deidlint.api import scanner as builtin_scanner
from deidlint.engine import Scanner
from deidlint.fix.fixer import Fixer
from deidlint.fix.restore import ContextKey
from deidlint.partitions import FINDING_FIELDS, FragmentKey, Piece, check_piece, count_piece, fix_piece, learn, need, survey_piece
from deidlint.readers import BATCH_ROWS


def _columns(ds: datasets.Dataset, column: str | Sequence[str]) -> list[str]:
    columns = [column] if isinstance(column, str) else list(column)
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise UsageError(f"no column {missing[0]!r} (columns: {', '.join(ds.column_names)})")
    return columns


def _map(ds: datasets.Dataset, function: Any, num_proc: int | None, *, remove: bool, **kwargs: Any) -> datasets.Dataset:
    """One batched pass over *ds*, in memory, never from a cache."""
    return ds.map(function, batched=True, batch_size=BATCH_ROWS, with_indices=True, num_proc=num_proc,
                  remove_columns=ds.column_names if remove else None, keep_in_memory=True,
                  load_from_cache_file=False, new_fingerprint=uuid.uuid4().hex, fn_kwargs=kwargs)


def _find(batch: Mapping[str, list[Any]], indices: list[int], scanner: Scanner, columns: Sequence[str],
          name: str, id_column: str | None) -> dict[str, list[Any]]:
    rows = [row for _, found in check_piece(scanner, batch, columns, Piece([name] * len(indices), indices), id_column)
            for row in found]
    return {field: [row[k] for row in rows] for k, field in enumerate(FINDING_FIELDS)}


def check_dataset(ds: datasets.Dataset, column: str | Sequence[str], *, id_column: str | None = None,
                  name: str = "<dataset>", num_proc: int | None = None, select: Sequence[str] = (),
                  ignore: Sequence[str] = (), scanner: Scanner | None = None) -> datasets.Dataset:
    """The findings of *ds*'s text column(s): a Dataset with the pinned JSON fields as columns."""
    engine = scanner or builtin_scanner(tuple(select), tuple(ignore))
    return _map(ds, _find, num_proc, remove=True, scanner=engine, columns=_columns(ds, column), name=name,
                id_column=id_column)


def _survey(batch: Mapping[str, list[Any]], indices: list[int], fixer: Fixer, columns: Sequence[str]) -> dict[str, list[bytes]]:
    return {"keys": [orjson.dumps(survey_piece(fixer, batch, columns))]}


def _count(batch: Mapping[str, list[Any]], indices: list[int], fixer: Fixer, columns: Sequence[str],
           name: str) -> dict[str, list[bytes]]:
    fragments = count_piece(fixer, batch, columns, Piece([name] * len(indices), indices))
    return {"counts": [orjson.dumps([[key, [[list(k), list(found.items())] for k, found in counts.items()]]
                                     for key, counts in fragments])]}


def _counts(encoded: bytes) -> list[tuple[FragmentKey, dict[ContextKey, Counter[str]]]]:
    """A batch's fragments of counts back from JSON, their order (and so ties) kept."""
    return [((key[0], key[1], key[2]), {tuple(k): Counter(dict(found)) for k, found in counts})
            for key, counts in orjson.loads(encoded)]


def _fix(batch: Mapping[str, list[Any]], indices: list[int], fixer: Fixer, columns: Sequence[str],
         name: str) -> dict[str, list[Any]]:
    new, _, _ = fix_piece(fixer, batch, columns, Piece([name] * len(indices), indices))
    return {column: [t if isinstance(v, str) else v for v, t in zip(batch[column], new[column], strict=True)]
            for column in columns}


def fix_dataset(ds: datasets.Dataset, column: str | Sequence[str], *, strategy: str | None = None,
                fixer: Fixer | None = None, name: str = "<dataset>", num_proc: int | None = None,
                select: Sequence[str] = (), ignore: Sequence[str] = ()) -> datasets.Dataset:
    """*ds* with its text column(s) fixed as ``deidlint fix --strategy STRATEGY`` fixes them; every
    other column, and a missing value, is kept as it is."""
    fixer = fixer or Fixer(builtin_scanner(tuple(select), tuple(ignore)), strategy)
    columns = _columns(ds, column)
    if fixer.may_restore:
        surveyed = _map(ds, _survey, num_proc, remove=True, fixer=fixer, columns=columns)["keys"]
        if need(fixer, [[tuple(key) for key in orjson.loads(keys)] for keys in surveyed]):
            counted = _map(ds, _count, num_proc, remove=True, fixer=fixer, columns=columns, name=name)["counts"]
            learn(fixer, [fragment for encoded in counted for fragment in _counts(encoded)], [name])
    return _map(ds, _fix, num_proc, remove=False, fixer=fixer, columns=columns, name=name)
