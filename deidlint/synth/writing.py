"""Writing synthetic datasets in the formats deidlint reads, atomically."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

from deidlint.atomic import atomic_folder, atomic_output
from deidlint.errors import UsageError
from deidlint.synth.report import generate

_FORMATS = ("csv", "tsv", "jsonl", "parquet", "txt")
_COLUMNS = ("study_id", "subject_id", "report", "label")
_PARQUET_BATCH = 8192


def _infer_format(path: Path, fmt: str | None) -> tuple[str, bool]:
    """The output format and whether to gzip it, from ``fmt`` or the file name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    if fmt is None:
        suffix = stem.rpartition(".")[2] if "." in stem else ""
        if suffix in ("csv", "tsv", "jsonl", "parquet"):
            fmt = suffix
        elif not suffix or path.is_dir():
            fmt = "txt"
        else:
            raise UsageError(f"cannot tell the format of {path} from its name (.csv .tsv .jsonl .parquet, .gz, "
                             "or a folder without a suffix)")
    if fmt not in _FORMATS:
        raise UsageError(f"fmt must be one of {_FORMATS}, not {fmt!r}")
    if gz and fmt in ("parquet", "txt"):
        raise UsageError(f"{fmt} output cannot be gzipped")
    return fmt, gz


def _subject_ids(seed: int) -> Iterator[int]:
    """MIMIC-like subject ids: sparse, increasing, several consecutive studies per subject."""
    r = random.Random(seed + 0x5EED).random
    subject = 10000000 + int(r() * 1000)
    while True:
        yield subject
        if r() < 0.65:
            subject += 1 + int(r() * 40)


@contextmanager
def _open_text(handle: IO[bytes], gz: bool) -> Iterator[TextIO]:
    """UTF-8 text without newline translation onto ``handle``, gzipped if asked.

    ``handle`` stays open for :func:`~deidlint.atomic.atomic_output` to fsync and rename. Gzip
    output carries no timestamp or file name, so the same data always gives the same bytes.
    """
    if gz:
        with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as zf, \
                io.TextIOWrapper(zf, encoding="utf-8", newline="") as f:
            yield f  # closing f closes the gzip stream, never the handle under it
        return
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    yield text
    text.flush()
    text.detach()  # leaves the handle open


def write_dataset(path: str | Path, n: int, seed: int = 0, style: str = "mixed",
                  fmt: str | None = None) -> int:
    """Write ``generate(n, seed, style)`` as a dataset; return the number of reports written.

    The format comes from ``fmt`` or the suffix (``.csv``, ``.tsv``, ``.jsonl``, each optionally
    ``.gz``, or ``.parquet``); any other path is a directory in MIMIC-CXR's layout,
    ``files/p10/p10000032/s50000000.txt`` plus ``labels.csv``. Records carry ``study_id``,
    ``subject_id``, ``report`` and ``label``. Reports are streamed, never held all at once, and
    the result appears atomically.
    """
    path = Path(path)
    fmt, gz = _infer_format(path, fmt)
    rows = ((rep.id, subject, rep.text, rep.label)
            for rep, subject in zip(generate(n, seed, style), _subject_ids(seed), strict=False))
    if fmt == "txt":
        with atomic_folder(str(path)) as tmp:
            return _write_txt(Path(tmp), rows)
    with atomic_output(str(path)) as handle:
        if fmt == "parquet":
            return _write_parquet(handle, rows)
        with _open_text(handle, gz) as f:
            if fmt == "jsonl":
                return _write_jsonl(f, rows)
            return _write_csv(f, rows, "\t" if fmt == "tsv" else ",")


_Row = tuple[str, int, str, int]


def _write_csv(f: TextIO, rows: Iterable[_Row], delimiter: str) -> int:
    writer = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_jsonl(f: TextIO, rows: Iterable[_Row]) -> int:
    count = 0
    for row in rows:
        f.write(json.dumps(dict(zip(_COLUMNS, row, strict=True)), ensure_ascii=False))
        f.write("\n")
        count += 1
    return count


def _write_parquet(handle: IO[bytes], rows: Iterable[_Row]) -> int:
    """Parquet in row groups of ``_PARQUET_BATCH``; pyarrow is imported only when needed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("study_id", pa.string()), ("subject_id", pa.int64()),
                        ("report", pa.string()), ("label", pa.int64())])
    count = 0
    with pq.ParquetWriter(handle, schema) as writer:
        rows = iter(rows)
        while batch := list(itertools.islice(rows, _PARQUET_BATCH)):
            columns = [pa.array(column, type=field.type)
                       for column, field in zip(zip(*batch, strict=True), schema, strict=True)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            count += len(batch)
    return count


def _write_txt(root: Path, rows: Iterable[_Row]) -> int:
    """One file per report under ``files/pXX/pSUBJECT/STUDY.txt``, labels in ``labels.csv``."""
    count = 0
    with open(root / "labels.csv", "x", encoding="utf-8", newline="") as labels:
        writer = csv.writer(labels, lineterminator="\n")
        writer.writerow(("study_id", "subject_id", "label"))
        made: set[int] = set()
        for study_id, subject, text, label in rows:
            folder = root / "files" / f"p{str(subject)[:2]}" / f"p{subject}"
            if subject not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made.add(subject)
            with open(folder / f"{study_id}.txt", "x", encoding="utf-8", newline="") as f:
                f.write(text)
            writer.writerow((study_id, subject, label))
            count += 1
    return count


def write_ground_truth(path: str | Path, n: int, seed: int = 0, style: str = "mixed") -> int:
    """Write the spans of ``generate(n, seed, style)`` as JSONL (``.gz`` allowed) for recall.

    One line per report, in dataset order: ``{"study_id", "row", "spans": [[start, end, family,
    kind], ...]}`` with offsets into the report text. Returns the number of lines.
    """
    path = Path(path)
    count = 0
    with atomic_output(str(path)) as handle, _open_text(handle, path.name.lower().endswith(".gz")) as f:
        for row, rep in enumerate(generate(n, seed, style)):
            spans = [[s.start, s.end, s.family, s.kind] for s in rep.spans]
            f.write(json.dumps({"study_id": rep.id, "row": row, "spans": spans}))
            f.write("\n")
            count += 1
    return count
