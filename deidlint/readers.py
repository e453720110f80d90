"""Readers: turn files of reports into batches of cell texts, streaming in bounded memory.

Every format yields :class:`Batch` objects of at most a few thousand records, so memory stays
flat however large the file is. CSV/TSV go through pyarrow's multi-threaded streaming reader
(every column read as text, so nothing is reinterpreted); JSONL through orjson line by line, so
one broken line can be reported without losing the rest; Parquet through row-group batches;
plain ``.txt`` reports one file per record (MIMIC-CXR ships 227k of them). Gzip is read
transparently for every format except Parquet, which compresses itself.
"""

from __future__ import annotations

import bisect
import codecs
import difflib
import gzip
import io
import json
import os
import zlib
from array import array
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, AnyStr, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import regex

from deidlint.errors import InputError, RecordError, UsageError

#: Records per batch. Large enough that per-batch overhead vanishes, small enough for flat memory.
#: Every reader cuts a file at the same places, records ``k * BATCH_ROWS`` to ``(k + 1) *
#: BATCH_ROWS - 1`` (a bad record may cut a block short), whatever its own chunks: restore's
#: counts and the findings follow that order, column by column within a block, and an engine that
#: holds the file in other pieces (:mod:`deidlint.partitions`) rebuilds it from the record numbers.
BATCH_ROWS = 4096
#: Bytes pyarrow parses per CSV block.
CSV_BLOCK_BYTES = 8 << 20
#: Largest CSV field the csv module accepts (its default, 128 KiB, is smaller than long reports).
#: A field this large is a quote left open, not a report.
MAX_FIELD_CHARS = 1 << 28
#: Default largest record: a few hundred times any report. A larger one is a file without record
#: boundaries (NULs from a device, a gzip bomb, a quote never closed), read only this far.
MAX_RECORD_BYTES = 64 << 20
#: Most columns a table may have: a million header cells cost gigabytes in pyarrow.
MAX_COLUMNS = 10_000
#: A byte the text decoder could not read, kept as a lone surrogate by ``surrogateescape``.
_ESCAPED = regex.compile("[\udc80-\udcff]")

