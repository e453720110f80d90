"""R2Gen's ``annotation.json`` (format ``json``): ``{"train": [...], "val": [...], "test": [...]}``
of ``{"id", "report", "image_path", "split"}`` records, as R2Gen and its successors read them.

The records are numbered from 0 across the splits in file order (``train`` first, as written),
so a finding names ``annotation.json:<row>`` and ``--id-column id`` names the study. A fix
splices each changed string value in place, in the style of the old one (``\\u`` escapes where
the file is ASCII, as Python's ``json.dump`` writes it): the splits, their order, the other
fields and the file's layout stay byte for byte. A ``.json`` file of any other shape is refused
when named and skipped when found in a folder, like a table without text.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO

import orjson

from deidlint.errors import InputError, RecordError
from deidlint.readers import (
    BATCH_ROWS,
    Batch,
    NoTextColumn,
    ReadOptions,
    Source,
    bad_record,
    choose_columns,
    has_space,
    open_bytes,
)
from deidlint.writers import Edit, changed_cells, compressed, edited, json_skip, json_value_spans, skip_space, splice_json

#: One record: its split, its place in the split, and its fields.
_Record = tuple[str, int, dict[str, object]]


def _document(source: Source, limit: int) -> bytes:
    with open_bytes(source) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise NoTextColumn(f"{source.path}: larger than the record size limit; raise --max-record-mb to read it")
    return data


def _records(source: Source, data: bytes) -> list[_Record]:
    """Every record in file order; a file not shaped ``{split: [object, ...]}`` is no annotation file."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NoTextColumn(f"{source.path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not doc or not all(isinstance(v, list) for v in doc.values()):
        raise NoTextColumn(f'{source.path}: not an annotation file ({{"train": [...], "val": [...], "test": [...]}})')
    records = []
    for split, items in doc.items():
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                raise NoTextColumn(f"{source.path}: {split}[{k}] is not an object; an annotation file holds records")
            records.append((split, k, item))
    return records


def read_annotation(source: Source, opts: ReadOptions) -> Iterator[Batch | RecordError]:
    """Batches of an annotation file's text fields, :data:`~deidlint.readers.BATCH_ROWS` records each."""
    records = _records(source, _document(source, opts.max_record_bytes))
    names = list(dict.fromkeys(key for _, _, fields in records for key in fields))
    textual = {key for _, _, fields in records for key, value in fields.items() if has_space(value)}
    columns = choose_columns(source.path, names, textual, opts) if records or opts.columns else []
    for first in range(0, len(records), BATCH_ROWS):
        good: list[tuple[int, dict[str, object]]] = []
        for row, (split, k, fields) in enumerate(records[first:first + BATCH_ROWS], first):
            wrong = next((c for c in columns if fields.get(c) is not None and not isinstance(fields[c], str)), None)
            if wrong is not None:
                yield bad_record(source, row, f"{split}[{k}]: field {wrong!r} is not a string", opts)
            else:
                good.append((row, fields))
        rows = [row for row, _ in good]
        ids = [None if (v := f.get(opts.id_column)) is None else str(v) for _, f in good] if opts.id_column else None
        for column in columns if good else []:
            yield Batch(column, rows, [str(f.get(column) or "") for _, f in good], ids, [source.path] * len(rows))


def _record_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """Byte span of every record object, in file order (the reader has checked the shape)."""
    for start, _ in json_value_spans(data).values():
        pos = start + 1
        while True:
            pos = skip_space(data, pos)
            if data[pos:pos + 1] in (b"]", b""):
                break
            end = json_skip(data, pos)
            yield pos, end
            pos = skip_space(data, end)
            if data[pos:pos + 1] == b",":
                pos += 1


class AnnotationWriter:
    """Rewrites an annotation file with only the changed string values replaced."""

    def __init__(self, source: Source, opts: ReadOptions, encoding: str) -> None:
        self.source, self.opts, self.encoding = source, opts, encoding

    def run(self, out: IO[bytes], edit: Edit, skipped: list[RecordError]) -> int:
        pending: dict[int, dict[str, tuple[str, str]]] = {}
        for item, new in edited(self.source, self.opts, edit, skipped):
            for row, old, text in changed_cells(item, new):
                pending.setdefault(row, {})[item.column or ""] = (old, text)
        if not pending:
            return 0
        raw = _document(self.source, self.opts.max_record_bytes)
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        data = raw[len(bom):]
        pieces, last, changed = [bom], 0, 0
        ascii_only = data.isascii()
        for row, (start, end) in enumerate(_record_spans(data)):
            if row in pending:
                pieces += [data[last:start], splice_json(data[start:end], pending.pop(row), self.source.path, row,
                                                         self.encoding, ascii_only)]
                last, changed = end, changed + 1
        if pending:
            raise InputError(f"{self.source.path}: record {min(pending)} not found while rewriting")
        pieces.append(data[last:])
        with compressed(out, self.source) as sink:
            sink.write(b"".join(pieces))
        return changed
