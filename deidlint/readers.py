"""Readers: turn files of reports into batches of cell texts, streaming in bounded memory.

Every format yields :class:`Batch` objects of at most a few thousand records, so memory stays
flat however large the file is. CSV/TSV go through pyarrow's multi-threaded streaming reader
(every column read as text, so nothing is reinterpreted); JSONL through orjson line by line, so
one broken line can be reported without losing the rest; Parquet through row-group batches;
plain ``.txt`` reports one file per record (MIMIC-CXR ships 227k of them). Gzip is read
transparently for every format except Parquet, which compresses itself.
"""

from __future__ import annotations

import difflib
import gzip
import io
import os
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from deidlint.errors import InputError, RecordError

#: Records per batch. Large enough that per-batch overhead vanishes, small enough for flat memory.
BATCH_ROWS = 4096
#: Bytes pyarrow parses per CSV block.
CSV_BLOCK_BYTES = 8 << 20

FORMATS = ("csv", "tsv", "jsonl", "parquet", "txt")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".txt": "txt"}


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and how to read it."""

    path: str
    fmt: str
    gzip: bool = False


@dataclass(slots=True)
class Batch:
    """Cell texts of one column for consecutive records of one file (or of many ``.txt`` files)."""

    column: str | None
    rows: Sequence[int]
    texts: list[str]
    ids: list[str | None] | None
    paths: Sequence[str]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What to read: the text columns (empty: detect), the id column, the text encoding."""

    columns: tuple[str, ...] = ()
    id_column: str | None = None
    encoding: str = "utf-8"
    on_error: str = "fail"


def source_for(path: str) -> Source | None:
    """The source for a file name, or None when the suffix is not a supported format."""
    name = path.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    fmt = _SUFFIXES.get(os.path.splitext(name)[1])
    if fmt is None or (fmt == "parquet" and compressed):
        return None
    return Source(path, fmt, compressed)


def discover(paths: Sequence[str]) -> list[Source]:
    """Expand the command line's paths into sources; directories are searched recursively.

    Symbolic links to directories are not followed (a link loop cannot hang the walk), files of
    other types inside directories are skipped, and a file named explicitly must be readable
    and of a supported type.
    """
    sources: list[Source] = []
    for raw in paths:
        if os.path.isdir(raw):
            found: list[Source] = []
            for root, dirs, files in os.walk(raw, followlinks=False, onerror=_walk_error):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    src = source_for(full)
                    if src is not None and os.path.isfile(full):
                        found.append(src)
            sources.extend(found)
        elif os.path.exists(raw):
            src = source_for(raw)
            if src is None:
                raise InputError(
                    f"{raw}: unsupported file type (expected .csv, .tsv, .jsonl, .parquet or .txt, optionally .gz)"
                )
            if not os.access(raw, os.R_OK):
                raise InputError(f"{raw}: permission denied")
            sources.append(src)
        else:
            raise InputError(f"{raw}: no such file or directory")
    return sources


def _walk_error(exc: OSError) -> None:
    raise InputError(f"{exc.filename}: {exc.strerror or exc}")