FORMATS = ("csv", "tsv", "jsonl", "parquet", "txt", "json")
#: ``.json`` is R2Gen's annotation.json (:mod:`deidlint.annotation`), not a table.
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".txt": "txt",
             ".json": "json"}


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and how to read it.

    ``named`` is False for files found by searching a folder: such a file without any text
    column (a metadata table beside the reports) is skipped instead of stopping the run.
    """

    path: str
    fmt: str
    gzip: bool = False
    named: bool = True


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
    max_record_bytes: int = MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        if self.max_record_bytes < 1 << 20:
            raise UsageError("the record size limit must be 1 MB or more")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise UsageError(f"unknown encoding {self.encoding!r}") from None
        try:
            "".encode(self.encoding)
        except LookupError:  # rot13 and base64 are codecs, not text encodings
            raise UsageError(f"{self.encoding!r} is not a text encoding (utf-8, latin-1, cp1252, ...)") from None
        if self.on_error not in ("fail", "skip"):
            raise UsageError(f"on_error must be 'fail' or 'skip', not {self.on_error!r}")


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
                        found.append(replace(src, named=False))
            sources.extend(found)
        elif os.path.exists(raw):
            src = source_for(raw)
            if src is None:
                raise InputError(
                    f"{raw}: unsupported file type (expected .csv, .tsv, .jsonl, .parquet, .txt or an annotation .json, "
                    "optionally .gz)"
                )
            if not os.path.isfile(raw):
                # A FIFO or a device would block the read forever (deaf to signals while the
                # open waits), and fix reads each input more than once.
                raise InputError(f"{raw}: not a regular file (a FIFO, socket or device); save it to a file first")
            if not os.access(raw, os.R_OK):
                raise InputError(f"{raw}: permission denied")
            sources.append(src)
        else:
            raise InputError(f"{raw}: no such file or directory")
    return sources


def _walk_error(exc: OSError) -> None:
    raise InputError(f"{exc.filename}: {exc.strerror or exc}")


def bounded_lines(handle: IO[AnyStr], limit: int, path: str) -> Iterator[AnyStr]:
    """The lines of *handle*, each read at most *limit* long: a file without line breaks (or a
    gzip stream that expands without them) stops the run at the limit, never read whole."""
    while line := handle.readline(limit + 1):
        if len(line) > limit:
            raise record_too_large(path, limit)
        yield line


def record_too_large(path: str, limit: int) -> InputError:
    return InputError(f"{path}: a record runs past {limit >> 20} MB (no line break or closing quote?); "
                      "reading stopped there (--max-record-mb raises the limit)")


def _too_many_columns(path: str, count: int) -> InputError:
    return InputError(f"{path}: {count} columns, more than the {MAX_COLUMNS:,} a table of reports may have")


class NoTextColumn(InputError):
    """A table with no column that holds text, and none named with --column."""


def _missing_column(path: str, column: str, available: Sequence[str]) -> InputError:
    close = difflib.get_close_matches(column, list(available), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; columns are: {', '.join(available)}"
    return InputError(f"{path}: no column {column!r}{hint}")


#: A character ``str.isspace`` accepts, as an RE2 class (the same 29 code points).
_SPACE_RE2 = r"[\t-\r\x{1c}-\x{20}\x{85}\p{Z}]"


def has_space(value: object) -> bool:
    """A value holds free text when it contains whitespace: identifiers, paths, numbers and
    dates never do; a report, a finding or an impression always does."""
    return isinstance(value, str) and any(c.isspace() for c in value)


def _text_columns(batches: Iterable[pa.RecordBatch], names: Sequence[str]) -> set[str]:
    """The columns with a value that holds whitespace anywhere in the file, read streaming.

    The whole column counts, not a sample: a report column whose first thousand cells are empty,
    or an addendum filled in only for later studies, is still text. The pass stops as soon as
    every column has qualified, and tests a block at a time in pyarrow's compute kernels.
    """
    found: set[str] = set()
    for batch in batches:
        for name in names:
            if name in found:
                continue
            values = batch.column(name)
            if pa.types.is_dictionary(values.type):
                values = values.dictionary
            if (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) and \
                    pc.any(pc.match_substring_regex(values, _SPACE_RE2)).as_py():
                found.add(name)
        if len(found) == len(names):
            break
    return found


def choose_columns(path: str, names: Sequence[str], textual: Collection[str], opts: ReadOptions) -> list[str]:
    for wanted in (*opts.columns, *([opts.id_column] if opts.id_column else [])):
        if wanted not in names:
            raise _missing_column(path, wanted, names)
    if opts.columns:
        return list(opts.columns)
    chosen = [n for n in names if n != opts.id_column and n in textual]
    if not chosen:
        raise NoTextColumn(f"{path}: no text column found; name one with --column (columns: {', '.join(names) or 'none'})")
    return chosen


def _skipping(opts: ReadOptions) -> ReadOptions:
    """*opts* for a detection pass: bad records are the reading pass's to report, not this one's."""
    return replace(opts, on_error="skip")


def read(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    """Batches of one source, in record order, one batch per text column per block.

    A record that cannot be read is yielded as a :class:`RecordError` when ``on_error`` is
    ``skip``, so the caller can report it like a finding and go on with the rest.
    """
    from deidlint.annotation import read_annotation  # it builds on this module

    reader = {"csv": _read_csv, "tsv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet, "txt": _read_txt,
              "json": read_annotation}
    try:
        yield from reader[source.fmt](source, opts)
    except NoTextColumn:
        if source.named:
            raise
    except (OSError, EOFError, zlib.error, UnicodeError, pa.ArrowException) as exc:
        # A file that breaks off, a corrupt gzip or Parquet stream: what the library says about
        # the structure (never the text), first line only.
        message = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise InputError(f"{source.path}: {message.splitlines()[0]}") from None


# -- CSV / TSV --------------------------------------------------------------------------------
#
# Two parsers read CSV. pyarrow's multi-threaded reader takes every well-formed file. The csv
# module takes over, from the first record pyarrow had not handed out yet, when pyarrow rejects a
# block (a byte not valid in the encoding, a record with the wrong number of fields, a field
# larger than a block) or when the file may end inside an open quote, which pyarrow accepts
# silently. The csv module path knows each record's line and byte offset, so it names the bad
# record and, with ``--on-error skip``, reports it and goes on. Both parsers agree on every
# well-formed record, so the switch never changes what is found.


class _Fallback(Exception):
    """pyarrow cannot be trusted with the rest of this file; the csv module reads it instead."""


class _Record(NamedTuple):
    """One record as the csv module read it: number (-1 for the header), first line, fields, problem."""

    number: int
    line: int
    fields: list[str]
    problem: str | None = None


class _LineFeed:
    """Hands the csv module a file's lines and remembers the lines of the record being read.

    A record goes on to the next line only inside a quoted field, so when the csv module asks for
    another line of a record and none is left, the file ended inside a quote.
    """

    def __init__(self, lines: Iterator[str], limit: int, path: str) -> None:
        self._next_line = lines.__next__
        self._replay: list[str] = []
        self.taken: list[str] = []
        self.ran_dry = False
        self._size, self._limit, self._path = 0, limit, path

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._replay:
            line = self._replay.pop()
        else:
            try:
                line = self._next_line()
            except StopIteration:
                self.ran_dry = bool(self.taken)
                raise
        self._size += len(line)
        if self._size > self._limit:  # a quote left open in a file of millions of lines
            raise record_too_large(self._path, self._limit)
        self.taken.append(line)
        return line

    def take(self) -> list[str]:
        """The lines of the record just read; the next record starts afresh."""
        taken, self.taken, self.ran_dry, self._size = self.taken, [], False, 0
        return taken

    def replay(self, lines: Sequence[str]) -> None:
        """Hand these lines out again, in order, before reading on."""
        self._replay.extend(reversed(lines))


def _csv_records(source: Source, delimiter: str, encoding: str, limit: int) -> Generator[_Record, None, None]:
    """Every record of a CSV/TSV file, header first, with the line it starts on and any problem.

    Bytes that are not valid in *encoding* are kept as surrogate escapes while parsing, so a bad
    byte spoils only its own record, whose problem names the byte's offset in the file. A quote
    left open swallows the rest of the file (so does a field over the size limit); that record
    is reported and reading resumes on its second line, where the next record most likely
    starts. Blank lines are skipped, as pyarrow skips them.
    """
    import csv

    csv.field_size_limit(MAX_FIELD_CHARS)
    name = _codec_name(encoding)
    offsets: _ByteOffsets | None = None
    with _open_text(source, encoding) as handle:
        feed = _LineFeed(bounded_lines(handle, limit, source.path), limit, source.path)
        reader = csv.reader(feed, delimiter=delimiter)
        number, line = -1, 1
        try:
            while True:
                problem = None
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    fields, problem = [], f"unreadable record ({exc}); is a quote left open?"
                if feed.ran_dry and len(feed.taken) > 1:
                    problem = "a quote opened in this record is never closed"
                taken = feed.take()
                if problem is not None:
                    # Where the record really ends is unknown: read on from its second line.
                    feed.replay(taken[1:])
                    taken = taken[:1]
                    reader = csv.reader(feed, delimiter=delimiter)
                elif not fields:
                    line += len(taken)
                    continue
                else:
                    raw = taken[0] if len(taken) == 1 else "".join(taken)
                    if not raw.isascii() and (bad := _ESCAPED.search(raw)) is not None:
                        offsets = offsets or _ByteOffsets(source, name)
                        problem = _invalid_bytes(name, offsets.at(line, raw[:bad.start()]))
                if number == -1 and name == "utf-8" and fields and fields[0].startswith("\ufeff"):
                    fields[0] = fields[0][1:]
                yield _Record(number, line, fields, problem)
                number += 1
                line += len(taken)
        finally:
            if offsets is not None:
                offsets.close()


class _ByteOffsets:
    """Byte offsets of places in a text file, for error messages only: counted on demand, by
    re-encoding the lines before them as they were decoded, in one forward pass per file."""

    def __init__(self, source: Source, encoding: str) -> None:
        self._encoding = encoding
        self._handle = _open_text(source, encoding)
        self._line = 1
        self._offset = self._bom = len("".encode(encoding))  # codecs that write a BOM read one

    def _size(self, text: str) -> int:
        return len(text.encode(self._encoding, "surrogateescape")) - self._bom

    def at(self, line: int, prefix: str) -> int:
        """Offset of the end of *prefix*, the text that starts line *line* (lines asked in order)."""
        while self._line < line:
            self._offset += self._size(next(self._handle))
            self._line += 1
        return self._offset + self._size(prefix)

    def close(self) -> None:
        self._handle.close()


def _csv_header(source: Source, delimiter: str, opts: ReadOptions) -> list[str]:
    """The header row, read with the csv module (quoted names, BOM, bad bytes all handled).

    A header that reads like report text is refused: the file most likely has none, so its
    first report would name a column, appear in every finding and baseline, and go unscanned.
    Naming the text columns with ``--column`` vouches for the header.
    """
    records = _csv_records(source, delimiter, opts.encoding, opts.max_record_bytes)
    try:
        header = next(records, None)
    finally:
        records.close()
    if header is None:
        raise InputError(f"{source.path}: empty file (no header row)")
    if header.problem:
        raise InputError(f"{source.path}: cannot read the header: {header.problem}")
    vouched = bool(opts.columns) and all(c in header.fields for c in opts.columns)
    if not vouched and any(_reads_like_report(name) for name in header.fields):
        raise InputError(f"{source.path}: the first row reads like report text, not column names (not shown); "
                         "add a header row, or name the text columns with --column if it is the header")
    if len(header.fields) > MAX_COLUMNS:
        raise _too_many_columns(source.path, len(header.fields))
    if len(set(header.fields)) != len(header.fields):
        raise InputError(f"{source.path}: duplicate column names in the header")
    return header.fields


#: A header cell that reads like report text: a sentence (three words or more ending in a full
#: stop, question or exclamation mark: ``accession no.`` is a name), seven words or more, or a
#: de-identification marker.
_REPORT_LIKE = regex.compile(r"(?:\S+\s+){2}\S[^\n]*[.!?]\s*$|^\s*(?:\S+\s+){6}\S|___|\[\*\*|XXXX")
#: Column names are short; a longer header cell is a report.
_LONGEST_NAME = 80


def _reads_like_report(name: str) -> bool:
    return len(name) > _LONGEST_NAME or _REPORT_LIKE.search(name) is not None


def _codec_name(encoding: str) -> str:
    """Python's canonical name for *encoding* (``UTF8`` -> ``utf-8``), checked when options are built."""
    return codecs.lookup(encoding).name


