"""Writers: rewrite a dataset with fixed cells and leave every other byte as it was.

A curator diffs the fixed dataset against the original, and version control stores it as a
delta, so a fix must touch only what it fixes: unchanged rows keep their raw bytes (quoting,
line endings, encoding, number formats such as ``1.0``, empty cells), and inside a changed row
only the changed cell is re-encoded. CSV/TSV and JSONL are therefore rewritten from their raw
records, spliced; Parquet, which has no raw text, is rewritten row group by row group with the
same schema, metadata, row groups and per-column types and codecs; a ``.txt`` report is one cell.

Every write is atomic (:mod:`deidlint.atomic`): a failed or interrupted run leaves the input
(and any earlier output) untouched, and a file with nothing to fix is never rewritten: with
``-o`` its bytes are copied.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from deidlint.atomic import Transaction, atomic_output
from deidlint.convert import convert
from deidlint.errors import InputError, RecordError
from deidlint.outputs import STDOUT, Output
from deidlint.readers import Batch, ReadOptions, Source, bounded_lines, open_bytes, read, record_too_large

#: Turns a stream of batches into the same batches, in order, each with its fixed texts (same
#: length and order). A stream, not a call per batch, so that the fixing can run ahead in worker
#: processes while the writer copies.
Edit = Callable[[Iterator[Batch]], Iterator[tuple[Batch, list[str]]]]

_CHUNK = 1 << 20


class _Writer(Protocol):
    """What :func:`rewrite` asks of each format's writer, so one call serves them all."""

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        """Write the edited file to *out*; the number of records changed."""
        ...


@dataclass(slots=True)
class Rewrite:
    """What happened to one file."""

    records_changed: int = 0
    #: Bad records skipped with ``--on-error skip``: copied through unchanged, traces and all.
    skipped: list[RecordError] = field(default_factory=list)


def _as_is(source: Source, dest: Output, out: IO[bytes], encoding: str) -> None:
    """A file with nothing to fix, written to *out*: its own bytes, or converted to ``dest``'s format."""
    with open(source.path, "rb") as raw:
        if dest.converts(source):
            convert(raw, source.fmt, source.gzip, encoding, out, dest.fmt, dest.gzip, source.path)
        else:
            shutil.copyfileobj(raw, out, _CHUNK)


@contextmanager
def compressed(handle: IO[bytes], source: Source) -> Iterator[IO[bytes]]:
    """The output stream: gzip-compressed like the input, keeping its header's timestamp."""
    if not source.gzip:
        yield handle
        return
    with open(source.path, "rb") as original:
        header = original.read(10)
    mtime = int.from_bytes(header[4:8], "little") if len(header) == 10 else 0
    with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=mtime) as zipped:
        yield zipped  # type: ignore[misc]  # a GzipFile is a binary stream, but not an IO[bytes] to typeshed


def _end_of(pattern: re.Pattern[bytes], line: bytes, pos: int) -> int:
    """End of *pattern*'s match at *pos*, for a pattern that matches the empty string: it always
    matches, which the type of ``match`` cannot say."""
    m = pattern.match(line, pos)
    assert m is not None, "the pattern matches the empty string"
    return m.end()


def _annotation_writer(source: Source, opts: ReadOptions, encoding: str) -> _Writer:
    from deidlint.annotation import AnnotationWriter  # it builds on this module's JSON splicing

    return AnnotationWriter(source, opts, encoding)