def _missing_column(path: str, column: str, available: Sequence[str]) -> InputError:
    close = difflib.get_close_matches(column, list(available), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; columns are: {', '.join(available)}"
    return InputError(f"{path}: no column {column!r}{hint}")


def _looks_like_text(values: Sequence[object]) -> bool:
    """A column holds free text when some sampled value contains whitespace.

    Identifiers, paths, numbers and dates never do; a report, a finding or an impression
    always does. Sampling the first batch is enough: reports are never all one word.
    """
    return any(isinstance(v, str) and any(c.isspace() for c in v) for v in values)


def _choose_columns(path: str, names: Sequence[str], sample: dict[str, Sequence[object]], opts: ReadOptions) -> list[str]:
    for wanted in (*opts.columns, *([opts.id_column] if opts.id_column else [])):
        if wanted not in names:
            raise _missing_column(path, wanted, names)
    if opts.columns:
        return list(opts.columns)
    chosen = [n for n in names if n != opts.id_column and _looks_like_text(sample.get(n, ()))]
    if not chosen:
        raise InputError(f"{path}: no text column found; name one with --column (columns: {', '.join(names) or 'none'})")
    return chosen


def read(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    """Batches of one source, in record order, one batch per text column per block.

    A record that cannot be read is yielded as a :class:`RecordError` when ``on_error`` is
    ``skip``, so the caller can report it like a finding and go on with the rest.
    """
    reader = {"csv": _read_csv, "tsv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet, "txt": _read_txt}
    try:
        yield from reader[source.fmt](source, opts)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{source.path}: {getattr(exc, 'strerror', None) or exc}") from None


# -- CSV / TSV --------------------------------------------------------------------------------


def _csv_header(source: Source, delimiter: str, encoding: str) -> list[str]:
    """The header row, read with the csv module so quoted names work; pyarrow then reads all as text."""
    import csv

    with _open_text(source, encoding) as handle:
        try:
            return next(csv.reader(handle, delimiter=delimiter))
        except StopIteration:
            raise InputError(f"{source.path}: empty file (no header row)") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{source.path}: cannot read header: {exc}") from None


def _open_text(source: Source, encoding: str) -> io.TextIOBase:
    raw = gzip.open(source.path, "rb") if source.gzip else open(source.path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding, newline="")


def _read_csv(source: Source, opts: ReadOptions) -> Iterator[Batch]:
    delimiter = "\t" if source.fmt == "tsv" else ","
    header = _csv_header(source, delimiter, opts.encoding)
    if len(set(header)) != len(header):
        raise InputError(f"{source.path}: duplicate column names in the header")
    stream = pa.input_stream(source.path, compression="gzip" if source.gzip else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=opts.encoding, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from _arrow_batches(source, iter(reader), header, opts)
    except pa.ArrowInvalid as exc:
        raise InputError(_describe_arrow_error(source, exc, opts.encoding)) from None
    finally:
        stream.close()


def _describe_arrow_error(source: Source, exc: Exception, encoding: str) -> str:
    message = str(exc).splitlines()[0]
    if "UTF8" in message or "UTF-8" in message:
        offset = first_invalid_utf8(source)
        where = f" at byte {offset}" if offset is not None else ""
        return f"{source.path}: invalid UTF-8{where}; pass --encoding (for example --encoding latin-1)"
    return f"{source.path}: {message}"


def first_invalid_utf8(source: Source) -> int | None:
    """Byte offset of the first byte that is not valid UTF-8, scanning in 1 MiB steps."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with (gzip.open(source.path, "rb") if source.gzip else open(source.path, "rb")) as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset - len(decoder.getstate()[0]) + exc.start if exc.start >= 0 else offset
            offset += len(chunk)
    return None


def _arrow_batches(source: Source, batches: Iterator[pa.RecordBatch], names: Sequence[str], opts: ReadOptions) -> Iterator[Batch]:
    columns: list[str] | None = None
    row = 0
    for record_batch in batches:
        if record_batch.num_rows == 0:
            continue
        if columns is None:
            sample = {n: record_batch.column(n).slice(0, 1000).to_pylist() for n in names}
            columns = _choose_columns(source.path, names, sample, opts)
        ids = _id_values(record_batch, opts.id_column)
        rows = range(row, row + record_batch.num_rows)
        for name in columns:
            values = record_batch.column(name)
            if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
                values = values.cast(pa.string())
            texts = values.fill_null("").to_pylist()
            yield Batch(name, rows, texts, ids, _Repeat(source.path, len(texts)))
        row += record_batch.num_rows
    if columns is None and (opts.columns or opts.id_column):
        # Header only: there is nothing to scan, but a misspelled column is still an error.
        _choose_columns(source.path, names, {}, opts)


def _id_values(record_batch: pa.RecordBatch, id_column: str | None) -> list[str | None] | None:
    if not id_column:
        return None
    values = record_batch.column(id_column)
    return [None if v is None else str(v) for v in values.to_pylist()]


class _Repeat(Sequence[str]):
    """The same path for every record of a batch, without a list of n references."""

    __slots__ = ("_value", "_n")

    def __init__(self, value: str, n: int) -> None:
        self._value, self._n = value, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._value] * len(range(*index.indices(self._n)))
        if not -self._n <= index < self._n:
            raise IndexError(index)
        return self._value


# -- Parquet ----------------------------------------------------------------------------------


def _read_parquet(source: Source, opts: ReadOptions) -> Iterator[Batch]:
    try:
        parquet = pq.ParquetFile(source.path)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise InputError(f"{source.path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    schema = parquet.schema_arrow
    names = list(schema.names)
    textual = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
               or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))]
    if not opts.columns and not textual:
        raise InputError(f"{source.path}: Parquet file has no string column")
    for wanted in opts.columns:
        if wanted in names and wanted not in textual:
            raise InputError(f"{source.path}: column {wanted!r} is not a string column")
    wanted = list(dict.fromkeys([*(opts.columns or textual), *([opts.id_column] if opts.id_column else [])]))
    missing = [w for w in wanted if w not in names]
    if missing:
        raise _missing_column(source.path, missing[0], names)
    sub = ReadOptions(tuple(opts.columns), opts.id_column, opts.encoding, opts.on_error)
    yield from _arrow_batches(source, parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted),
                              [n for n in wanted if n in textual or n == opts.id_column], sub)


# -- JSONL ------------------------------------------------------------------------------------


def _read_jsonl(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    columns: list[str] | None = None
    pending: list[tuple[int, dict[str, object]]] = []
    opener = gzip.open if source.gzip else open
    with opener(source.path, "rb") as handle:
        row = -1
        for line in handle:
            if not line.strip():
                continue
            row += 1
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                problem = RecordError(source.path, row, f"invalid JSON: {exc}")
                if opts.on_error == "fail":
                    raise InputError(str(problem)) from None
                yield problem
                continue
            if not isinstance(obj, dict):
                problem = RecordError(source.path, row, "a JSONL line must hold an object")
                if opts.on_error == "fail":
                    raise InputError(str(problem))
                yield problem
                continue
            pending.append((row, obj))
            if len(pending) >= BATCH_ROWS:
                columns = columns or _jsonl_columns(source, pending, opts)
                yield from _jsonl_batches(source, pending, columns, opts)
                pending = []
    if pending:
        columns = columns or _jsonl_columns(source, pending, opts)
        yield from _jsonl_batches(source, pending, columns, opts)


def _jsonl_columns(source: Source, pending: list[tuple[int, dict[str, object]]], opts: ReadOptions) -> list[str]:
    names = list(dict.fromkeys(k for _, obj in pending[:1000] for k in obj))
    sample = {n: [obj.get(n) for _, obj in pending[:1000]] for n in names}
    return _choose_columns(source.path, names, sample, opts)


def _jsonl_batches(source: Source, pending: list[tuple[int, dict[str, object]]], columns: list[str], opts: ReadOptions) -> Iterator[Batch]:
    rows = [r for r, _ in pending]
    ids = None
    if opts.id_column:
        ids = [None if (v := obj.get(opts.id_column)) is None else str(v) for _, obj in pending]
    for name in columns:
        texts = []
        for row, obj in pending:
            value = obj.get(name)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{source.path}:{row}: field {name!r} is not a string")
            texts.append(value or "")
        yield Batch(name, rows, texts, ids, _Repeat(source.path, len(rows)))


# -- plain text -------------------------------------------------------------------------------


def _read_txt(source: Source, opts: ReadOptions) -> Iterator[Batch]:
    opener = gzip.open if source.gzip else open
    with opener(source.path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode(opts.encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{source.path}: invalid {opts.encoding} at byte {exc.start}; pass --encoding") from None
    except LookupError:
        raise InputError(f"unknown encoding {opts.encoding!r}") from None
    yield Batch(None, [0], [text], [Path(source.path).stem] if opts.id_column else None, [source.path])


# -- file lines -------------------------------------------------------------------------------


class LineMap:
    """The 1-based file line where each data record starts, for formats that annotate files.

    SARIF and GitHub annotations point at file lines, but a CSV record can span lines (quoted,
    hard-wrapped reports). The map is built once per file on first use, with the csv module's
    own line counting, and costs 4 bytes per record.
    """

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding
        self._cache: dict[str, array[int] | None] = {}

    def line_of(self, path: str, record: int, line_in_cell: int) -> int | None:
        """File line of line *line_in_cell* of a record's cell (exact when earlier cells are one line)."""
        if path not in self._cache:
            self._cache[path] = self._build(path)
        starts = self._cache[path]
        if starts is None or record >= len(starts):
            return None
        return starts[record] + line_in_cell - 1

    def _build(self, path: str) -> array[int] | None:
        import csv

        source = source_for(path)
        if source is None or source.fmt == "parquet":
            return None
        if source.fmt == "txt":
            return array("I", [1])
        starts = array("I")
        with _open_text(source, self.encoding) as handle:
            if source.fmt == "jsonl":
                starts.extend(n for n, line in enumerate(handle, 1) if line.strip())
                return starts
            reader = csv.reader(handle, delimiter="\t" if source.fmt == "tsv" else ",")
            csv.field_size_limit(1 << 30)
            next(reader, None)
            previous_end = reader.line_num
            for _ in reader:
                starts.append(previous_end + 1)
                previous_end = reader.line_num
        return starts