def open_bytes(source: Source) -> IO[bytes]:
    """The bytes of *source*, decompressed when it is gzipped (readers and writers alike)."""
    # typeshed's gzip.open gives a GzipFile, a binary stream that it does not count as an IO[bytes].
    return gzip.open(source.path, "rb") if source.gzip else open(source.path, "rb")  # type: ignore[return-value]


def _open_text(source: Source, encoding: str) -> io.TextIOWrapper:
    """Lines exactly as in the file: no newline translation, bad bytes kept as surrogate escapes."""
    return io.TextIOWrapper(open_bytes(source), encoding=encoding, errors="surrogateescape", newline="")


def _read_csv(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    delimiter = "\t" if source.fmt == "tsv" else ","
    header = _csv_header(source, delimiter, opts)

    bad: list[RecordError] = []

    def readable() -> Iterator[pa.RecordBatch]:
        for item in _csv_batches(source, header, delimiter, _skipping(opts)):
            if isinstance(item, RecordError):
                bad.append(item)
            else:
                yield item[1]

    def detect() -> set[str]:
        return _text_columns(readable(), header)

    try:
        yield from _arrow_batches(source, _csv_batches(source, header, delimiter, opts), header, opts, detect)
    except NoTextColumn as exc:
        if not bad:
            raise
        # A bad record (an unclosed quote that swallowed the rest) may be why no column holds text:
        # name it first, as the cause to look at.
        raise NoTextColumn(f"{bad[0]}, and {len(bad) - 1} more bad record(s); then {exc}" if len(bad) > 1
                           else f"{bad[0]}; then {exc}") from None


def _csv_batches(source: Source, header: list[str], delimiter: str,
                 opts: ReadOptions) -> Iterator[tuple[Sequence[int], pa.RecordBatch] | RecordError]:
    """Numbered record batches from pyarrow, then from the csv module if pyarrow gives up."""
    done = 0
    try:
        for rows, batch in _numbered(_arrow_csv(source, header, delimiter, opts.encoding)):
            yield rows, batch
            done = rows.stop
        return
    except (pa.ArrowInvalid, UnicodeError, _Fallback):
        pass
    yield from _csv_module_batches(source, header, delimiter, opts, done)


def _arrow_csv(source: Source, header: list[str], delimiter: str, encoding: str) -> Iterator[pa.RecordBatch]:
    """pyarrow's batches, every column as text; raises :class:`_Fallback` where it cannot be trusted.

    The last batch is held back until the end is reached, because only then can it be checked:
    pyarrow closes a quote left open at the end of the file without a word, so when the last
    field holds a line break and the file does not end on a closing quote (an odd run of ``"``),
    the csv module rereads the file and decides. (pyarrow reads a native stream: a Python file
    object would be read from pyarrow's I/O threads, which abort the interpreter at exit.)
    """
    held: pa.RecordBatch | None = None
    stream = pa.input_stream(source.path, compression="gzip" if source.gzip else None)
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=_codec_name(encoding), use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if reader.schema.names != header:
            raise _Fallback
        for batch in reader:
            if batch.num_rows:
                if held is not None:
                    yield held
                held = batch
    finally:
        stream.close()
    if held is not None:
        last = held.column(held.num_columns - 1)[held.num_rows - 1].as_py()
        if "\n" in last or "\r" in last:
            end = _tail(source).decode(encoding, "ignore").rstrip("\r\n")
            if (len(end) - len(end.rstrip('"'))) % 2 == 0:
                raise _Fallback
        yield held


def _tail(source: Source, size: int = 64) -> bytes:
    """The file's last bytes, decompressed: a seek for a plain file, a native pass over a gzip one."""
    if not source.gzip:
        with open(source.path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
            return handle.read()
    tail = b""
    with pa.input_stream(source.path, compression="gzip") as stream:
        while chunk := stream.read(CSV_BLOCK_BYTES):
            tail = (tail + chunk[-size:])[-size:]
    return tail


def _csv_module_batches(source: Source, header: list[str], delimiter: str, opts: ReadOptions,
                        start: int) -> Iterator[tuple[Sequence[int], pa.RecordBatch] | RecordError]:
    """Records from *start* on, read with the csv module, in batches; bad records as errors."""
    rows: list[int] = []
    columns: list[list[str]] = [[] for _ in header]

    def flush() -> tuple[Sequence[int], pa.RecordBatch]:
        batch = pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], names=header)
        numbers = rows.copy()
        rows.clear()
        for c in columns:
            c.clear()
        return numbers, batch

    for record in _csv_records(source, delimiter, opts.encoding, opts.max_record_bytes):
        if record.number < start:
            continue
        problem = record.problem
        if problem is None and len(record.fields) != len(header):
            problem = f"expected {len(header)} fields, found {len(record.fields)}"
        if problem is not None:
            error = bad_record(source, record.number, f"line {record.line}: {problem}", opts)
            if rows:
                yield flush()
            yield error
            continue
        rows.append(record.number)
        for column, value in zip(columns, record.fields, strict=True):
            column.append(value)
        if len(rows) >= BATCH_ROWS:
            yield flush()
    if rows:
        yield flush()


