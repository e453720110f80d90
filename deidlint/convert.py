"""Converting a fixed table to another format (``fix --output-format``), streaming.

``fix`` first writes the input's own format, byte for byte where nothing changed (see
:mod:`deidlint.writers`); converting is a second, separate pass over that result, so the repair
never depends on the target. Values keep what the source says of them: CSV and TSV cells are
text and stay text (an id ``007`` is not the number 7), JSON and Parquet values keep their types.
A value the target cannot hold (a nested JSON object in a CSV cell) is refused by name.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import pyarrow as pa

from deidlint.errors import InputError

_ROWS = 4096
_DELIMITERS = {"csv": ",", "tsv": "\t"}


def convert(raw: IO[bytes], fmt: str, compressed: bool, encoding: str, out: IO[bytes], to: str, to_gzip: bool,
            name: str) -> None:
    """Read the table in ``raw`` (``fmt``, gzip or not, in ``encoding``) and write it to ``out``
    as ``to`` (UTF-8 for text formats). ``name`` is the file named in errors."""
    try:
        batches = _batches(raw, fmt, compressed, encoding)
        first = next(batches, None)
        schema = first.schema if first is not None else pa.schema([])
        with _sink(out, to_gzip and to != "parquet") as sink:
            _write(_chain(first, batches), schema, sink, to)
    except (pa.ArrowException, ValueError, UnicodeError) as exc:
        raise InputError(f"{name}: cannot convert to {to}: {str(exc).splitlines()[0]}") from None


def _chain(first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if first is not None:
        yield first
        yield from rest


def _batches(raw: IO[bytes], fmt: str, compressed: bool, encoding: str) -> Iterator[pa.RecordBatch]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(raw).iter_batches(batch_size=_ROWS)
        return
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
    if fmt == "jsonl":
        yield from _json_batches(stream, encoding)
        return
    import pandas as pd

    # pandas, not pyarrow's CSV reader: it reads every cell as text. The header is read as a row,
    # so that names are kept as written: pandas would rename an empty one "Unnamed: 1".
    chunks = pd.read_csv(stream, sep=_DELIMITERS[fmt], dtype=str, keep_default_na=False, encoding=encoding,
                         header=None, chunksize=_ROWS)
    names: list[str] | None = None
    for chunk in chunks:
        if names is None:
            names, chunk = [str(name) for name in chunk.iloc[0]], chunk.iloc[1:]
        chunk.columns = pd.Index(names)
        yield pa.RecordBatch.from_pandas(chunk, preserve_index=False)


def _json_batches(stream: IO[bytes], encoding: str) -> Iterator[pa.RecordBatch]:
    """JSONL as record batches of one schema for the whole file.

    pyarrow's reader fixes the types from its first block, so a key first seen late, or an integer
    column that holds 2.5 further down, failed a valid file; and it reads an integer beyond 64 bits
    as a float, silently changing an id. So the lines are read twice: once to unify every
    batch's inferred schema, once to cast to it; an integer no column type holds is refused.
    """
    start = stream.tell()
    schemas = [b.schema for b in _json_rows(stream, encoding)]
    if not schemas:
        return
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    stream.seek(start)
    for batch in _json_rows(stream, encoding):
        yield pa.RecordBatch.from_pylist(batch.to_pylist(), schema=schema)


def _json_rows(stream: IO[bytes], encoding: str) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    for line in stream:
        if line.strip():
            rows.append(json.loads(line.decode(encoding)))
        if len(rows) == _ROWS:
            yield _batch(rows)
            rows = []
    if rows:
        yield _batch(rows)


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """Rows as a batch, every key of any row a column (``from_pylist`` takes the first row's)."""
    keys = list(dict.fromkeys(key for row in rows for key in row))
    try:
        return pa.RecordBatch.from_pydict({key: [row.get(key) for row in rows] for key in keys})
    except OverflowError as exc:
        raise ValueError(f"an integer is too large for any column type ({exc})") from None


@contextmanager
def _sink(out: IO[bytes], compressed: bool) -> Iterator[IO[bytes]]:
    if not compressed:
        yield out
        return
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as zipped:
        yield zipped  # type: ignore[misc]


def _write(batches: Iterator[pa.RecordBatch], schema: pa.Schema, sink: IO[bytes], to: str) -> None:
    if to == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    elif to == "jsonl":
        for batch in batches:
            sink.writelines(json.dumps(row, ensure_ascii=False, allow_nan=False, default=_json_value).encode() + b"\n"
                            for row in batch.to_pylist())
    else:
        import pyarrow.csv as pacsv

        nested = [f.name for f in schema if pa.types.is_nested(f.type)]
        if nested:
            raise ValueError(f"column {nested[0]!r} holds nested values, which {to.upper()} cannot hold")
        options = pacsv.WriteOptions(delimiter=_DELIMITERS[to], quoting_style="needed")
        with pacsv.CSVWriter(sink, schema, write_options=options) as writer:
            for batch in batches:
                writer.write_batch(batch)


def _json_value(value: Any) -> Any:
    """Dates and times in JSON: ISO text, the form pandas and pyarrow read. Anything else without
    a JSON form (a decimal, a duration, bytes) is refused rather than written approximately."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ValueError(f"a {type(value).__name__} value has no exact JSON form")
