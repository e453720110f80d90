"""How a Parquet file was written, so that ``fix`` can write it again the same way.

pyarrow cannot copy a column chunk's raw bytes, so every column of a rewritten file is
re-encoded, even those ``fix`` never edits. What keeps them exactly as they were is reading
them losslessly and writing them with the file's own settings: INT96 timestamps read in a unit
that does not overflow (pyarrow's default, nanoseconds, turns 3000-01-01 into 1830-11-23) and
written as INT96 again, each column's codec, dictionary encoding and statistics, decimals as
the integers they were stored as, the format version, the key-value metadata with or without
pyarrow's stored schema. :func:`check_same_layout` then compares the written file's metadata
with the original's, so a setting pyarrow cannot reproduce (INT96 beside INT64 timestamps in
one file) is an error before anything is renamed, never a silent change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from deidlint.errors import InputError

_ARROW_SCHEMA = b"ARROW:schema"
#: Nanosecond timestamps cover 1677-09-21 to 2262-04-11; INT96 values outside need microseconds.
_NS_RANGE = (pa.scalar(-(2**63) // 1000 + 1, pa.int64()), pa.scalar((2**63 - 1) // 1000, pa.int64()))


@dataclass(frozen=True, slots=True)
class Layout:
    """The file opened for a lossless read, and the writer settings that reproduce it."""

    parquet: pq.ParquetFile
    schema: pa.Schema
    writer_options: dict[str, Any]
    key_value: dict[bytes, bytes]


def open_layout(path: str) -> Layout:
    """Open *path* so that every value reads back exactly, and derive how to write it again."""
    meta = pq.read_metadata(path)
    chunks = [meta.row_group(g).column(c) for g in range(meta.num_row_groups) for c in range(meta.num_columns)]
    int96 = sorted({c.path_in_schema for c in chunks if c.physical_type == "INT96"})
    parquet = pq.ParquetFile(path, coerce_int96_timestamp_unit=_int96_unit(path, int96))
    kv = dict(meta.metadata or {})
    compression = {c.path_in_schema: c.compression.lower().replace("uncompressed", "none") for c in chunks}
    dictionary = sorted({c.path_in_schema for c in chunks if any("DICTIONARY" in e for e in c.encodings)})
    statistics = sorted({c.path_in_schema for c in chunks if c.is_stats_set})
    first = [meta.row_group(0).column(i) for i in range(meta.num_columns)] if meta.num_row_groups else []
    decimals_as_integers = any(c.physical_type in ("INT32", "INT64") and meta.schema.column(i).logical_type.type == "DECIMAL"
                               for i, c in enumerate(first))
    options: dict[str, Any] = {
        "version": meta.format_version,
        "compression": compression or "snappy",
        "use_dictionary": dictionary,
        "write_statistics": statistics,
        "use_deprecated_int96_timestamps": bool(int96),
        "store_decimal_as_integer": decimals_as_integers,
        "store_schema": _ARROW_SCHEMA in kv,
    }
    # With a stored schema pyarrow writes the schema's metadata itself; the rest is added after.
    schema = parquet.schema_arrow if options["store_schema"] else parquet.schema_arrow.remove_metadata()
    written = dict(schema.metadata or {})
    return Layout(parquet, schema, options,
                  {k: v for k, v in kv.items() if k != _ARROW_SCHEMA and written.get(k) != v})


def _int96_unit(path: str, columns: list[str]) -> str:
    """Nanoseconds when every INT96 value fits them (exact), else microseconds (no overflow)."""
    if not columns:
        return "ns"
    wide = pq.ParquetFile(path, coerce_int96_timestamp_unit="us")
    for batch in wide.iter_batches(columns=columns):
        for column in batch.columns:
            values = pc.cast(column, pa.int64())
            if pc.any(pc.or_(pc.less(values, _NS_RANGE[0]), pc.greater(values, _NS_RANGE[1]))).as_py():
                return "us"
    return "ns"


def check_same_layout(path: str, original: pq.FileMetaData, written: pq.FileMetaData) -> None:
    """Refuse a rewrite whose untouched structure differs: schema, row groups, physical types,
    codecs, key-value metadata. Raised before the rename, so the input stays as it was."""
    problem = None
    if not written.schema.equals(original.schema):
        problem = "its schema"
    elif written.num_row_groups != original.num_row_groups:
        problem = "its row groups"
    elif {k: v for k, v in (written.metadata or {}).items() if k != _ARROW_SCHEMA} != \
            {k: v for k, v in (original.metadata or {}).items() if k != _ARROW_SCHEMA}:
        problem = "its key-value metadata"
    else:
        for g in range(original.num_row_groups):
            old, new = original.row_group(g), written.row_group(g)
            if old.num_rows != new.num_rows:
                problem = f"row group {g}'s size"
                break
            for c in range(original.num_columns):
                a, b = old.column(c), new.column(c)
                if (a.physical_type, a.compression) != (b.physical_type, b.compression):
                    problem = f"column {a.path_in_schema!r} ({a.physical_type} {a.compression} would become " \
                              f"{b.physical_type} {b.compression})"
                    break
            if problem:
                break
    if problem:
        raise InputError(f"{path}: pyarrow cannot rewrite this Parquet file without changing {problem}; "
                         "nothing was written")