def bad_record(source: Source, record: int, reason: str, opts: ReadOptions) -> RecordError:
    """The error for one bad record: returned to be reported with ``--on-error skip``, else raised."""
    error = RecordError(source.path, record, reason)
    if opts.on_error == "fail":
        raise InputError(str(error))
    return error


def _arrow_batches(source: Source, batches: Iterable[tuple[Sequence[int], pa.RecordBatch] | RecordError],
                   names: Sequence[str], opts: ReadOptions,
                   detect: Callable[[], set[str]]) -> Iterator[Batch | RecordError]:
    """Cell texts per chosen column from numbered Arrow batches; record errors pass through.

    *detect* finds the text columns (a pass of its own over the file) when none are named; it
    runs only once there is a record, so a header-only file is no error.
    """
    columns: list[str] | None = None
    for item in _blocks(batches):
        if isinstance(item, RecordError):
            yield item
            continue
        if columns is None:
            columns = choose_columns(source.path, names, () if opts.columns else detect(), opts)
        rows = item[0][0] if len(item) == 1 else [row for numbers, _ in item for row in numbers]
        ids = None
        if opts.id_column:
            ids = [i for _, piece in item for i in _id_values(piece, opts.id_column) or ()]
        for name in columns:
            texts = [t for _, piece in item for t in _texts(piece.column(name))]
            yield Batch(name, rows, texts, ids, [source.path] * len(texts))
    if columns is None and (opts.columns or opts.id_column):
        # Header only: there is nothing to scan, but a misspelled column is still an error.
        choose_columns(source.path, names, {}, opts)