def rewrite(source: Source, opts: ReadOptions, dest: str | Output | None, edit: Edit,
            transaction: Transaction | None = None) -> Rewrite:
    """Stream ``source`` through ``edit`` and write the result to ``dest`` (None: a dry run).

    ``dest`` may be ``source.path`` itself (``--in-place``) or standard output (``-o -``,
    written through); a plain path is written in the input's format. Nothing is written when no
    cell changed, except that a distinct ``dest`` receives a byte-identical copy (or a converted
    one, for another format). With a ``transaction`` the output is staged there rather than put
    in place.
    """
    name = codecs.lookup(opts.encoding).name
    if source.fmt != "parquet" and ",\n\"".encode(name) != b',\n"':
        raise InputError(f"{source.path}: fix needs an ASCII-compatible encoding such as utf-8, not {name}")
    writers: dict[str, Callable[[Source, ReadOptions, str], _Writer]] = {
        "csv": _CsvWriter, "tsv": _CsvWriter, "jsonl": _JsonlWriter, "parquet": _ParquetWriter, "txt": _TxtWriter,
        "json": _annotation_writer}
    writer = writers[source.fmt](source, opts, name)
    result = Rewrite()
    if dest is None:
        for item, new in edited(source, opts, edit, result.skipped):
            result.records_changed += sum(a is not b and a != b for a, b in zip(item.texts, new, strict=True))
        return result
    if isinstance(dest, str):
        dest = Output(dest, source.fmt, source.gzip)
    try:
        if dest.path == STDOUT:
            result.records_changed = _written_through(source, writer, dest, edit, result.skipped, name)
            return result
        same = os.path.exists(dest.path) and os.path.samefile(dest.path, source.path)
        target = os.path.realpath(dest.path) if same else dest.path
        try:
            with atomic_output(target, like=source.path if same else None, transaction=transaction) as handle:
                result.records_changed = _fixed(source, writer, dest, handle, edit, result.skipped, name)
                if not result.records_changed:
                    raise _Unchanged
        except _Unchanged:
            if not same:
                with atomic_output(dest.path, transaction=transaction) as handle:
                    _as_is(source, dest, handle, name)
    except (EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{source.path}: {exc}") from None
    except OSError as exc:  # no file name: the write itself failed (a full disk, say)
        raise InputError(f"{exc.filename or dest.path}: {exc.strerror or exc}") from None
    return result


def _fixed(source: Source, writer: _Writer, dest: Output, handle: IO[bytes], edit: Edit,
           skipped: list[RecordError], encoding: str) -> int:
    """Write the fixed ``source`` to ``handle`` in ``dest``'s format; the number of records changed.

    A conversion fixes into an anonymous temporary file in the input's own format first (on
    Linux it has no name, so not even SIGKILL leaves it behind), then converts that."""
    if not dest.converts(source):
        return writer.run(handle, edit, skipped)
    folder = os.path.dirname(os.path.abspath(dest.path)) if dest.path != STDOUT else None
    with tempfile.TemporaryFile(dir=folder) as staged:
        changed = writer.run(staged, edit, skipped)
        if not changed:  # the caller converts the input itself (a writer may write nothing then)
            return 0
        staged.seek(0)
        convert(staged, source.fmt, source.gzip, encoding, handle, dest.fmt, dest.gzip, source.path)
    return changed


def _written_through(source: Source, writer: _Writer, dest: Output, edit: Edit, skipped: list[RecordError],
                     encoding: str) -> int:
    """``-o -``: the fixed file on standard output. A pipe cannot be renamed over, so this is the
    one write that is not atomic; an input with nothing to fix is copied (or converted) as is."""
    out = sys.stdout.buffer
    sys.stdout.flush()
    with tempfile.TemporaryFile() as staged:
        changed = _fixed(source, writer, dest, staged, edit, skipped, encoding)
        staged.seek(0)
        if changed:
            shutil.copyfileobj(staged, out, _CHUNK)
        else:
            _as_is(source, dest, out, encoding)
    out.flush()
    return changed


class _Unchanged(Exception):
    """Nothing changed: drop the temporary output (the input, or a plain copy, is the result)."""


def edited(source: Source, opts: ReadOptions, edit: Edit, skipped: list[RecordError]) -> Iterator[tuple[Batch, list[str]]]:
    """The readable batches of ``source`` with their edited texts; bad records (``--on-error
    skip``) go to ``skipped`` and are copied through unchanged."""

    def batches() -> Iterator[Batch]:
        for item in read(source, opts):
            if isinstance(item, RecordError):
                skipped.append(item)
            else:
                yield item

    return edit(batches())


def changed_cells(batch: Batch, new: list[str]) -> Iterator[tuple[int, str, str]]:
    """(record, old text, new text) for each cell the edit changed."""
    for row, old, text in zip(batch.rows, batch.texts, new, strict=True):
        if text is not old and text != old:
            yield row, old, text


def _copy_records(source: Source, records: Iterator[bytes], sink: IO[bytes], pending: dict[int, dict[Any, tuple[str, str]]],
                  number: int, until: int | None, blank: Callable[[bytes], bool],
                  splice: Callable[[bytes, int, dict[Any, tuple[str, str]]], bytes]) -> tuple[int, int]:
    """Write raw records up to (not including) record *until* (None: all), splicing pending changes.

    Blank lines are copied and not numbered, as the readers skip them. Returns the next record
    number and how many records changed; a pending change whose record never came is an error.
    """
    changed = 0
    while until is None or number < until:
        record = next(records, None)
        if record is None:
            break
        if blank(record):
            sink.write(record)
            continue
        cells = pending.pop(number, None)
        if cells:
            record = splice(record, number, cells)
            changed += 1
        sink.write(record)
        number += 1
    if pending and until is None:
        raise InputError(f"{source.path}: record {min(pending)} not found while rewriting")
    return number, changed


# -- CSV / TSV ----------------------------------------------------------------------------------

_QUOTED_BODY = rb'[^"]*+(?:""[^"]*+)*+'


def _cell_grammar(delimiter: bytes) -> bytes:
    """One raw cell as the readers' parsers (pyarrow, the csv module) read it: a quote opens a
    quoted part only at the start of the cell (``5" tube`` is literal), a quoted part may hold
    line breaks and ``""``, a quote left open runs to the end, and text after the closing quote
    belongs to the cell literally (``"a" b`` is ``a b``). Possessive, so it never backtracks, and
    the quoted body unrolled (``[^"]*(?:""[^"]*)*``), which splits records as fast as a grammar
    that ignores cells."""
    d = re.escape(delimiter)
    return rb'(?:"' + _QUOTED_BODY + rb'(?:"[^' + d + rb'\r\n]*+|\Z)|[^"' + d + rb'\r\n][^' + d + rb'\r\n]*+)?+'


def _cell_value(raw: bytes) -> bytes:
    """The value of a raw cell matched by :func:`_cell_grammar`."""
    if not raw.startswith(b'"'):
        return raw
    m = _QUOTED_PART.match(raw)
    assert m is not None, "a quoted cell starts with a quoted part"
    return m.group(1).replace(b'""', b'"') + raw[m.end():]


_QUOTED_PART = re.compile(rb'"(' + _QUOTED_BODY + rb')"?')


class _CsvWriter:
    """Copies raw records and splices changed cells into them.

    Records are found on the raw bytes (an ASCII-compatible encoding cannot hide a quote, comma
    or line feed inside a multi-byte character), numbered as the reader numbers them (blank
    lines are not records), and matched to the reader's cells: a changed cell whose raw value
    is not exactly the text the reader gave is an error, so a disagreement between the two
    parsers can never corrupt a file.
    """

    def __init__(self, source: Source, opts: ReadOptions, encoding: str) -> None:
        self.source, self.opts, self.encoding = source, opts, encoding
        self.delimiter = b"\t" if source.fmt == "tsv" else b","
        cell = _cell_grammar(self.delimiter)
        self._cell = re.compile(cell)
        #: One raw record: cells and delimiters to ``\r\n``, ``\n`` or a lone ``\r``, as the
        #: readers' csv module ends it.
        self._record = re.compile(cell + rb'(?:' + re.escape(self.delimiter) + cell + rb')*+(?:\r\n|\n|\r|\Z)')

    def _records(self, handle: IO[bytes]) -> Iterator[bytes]:
        buffer = b""
        while True:
            chunk = handle.read(_CHUNK)
            buffer += chunk
            pos = 0
            for m in self._record.finditer(buffer):
                if m.end() == m.start():
                    break
                if m.end() == len(buffer) and chunk:
                    break  # it may go on in the next chunk (even after a line feed inside quotes)
                yield m.group()
                pos = m.end()
            buffer = buffer[pos:]
            if len(buffer) > self.opts.max_record_bytes:  # no record end in sight: a stream of NULs
                raise record_too_large(self.source.path, self.opts.max_record_bytes)
            if not chunk:
                if buffer:
                    yield buffer
                return

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        changed = 0
        with open_bytes(self.source) as raw, compressed(out, self.source) as sink:
            records = self._records(raw)
            header = self._header(records, sink)
            pending: dict[int, dict[int, tuple[str, str]]] = {}
            number = 0
            for item, new in edited(self.source, self.opts, edit, skipped):
                column = header.get(item.column or "", -1)
                for row, old, text in changed_cells(item, new):
                    pending.setdefault(row, {})[column] = (old, text)
                if item.rows:
                    number, done = self._copy(records, sink, pending, number, item.rows[0])
                    changed += done
            number, done = self._copy(records, sink, pending, number, None)
            changed += done
        return changed

    def _header(self, records: Iterator[bytes], sink: IO[bytes]) -> dict[str, int]:
        import csv

        for record in records:
            sink.write(record)
            if record.strip(b"\r\n"):
                text = record.decode(self.encoding, "surrogateescape")
                fields = next(csv.reader([text], delimiter=self.delimiter.decode()), [])
                if fields and fields[0].startswith("\ufeff"):
                    fields[0] = fields[0][1:]
                return {name: i for i, name in enumerate(fields)}
        return {}

    def _copy(self, records: Iterator[bytes], sink: IO[bytes], pending: dict[int, dict[int, tuple[str, str]]],
              number: int, until: int | None) -> tuple[int, int]:
        return _copy_records(self.source, records, sink, pending, number, until,
                             lambda record: not record.strip(b"\r\n"), self._splice)

    def _splice(self, record: bytes, number: int, cells: dict[int, tuple[str, str]]) -> bytes:
        body = record.rstrip(b"\r\n")
        ending = record[len(body):]
        spans = []
        pos = 0
        while True:
            end = _end_of(self._cell, body, pos)
            spans.append((pos, end))
            pos = end
            if pos >= len(body) or body[pos:pos + 1] != self.delimiter:
                break
            pos += 1
        out = bytearray()
        last = 0
        for index in sorted(cells):
            old, new = cells[index]
            if not 0 <= index < len(spans):
                raise InputError(f"{self.source.path}: record {number} has no column {index} while rewriting")
            start, end = spans[index]
            raw = body[start:end]
            quoted = raw.startswith(b'"')
            value = _cell_value(raw)
            if value.decode(self.encoding, "surrogateescape") != old:
                raise InputError(f"{self.source.path}: record {number}: the CSV parsers disagree on a cell; "
                                 "nothing was written")
            delim = self.delimiter.decode()
            if quoted or any(c in new for c in (delim, '"', "\n", "\r")):
                encoded = b'"' + new.replace('"', '""').encode(self.encoding) + b'"'
            else:
                encoded = new.encode(self.encoding)
            out += body[last:start] + encoded
            last = end
        out += body[last:] + ending
        return bytes(out)


# -- JSONL --------------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_SPACE = re.compile(rb"[ \t\r\n]*")
_JSON_SCALAR = re.compile(rb"[^,}\]\s]*")


def skip_space(line: bytes, pos: int) -> int:
    """Where the JSON whitespace at *pos* ends."""
    return _end_of(_JSON_SPACE, line, pos)


def json_value_spans(line: bytes) -> dict[str, tuple[int, int]]:
    """Raw byte span of every top-level value of a JSON object line, keyed by the decoded key."""
    spans: dict[str, tuple[int, int]] = {}
    pos = skip_space(line, 0)
    if line[pos:pos + 1] != b"{":
        return spans
    pos += 1
    while True:
        pos = skip_space(line, pos)
        key = _JSON_STRING.match(line, pos)
        if key is None:
            return spans
        pos = skip_space(line, key.end())
        if line[pos:pos + 1] != b":":
            return spans
        start = skip_space(line, pos + 1)
        end = json_skip(line, start)
        spans[json.loads(key.group())] = (start, end)
        pos = skip_space(line, end)
        if line[pos:pos + 1] != b",":
            return spans
        pos += 1


def json_skip(line: bytes, pos: int) -> int:
    """End of the JSON value starting at ``pos`` (strings, nested containers, scalars)."""
    first = line[pos:pos + 1]
    if first == b'"':
        m = _JSON_STRING.match(line, pos)
        return m.end() if m else len(line)
    if first in (b"{", b"["):
        depth = 0
        while pos < len(line):
            c = line[pos:pos + 1]
            if c == b'"':
                m = _JSON_STRING.match(line, pos)
                pos = m.end() if m else len(line)
                continue
            if c in (b"{", b"["):
                depth += 1
            elif c in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return pos
    return _end_of(_JSON_SCALAR, line, pos)


class _JsonlWriter:
    """Copies raw lines and replaces only the changed string values inside changed lines.

    A new value is written in the style of the old one: ``\\u`` escapes if the line was pure
    ASCII (as Python's ``json`` writes), raw UTF-8 otherwise (as orjson writes).
    """

    def __init__(self, source: Source, opts: ReadOptions, encoding: str) -> None:
        self.source, self.opts, self.encoding = source, opts, encoding

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        changed = 0
        with open_bytes(self.source) as raw, compressed(out, self.source) as sink:
            lines = bounded_lines(raw, self.opts.max_record_bytes, self.source.path)
            pending: dict[int, dict[str, tuple[str, str]]] = {}
            number = 0
            for item, new in edited(self.source, self.opts, edit, skipped):
                for row, old, text in changed_cells(item, new):
                    pending.setdefault(row, {})[item.column or ""] = (old, text)
                if item.rows:
                    number, done = self._copy(lines, sink, pending, number, item.rows[0])
                    changed += done
            number, done = self._copy(lines, sink, pending, number, None)
            changed += done
        return changed

    def _copy(self, lines: Iterator[bytes], sink: IO[bytes], pending: dict[int, dict[str, tuple[str, str]]],
              number: int, until: int | None) -> tuple[int, int]:
        return _copy_records(self.source, lines, sink, pending, number, until,
                             lambda line: not line.strip() or line.strip() == codecs.BOM_UTF8, self._splice)

    def _splice(self, line: bytes, number: int, fields: dict[str, tuple[str, str]]) -> bytes:
        bom = codecs.BOM_UTF8 if line.startswith(codecs.BOM_UTF8) else b""
        body = line[len(bom):]
        return bom + splice_json(body, fields, self.source.path, number, self.encoding, body.isascii())


def splice_json(body: bytes, fields: dict[str, tuple[str, str]], path: str, number: int, encoding: str,
                ascii_only: bool) -> bytes:
    """A JSON object's bytes with the named top-level string values replaced by their new text
    (``fields``: key -> (old, new)), written ``\\u``-escaped when *ascii_only* (as Python's
    ``json`` writes), raw otherwise (as orjson writes); every other byte stays."""
    spans = json_value_spans(body)
    out = bytearray()
    last = 0
    for start, end, new in sorted((*spans.get(k, (-1, -1)), v[1]) for k, v in fields.items()):
        if start < 0:
            raise InputError(f"{path}: record {number}: field not found while rewriting")
        out += body[last:start] + json.dumps(new, ensure_ascii=ascii_only).encode(encoding)
        last = end
    out += body[last:]
    return bytes(out)


# -- Parquet ------------------------------------------------------------------------------------


class _ParquetWriter:
    """Rewrites a Parquet file row group by row group, every column it does not edit as it was:
    values (INT96 included), physical types, codecs, row groups, metadata (see
    :mod:`deidlint.parquet_layout`, which also checks the result before it may replace anything)."""

    def __init__(self, source: Source, opts: ReadOptions, encoding: str) -> None:
        self.source, self.opts = source, opts

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from deidlint.parquet_layout import check_same_layout, open_layout

        changes: dict[str, dict[int, str]] = {}
        for item, new in edited(self.source, self.opts, edit, skipped):
            for row, _old, text in changed_cells(item, new):
                changes.setdefault(item.column or "", {})[row] = text
        if not changes:
            return 0
        changed_rows = {row for rows in changes.values() for row in rows}
        layout = open_layout(self.source.path)
        parquet, schema = layout.parquet, layout.schema
        meta = parquet.metadata
        writer = pq.ParquetWriter(out, schema, **layout.writer_options)
        if layout.key_value:
            writer.add_key_value_metadata(layout.key_value)
        with writer:
            start = 0
            for group in range(meta.num_row_groups):
                table = parquet.read_row_group(group).replace_schema_metadata(schema.metadata)
                end = start + table.num_rows
                for column, rows in changes.items():
                    mine = {r - start: t for r, t in rows.items() if start <= r < end}
                    if not mine:
                        continue
                    index = schema.get_field_index(column)
                    values = table.column(index).to_pylist()
                    for r, t in mine.items():
                        values[r] = t
                    table = table.set_column(index, schema.field(index), pa.array(values, schema.field(index).type))
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
                start = end
        check_same_layout(self.source.path, meta, writer.writer.metadata)
        return len(changed_rows)


# -- plain text ---------------------------------------------------------------------------------


class _TxtWriter:
    """One report per file: the whole file is the cell."""

    def __init__(self, source: Source, opts: ReadOptions, encoding: str) -> None:
        self.source, self.opts, self.encoding = source, opts, encoding

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        changed = 0
        for item, new in edited(self.source, self.opts, edit, skipped):
            if new[0] != item.texts[0]:
                with compressed(out, self.source) as sink:
                    sink.write(new[0].encode(self.encoding))
                changed = 1
        return changed