def _texts(values: pa.Array) -> list[str]:
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return list(values.fill_null("").to_pylist())


#: The pieces of numbered Arrow batches that make up one block of :data:`BATCH_ROWS` records.
_Block = list[tuple[Sequence[int], pa.RecordBatch]]


def _blocks(batches: Iterable[tuple[Sequence[int], pa.RecordBatch] | RecordError]) -> Iterator[_Block | RecordError]:
    """Numbered Arrow batches recut at every :data:`BATCH_ROWS`-th record number, as each block's
    pieces; record errors pass through, after the block so far.

    pyarrow's CSV chunks end wherever 8 MB of text does, and a chunk's last records would
    otherwise start a batch of their own mid-block: the order of the columns' batches, and so of
    restore's ties and of the findings, would depend on the bytes, not on the records."""
    block: _Block = []
    for item in batches:
        if isinstance(item, RecordError):
            if block:
                yield block
                block = []
            yield item
            continue
        rows, whole = item
        first = 0
        while first < whole.num_rows:
            k = rows[first] // BATCH_ROWS
            end = bisect.bisect_left(rows, (k + 1) * BATCH_ROWS, lo=first)
            if block and block[0][0][0] // BATCH_ROWS != k:
                yield block
                block = []
            block.append((rows[first:end], whole.slice(first, end - first)))
            first = end
    if block:
        yield block


def _numbered(batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[range, pa.RecordBatch]]:
    """Batches with the record numbers they hold, counting from 0."""
    row = 0
    for batch in batches:
        yield range(row, row + batch.num_rows), batch
        row += batch.num_rows


def _id_values(record_batch: pa.RecordBatch, id_column: str | None) -> list[str | None] | None:
    if not id_column:
        return None
    values = record_batch.column(id_column)
    return [None if v is None else str(v) for v in values.to_pylist()]


# -- Parquet ----------------------------------------------------------------------------------


def _nested_text(path: str, what: str, where: str, record: int) -> RecordError:
    """The notice for text that is not scanned: yielded, never raised, so the run goes on and
    fails (exit 1) like a skipped record, instead of passing with traces left in it."""
    return RecordError(path, record, f"{what} {where!r} holds text inside nested values, which is not scanned; "
                                     "flatten it to a string column")


def _string_leaves(values: pa.Array) -> Iterator[pa.Array]:
    """Every string array inside a struct, list or map array, at any depth."""
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield values
    elif pa.types.is_dictionary(kind):
        yield from _string_leaves(values.dictionary)
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            yield from _string_leaves(values.field(i))
    elif pa.types.is_map(kind):
        yield from _string_leaves(values.keys)
        yield from _string_leaves(values.items)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _string_leaves(values.flatten())


def _is_nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind) and not pa.types.is_dictionary(kind)


def _parquet_nested_text(source: Source, parquet: pq.ParquetFile, nested: list[str]) -> Iterator[RecordError]:
    """A notice for each nested column whose strings hold text anywhere (a pass of its own)."""
    left = set(nested)
    start = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=nested):
        for name in sorted(left):
            if any(pc.any(pc.match_substring_regex(leaf, _SPACE_RE2)).as_py()
                   for leaf in _string_leaves(batch.column(name))):
                left.discard(name)
                yield _nested_text(source.path, "column", name, start)
        start += batch.num_rows
        if not left:
            return


def _read_parquet(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    try:
        parquet = pq.ParquetFile(source.path)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise InputError(f"{source.path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    if parquet.metadata.num_columns > MAX_COLUMNS:
        raise _too_many_columns(source.path, parquet.metadata.num_columns)
    schema = parquet.schema_arrow
    names = list(schema.names)
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:  # pyarrow cannot select such a column, and a finding could not name it
        raise InputError(f"{source.path}: column {_key_name(twice)} appears {names.count(twice)} times in the "
                         "Parquet schema; rename the copies")
    textual = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
               or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))]
    nested = [f.name for f in schema if _is_nested(f.type)]
    if not opts.columns:
        yield from _parquet_nested_text(source, parquet, nested)
        if not textual:
            if nested:
                return
            raise NoTextColumn(f"{source.path}: Parquet file has no string column")
    for wanted in opts.columns:
        if wanted in names and wanted not in textual:
            raise InputError(f"{source.path}: column {wanted!r} is not a string column")
    to_read = list(dict.fromkeys([*(opts.columns or textual), *([opts.id_column] if opts.id_column else [])]))
    missing = [w for w in to_read if w not in names]
    if missing:
        raise _missing_column(source.path, missing[0], names)
    names = [n for n in to_read if n in textual or n == opts.id_column]

    def detect() -> set[str]:
        return _text_columns(parquet.iter_batches(batch_size=BATCH_ROWS, columns=textual), textual)

    yield from _arrow_batches(source, _numbered(parquet.iter_batches(batch_size=BATCH_ROWS, columns=to_read)),
                              names, opts, detect)


# -- JSONL ------------------------------------------------------------------------------------


def _jsonl_lines(source: Source, limit: int) -> Iterator[tuple[int, int, bytes]]:
    """Line number, byte offset and bytes of every non-blank line (a leading UTF-8 BOM dropped)."""
    with open_bytes(source) as raw:
        handle = bounded_lines(raw, limit, source.path)
        first = next(handle, b"")
        bom = len(codecs.BOM_UTF8) if first.startswith(codecs.BOM_UTF8) else 0
        if first[bom:].strip():
            yield 1, bom, first[bom:]
        offset = len(first)
        for number, line in enumerate(handle, 2):
            if not line.isspace():
                yield number, offset, line
            offset += len(line)


class _DuplicateKey(ValueError):
    """One JSON object holds a key twice: json keeps the last value, orjson too, without a word."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


#: Decodes a line a second time, object by object, only to find keys given twice (orjson has no hook).
_PAIRS = json.JSONDecoder(object_pairs_hook=_unique_pairs)


def _jsonl_objects(source: Source, opts: ReadOptions) -> Iterator[tuple[int, int, dict[str, object]] | RecordError]:
    """Record number, line number and object of every readable line; bad lines as record errors.

    A key given twice in one object (at any depth) is a bad record: the first value would go
    unscanned, so the line is named with the key, never with its text.
    """
    name = _codec_name(opts.encoding)
    if "\n".encode(name) != b"\n":
        raise InputError(f"{source.path}: JSONL needs an ASCII-compatible encoding such as utf-8, not {name}")
    for row, (number, offset, line) in enumerate(_jsonl_lines(source, opts.max_record_bytes)):
        problem: str | None
        try:
            text = line.decode(name)
        except UnicodeDecodeError as exc:
            problem = _invalid_bytes(name, offset + exc.start)
        else:
            obj, problem = _json_object(line if name == "utf-8" else text, text)
            if obj is not None:
                yield row, number, obj
                continue
        yield bad_record(source, row, f"line {number}: {problem}", opts)


def _json_object(data: bytes | str, text: str) -> tuple[dict[str, object] | None, str | None]:
    """A line's object, or why it is not one.

    Every line is decoded twice: by orjson, and by the standard library with a hook that finds a
    key given twice (orjson has none). What orjson refuses and JSON allows (integers beyond 64
    bits, a lone surrogate escape such as ``"\\ud800"``) is taken from the second decoding.
    """
    try:
        obj, why = orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        obj, why = None, f"invalid JSON: {exc}"
    try:
        pairs = _PAIRS.decode(text)
    except _DuplicateKey as dup:
        return None, f"key {_key_name(dup.key)} appears twice in one object; keep one"
    except ValueError:
        return None, why or "invalid JSON"
    obj = pairs if why else obj
    return (obj, None) if isinstance(obj, dict) else (None, "a JSONL line must hold an object")


def _key_name(key: str) -> str:
    """A JSON key for an error message: quoted, at most 40 characters (a key is no report text,
    but a forged one could be)."""
    return repr(key if len(key) <= 40 else key[:40] + "...")


def _jsonl_text_keys(source: Source, opts: ReadOptions) -> tuple[list[str], set[str], dict[str, int]]:
    """Every key of the file in order of first appearance, those with a string value that holds
    whitespace somewhere in the file (a pass of its own, as for CSV), and the keys whose objects
    or arrays hold such a string, with the first record that has one."""
    names: dict[str, None] = {}
    textual: set[str] = set()
    nested: dict[str, int] = {}
    for item in _jsonl_objects(source, _skipping(opts)):
        if isinstance(item, RecordError):
            continue
        for key, value in item[2].items():
            names.setdefault(key)
            if len(names) > MAX_COLUMNS:
                raise _too_many_columns(source.path, len(names))
            if key not in textual and has_space(value):
                textual.add(key)
            elif key not in nested and isinstance(value, (dict, list)) and _holds_text(value):
                nested[key] = item[0]
    return list(names), textual, nested


def _holds_text(value: object) -> bool:
    """Whether a JSON value holds, at any depth, a string with whitespace (keys included)."""
    if isinstance(value, dict):
        return any(has_space(k) or _holds_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_text(v) for v in value)
    return has_space(value)


def _read_jsonl(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    detected: tuple[list[str], set[str], dict[str, int]] | None = None
    if not opts.columns:
        detected = _jsonl_text_keys(source, opts)
        for key, record in detected[2].items():
            yield _nested_text(source.path, "field", key, record)
    columns: list[str] | None = None
    pending: list[tuple[int, int, dict[str, object]]] = []
    for item in _jsonl_objects(source, opts):
        if isinstance(item, RecordError):
            yield item
            continue
        if pending and pending[0][0] // BATCH_ROWS != item[0] // BATCH_ROWS:  # a block of BATCH_ROWS records
            columns = columns or _jsonl_columns(source, pending, opts, detected)
            yield from _jsonl_batches(source, pending, columns, opts)
            pending = []
        pending.append(item)
    if pending:
        columns = columns or _jsonl_columns(source, pending, opts, detected)
        yield from _jsonl_batches(source, pending, columns, opts)


def _jsonl_columns(source: Source, pending: list[tuple[int, int, dict[str, object]]], opts: ReadOptions,
                   detected: tuple[list[str], set[str], dict[str, int]] | None) -> list[str]:
    """The text columns: those named, if the first batch has them all, else from a pass over the file."""
    seen = {k for _, _, obj in pending for k in obj}
    if opts.columns and all(c in seen for c in (*opts.columns, *([opts.id_column] if opts.id_column else []))):
        return list(opts.columns)
    names, textual, _ = detected or _jsonl_text_keys(source, opts)
    return choose_columns(source.path, names, textual, opts)


def _jsonl_batches(source: Source, pending: list[tuple[int, int, dict[str, object]]], columns: list[str],
                   opts: ReadOptions) -> Iterator[Batch | RecordError]:
    good = []
    for row, number, obj in pending:
        for name in columns:
            value = obj.get(name)
            if value is not None and not isinstance(value, str):
                yield bad_record(source, row, f"line {number}: field {name!r} is not a string", opts)
                break
        else:
            good.append((row, obj))
    if not good:
        return
    rows = [r for r, _ in good]
    ids = None
    if opts.id_column:
        ids = [None if (v := obj.get(opts.id_column)) is None else str(v) for _, obj in good]
    for name in columns:
        texts = [str(obj.get(name) or "") for _, obj in good]
        yield Batch(name, rows, texts, ids, [source.path] * len(rows))


# -- plain text -------------------------------------------------------------------------------


def _read_txt(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    with open_bytes(source) as handle:
        data = handle.read(opts.max_record_bytes + 1)
    if len(data) > opts.max_record_bytes:
        raise record_too_large(source.path, opts.max_record_bytes)
    try:
        text = data.decode(opts.encoding)
    except UnicodeDecodeError as exc:
        yield bad_record(source, 0, _invalid_bytes(_codec_name(opts.encoding), exc.start), opts)
        return
    yield Batch(None, [0], [text], [Path(source.path).stem] if opts.id_column else None, [source.path])


def _invalid_bytes(encoding: str, offset: int) -> str:
    return f"invalid {encoding} at byte {offset}; pass --encoding (for example --encoding latin-1)"


# -- file lines -------------------------------------------------------------------------------


class LineMap:
    """The 1-based file line where each data record starts, for formats that annotate files.

    SARIF and GitHub annotations point at file lines, but a CSV record can span lines (quoted,
    hard-wrapped reports). The map is built once per file on first use, by the same record
    reader that names bad records, and costs 4 bytes per record.
    """

    def __init__(self, encoding: str = "utf-8", limit: int = MAX_RECORD_BYTES) -> None:
        self.encoding, self.limit = encoding, limit
        self._cache: dict[str, array[int] | None] = {}

    def line_of(self, path: str, record: int, line_in_cell: int) -> int | None:
        """File line of line *line_in_cell* of a record's cell (exact when earlier cells are one line).

        A JSONL record is one file line whatever its text holds (newlines are escaped), so there
        the record's line is the answer.
        """
        if path not in self._cache:
            self._cache[path] = self._build(path)
        starts = self._cache[path]
        if starts is None or record >= len(starts):
            return None
        if path.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson")):
            return starts[record]
        return starts[record] + line_in_cell - 1

    def _build(self, path: str) -> array[int] | None:
        source = source_for(path)
        if source is None or source.fmt in ("parquet", "json"):
            return None
        if source.fmt == "txt":
            return array("I", [1])
        if source.fmt == "jsonl":
            return array("I", (number for number, _, _ in _jsonl_lines(source, self.limit)))
        delimiter = "\t" if source.fmt == "tsv" else ","
        return array("I", (r.line for r in _csv_records(source, delimiter, self.encoding, self.limit) if r.number >= 0))
