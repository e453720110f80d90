"""Format-preserving rewriting: only changed cells change, writes are atomic, nothing else moves."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deidlint import synth
from deidlint.errors import InputError, UsageError
from deidlint.outputs import Output, destinations
from deidlint.readers import Batch, ReadOptions, discover, read, source_for
from deidlint.writers import rewrite


def scrub(batch: Batch) -> list[str]:
    """A stand-in fix: every ``___`` becomes ``gone``; other texts come back as the same objects."""
    return [t.replace("___", "gone") if "___" in t else t for t in batch.texts]


def run(path: Path, dest: Path | None, fix: Callable[[Batch], list[str]] = scrub, **opts: object) -> int:
    """Rewrite ``path`` with ``fix`` applied batch by batch (the writers take a stream of batches)."""
    source = source_for(str(path))
    assert source is not None

    def edit(batches: Iterator[Batch]) -> Iterator[tuple[Batch, list[str]]]:
        return ((batch, fix(batch)) for batch in batches)

    return rewrite(source, ReadOptions(**opts), None if dest is None else str(dest), edit).records_changed  # type: ignore[arg-type]


CSV = (
    b'\xef\xbb\xbf"id","report",score,note\r\n'
    b'1,"Seen ___, stable.",1.0,\r\n'
    b'2,No change.,2,""\r\n'
    b'\r\n'
    b'3,"Line one ___\r\nline two ""quoted""",0.50,x\r\n'
    b'4,plain ___ text,3e5,\r\n'
)


def test_csv_changes_only_the_changed_cells(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(CSV)
    out = tmp_path / "out.csv"
    assert run(src, out, columns=("report",)) == 3
    assert out.read_bytes() == CSV.replace(b"___", b"gone")
    assert src.read_bytes() == CSV


def test_csv_quotes_a_new_value_only_when_it_must(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,report\n1,a ___ b\n2,keep\n")
    out = tmp_path / "out.csv"
    run(src, out, lambda b: [t.replace("___", 'x, "y"') for t in b.texts])
    assert out.read_bytes() == b'id,report\n1,"a x, ""y"" b"\n2,keep\n'


@pytest.mark.parametrize(("body", "expected"), [
    # A quote inside an unquoted cell is a character (inches), as pyarrow and the csv module read it.
    (b'id,report\n1,5" tube ___\n2,3" line\n3,x ___\n', b'id,report\n1,"5"" tube gone"\n2,3" line\n3,x gone\n'),
    # An odd number of them does not open a quote that swallows the next records.
    (b'id,report\n1,a"b\n2,c ___\n', b'id,report\n1,a"b\n2,c gone\n'),
    # Text after a closing quote belongs to the cell: "a" b ___ reads as a b ___.
    (b'id,report\n1,"a" b ___\n2,"c"\n', b'id,report\n1,"a b gone"\n2,"c"\n'),
    (b'id\treport\n1\t5" tube ___\n', b'id\treport\n1\t"5"" tube gone"\n'),
])
def test_bare_quotes_are_read_as_the_readers_read_them(tmp_path: Path, body: bytes, expected: bytes) -> None:
    src = tmp_path / ("in.tsv" if b"\t" in body else "in.csv")
    src.write_bytes(body)
    out = tmp_path / ("out" + src.suffix)
    run(src, out, columns=("report",))
    assert out.read_bytes() == expected


def test_tsv_and_two_text_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_bytes(b"findings\timpression\tn\nA ___ b\tC ___\t1\nok\tfine ___\t2\n")
    out = tmp_path / "out.tsv"
    assert run(src, out, columns=("findings", "impression")) == 2
    assert out.read_bytes() == b"findings\timpression\tn\nA gone b\tC gone\t1\nok\tfine gone\t2\n"


def test_large_csv_across_batches_keeps_unchanged_rows_byte_identical(tmp_path: Path) -> None:
    src = tmp_path / "big.csv.gz"
    synth.write_dataset(src, 9000, seed=4, style="mimic")
    out = tmp_path / "out.csv.gz"
    changed = run(src, out)
    before = gzip.decompress(src.read_bytes()).split(b"\n")
    after = gzip.decompress(out.read_bytes()).split(b"\n")
    assert changed > 1000 and len(before) == len(after)
    assert all(a == b for a, b in zip(before, after, strict=True) if b"___" not in a)
    assert all(a == b.replace(b"___", b"gone") for a, b in zip(after, before, strict=True))


def test_nothing_to_fix_gives_a_byte_identical_copy_and_in_place_leaves_the_file_alone(tmp_path: Path) -> None:
    src = tmp_path / "clean.csv"
    src.write_bytes(b"id,report\r\n1,Clear lungs.\r\n")
    stamp = os.stat(src).st_mtime_ns
    out = tmp_path / "copy.csv"
    assert run(src, out) == 0
    assert out.read_bytes() == src.read_bytes()
    assert run(src, src) == 0
    assert os.stat(src).st_mtime_ns == stamp


def test_a_failed_run_leaves_the_input_untouched_and_no_temporary_file(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    synth.write_dataset(src, 9000, seed=4, style="mimic")
    original = src.read_bytes()
    calls = 0

    def failing(batch: Batch) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("interrupted")
        return scrub(batch)

    with pytest.raises(RuntimeError):
        run(src, src, failing)
    assert src.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_in_place_keeps_permissions(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,report\n1,a ___\n")
    src.chmod(0o640)
    run(src, src)
    assert src.read_bytes() == b"id,report\n1,a gone\n"
    assert (src.stat().st_mode & 0o777) == 0o640


def test_new_outputs_get_the_umask_mode_and_replaced_ones_keep_theirs(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,report\n1,a ___\n")
    old_mask = os.umask(0o027)
    try:
        run(src, tmp_path / "new.csv")
        assert ((tmp_path / "new.csv").stat().st_mode & 0o777) == 0o640  # not a temporary file's 0600
        existing = tmp_path / "existing.csv"
        existing.write_bytes(b"")
        existing.chmod(0o604)
        run(src, existing)
        assert existing.read_bytes() == b"id,report\n1,a gone\n" and (existing.stat().st_mode & 0o777) == 0o604
    finally:
        os.umask(old_mask)


def test_jsonl_splices_the_value_and_keeps_the_rest_of_the_line(tmp_path: Path) -> None:
    lines = [
        b'{"id": 1,  "report": "caf\\u00e9 ___", "x": 1.0, "nested": {"report": "___"}}\n',
        b'\n',
        b'{"report":"ok","id":2}\r\n',
        '{"id":3,"report":"naïve ___ \\"q\\"","tags":["a","___"]}\n'.encode(),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(lines))
    out = tmp_path / "out.jsonl"
    assert run(src, out, columns=("report",)) == 2
    got = out.read_bytes().splitlines(keepends=True)
    assert got[0] == b'{"id": 1,  "report": "caf\\u00e9 gone", "x": 1.0, "nested": {"report": "___"}}\n'
    assert got[1:3] == lines[1:3]
    assert got[3] == '{"id":3,"report":"naïve gone \\"q\\"","tags":["a","___"]}\n'.encode()
    assert orjson.loads(got[3])["report"] == 'naïve gone "q"'


def test_parquet_keeps_schema_metadata_row_groups_and_other_columns(tmp_path: Path) -> None:
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "report": ["a ___", "b", "c ___"],
                      "score": pa.array([1.0, None, 2.5])}).replace_schema_metadata({"origin": "test"})
    src = tmp_path / "in.parquet"
    pq.write_table(table, src, row_group_size=2, compression="zstd")
    out = tmp_path / "out.parquet"
    assert run(src, out) == 2
    fixed = pq.ParquetFile(out)
    assert fixed.schema_arrow == pq.ParquetFile(src).schema_arrow
    assert fixed.schema_arrow.metadata == {b"origin": b"test"}
    assert fixed.metadata.num_row_groups == 2
    assert fixed.metadata.row_group(0).column(0).compression == "ZSTD"
    result = fixed.read()
    assert result.column("report").to_pylist() == ["a gone", "b", "c gone"]
    assert result.column("score").equals(table.column("score")) and result.column("id").equals(table.column("id"))


def test_txt_and_gzip_txt(tmp_path: Path) -> None:
    plain = tmp_path / "r.txt"
    plain.write_bytes("Caf\xe9 ___\r\n".encode("latin-1"))
    run(plain, plain, encoding="latin-1")
    assert plain.read_bytes() == "Caf\xe9 gone\r\n".encode("latin-1")
    packed = tmp_path / "r.txt.gz"
    packed.write_bytes(gzip.compress(b"a ___"))
    out = tmp_path / "o.txt.gz"
    run(packed, out)
    assert gzip.decompress(out.read_bytes()) == b"a gone"


def test_dry_run_counts_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(CSV)
    assert run(src, None, columns=("report",)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_parser_disagreement_is_an_error_not_a_corrupt_file(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,report\n1,a ___\n")

    def lying(batch: Batch) -> list[str]:
        batch.texts[0] = "something else"
        return ["new"]

    with pytest.raises(InputError, match="disagree"):
        run(src, tmp_path / "out.csv", lying)
    assert not (tmp_path / "out.csv").exists()


def test_destinations(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.csv", "sub/b.jsonl"):
        (folder / name).write_text("id,report\n")
    single = tmp_path / "one.csv"
    single.write_text("id,report\n")
    out = tmp_path / "out"
    paths = lambda outputs: [o.path for o in outputs]  # noqa: E731
    assert paths(destinations([str(single)], discover([str(single)]), str(tmp_path / "x.csv"), False)) == [
        str(tmp_path / "x.csv")]
    sources = discover([str(folder), str(single)])
    assert destinations([str(folder), str(single)], sources, str(out), False) == [
        Output(str(out / "a.csv"), "csv", False), Output(str(out / "sub" / "b.jsonl"), "jsonl", False),
        Output(str(out / "one.csv"), "csv", False)]
    assert destinations([str(folder), str(single)], sources, str(out), False, "parquet") == [
        Output(str(out / "a.parquet"), "parquet", False), Output(str(out / "sub" / "b.parquet"), "parquet", False),
        Output(str(out / "one.parquet"), "parquet", False)]
    assert paths(destinations([str(single)], discover([str(single)]), None, True)) == [str(single)]
    with pytest.raises(UsageError, match="--in-place"):
        destinations([str(single)], discover([str(single)]), str(single), False)
    assert [b.texts for b in read(discover([str(single)])[0], ReadOptions(columns=("report",)))] == []


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_records_split_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    import deidlint.writers as writers

    monkeypatch.setattr(writers, "_CHUNK", chunk)
    src = tmp_path / "in.csv"
    synth.write_dataset(src, 40, seed=2, style="mimic")
    out = tmp_path / "out.csv"
    run(src, out)
    assert out.read_bytes() == src.read_bytes().replace(b"___", b"gone")


@pytest.mark.parametrize("args", [
    ("fix", "{r}", "-o", "/dev/null"),
    ("fix", "{r}", "-o", "/dev/stdout"),
    ("fix", "{r}", "-o", "{out}", "--stats-json", "/dev/stderr"),
    ("baseline", "{r}", "-o", "/dev/null"),
    ("fix", "{r}", "-o", "{link}"),
    ("fix", "{r}", "-o", "{fifo}"),
])
def test_nothing_but_a_regular_file_is_ever_replaced(tmp_path, args) -> None:
    """As root a rename may replace /dev/null itself; every output is checked before the run."""
    import os
    import stat

    from tests.conftest import run_cli

    r = tmp_path / "r.csv"
    r.write_text("report\nComparison to ___.\n")
    target = tmp_path / "target.csv"
    target.write_text("keep me\n")
    (tmp_path / "link.csv").symlink_to(target)
    os.mkfifo(tmp_path / "fifo.csv")
    names = {"r": str(r), "out": str(tmp_path / "out.csv"), "link": str(tmp_path / "link.csv"),
             "fifo": str(tmp_path / "fifo.csv")}
    result = run_cli(*(a.format(**names) for a in args))
    assert result.returncode == 2 and "refusing to replace" in result.stderr and "Traceback" not in result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert (tmp_path / "link.csv").is_symlink() and target.read_text() == "keep me\n"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.csv").st_mode)
    assert not (tmp_path / "out.csv").exists()  # refused before anything was written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.csv", "link.csv", "r.csv", "target.csv"]


def test_in_place_over_several_files_is_all_or_nothing(tmp_path) -> None:
    """A bad byte in the second file leaves the first as it was: outputs appear together."""
    from tests.conftest import run_cli

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("report\nComparison to ___. Heart normal.\n")
    b.write_bytes(b"report\nSince ___ \xff stable.\n")
    before = a.read_bytes()
    result = run_cli("fix", str(a), str(b), "--in-place")
    assert result.returncode == 2 and "b.csv" in result.stderr
    assert a.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # no temporary file left
    assert run_cli("fix", str(a), "--in-place").returncode == 0 and a.read_bytes() != before


def test_an_input_that_changed_while_it_was_read_is_never_replaced(tmp_path) -> None:
    """Rows appended after the read would be lost by the rename: the transaction refuses."""
    from deidlint.atomic import Transaction, atomic_output
    from deidlint.errors import InputError

    source = tmp_path / "r.csv"
    source.write_text("report\nComparison to ___.\n")
    transaction = Transaction()
    transaction.watch(str(source))
    with atomic_output(str(source), like=str(source), transaction=transaction) as handle:
        handle.write(b"report\nfixed\n")
    with source.open("a") as grow:
        grow.write("Dr. ___ was paged.\n")
    with pytest.raises(InputError, match="changed while fix was reading it"):
        transaction.commit()
    transaction.abort()
    assert source.read_text().endswith("Dr. ___ was paged.\n")
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_a_killed_run_leaves_temporaries_that_the_next_run_names(tmp_path) -> None:
    """SIGKILL cannot be cleaned up after; the stale file may hold report text, so it is named."""
    from tests.conftest import run_cli

    r = tmp_path / "r.csv"
    r.write_text("report\nComparison to ___.\n")
    stale = tmp_path / ".out.csv.abc123.tmp"
    stale.write_text("report\npartly fixed\n")
    result = run_cli("fix", str(r), "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0 and f"{stale} was left by an interrupted run" in result.stderr


def test_in_place_refuses_a_hard_linked_file_and_follows_a_symlink(tmp_path) -> None:
    import os

    from tests.conftest import run_cli

    r = tmp_path / "r.csv"
    r.write_text("report\nComparison to ___. Heart normal.\n")
    os.link(r, tmp_path / "other.csv")
    result = run_cli("fix", str(r), "--in-place")
    assert result.returncode == 2 and "2 hard links" in result.stderr and "___" in r.read_text()
    os.unlink(tmp_path / "other.csv")
    link = tmp_path / "link.csv"
    link.symlink_to(r)
    assert run_cli("fix", str(link), "--in-place").returncode == 0
    assert link.is_symlink() and "___" not in r.read_text()


def _spark_like_parquet(path: Path) -> None:
    """A file as Spark or Impala writes it: INT96 timestamps (one past 2262, where nanoseconds
    overflow), decimals stored as INT32, a codec per column, several row groups, its own
    key-value metadata and no pyarrow schema."""
    import datetime
    import decimal

    table = pa.table({
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "taken": pa.array([datetime.datetime(3000, 1, 1), datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
                           None, datetime.datetime(1600, 6, 1), datetime.datetime(2020, 2, 29)], pa.timestamp("us")),
        "cost": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50"), decimal.Decimal("0.01"),
                          decimal.Decimal("99.99")], pa.decimal128(6, 2)),
        "report": ["Compared with ___.", "No change.", "Seen by Dr. ___ today.", "Stable.", "Called ___ at noon."],
    })
    writer = pq.ParquetWriter(path, table.schema, use_deprecated_int96_timestamps=True, store_schema=False,
                              store_decimal_as_integer=True, use_dictionary=["report"],
                              compression={"id": "zstd", "taken": "gzip", "cost": "none", "report": "snappy"})
    writer.add_key_value_metadata({"org.apache.spark.version": "3.5.0", "origin": "test"})
    with writer:
        writer.write_table(table, row_group_size=2)


def _untouched(path: Path) -> tuple[object, ...]:
    """Everything about the columns fix does not edit: values read without INT96 overflow,
    and per row group each column chunk's physical type, codec and encodings."""
    parquet = pq.ParquetFile(path, coerce_int96_timestamp_unit="us")
    meta = parquet.metadata
    chunks = [(c.path_in_schema, c.physical_type, c.compression, sorted(c.encodings), c.num_values)
              for g in range(meta.num_row_groups) for c in map(meta.row_group(g).column, range(meta.num_columns))
              if c.path_in_schema != "report"]
    values = parquet.read(columns=["id", "taken", "cost"]).to_pydict()
    return values, chunks, meta.num_row_groups, [meta.row_group(g).num_rows for g in range(meta.num_row_groups)], \
        meta.metadata, meta.format_version, str(meta.schema).split("\n", 1)[1]


@pytest.mark.parametrize("in_place", [False, True])
def test_parquet_fix_keeps_untouched_columns_exactly(tmp_path: Path, in_place: bool) -> None:
    """INT96 3000-01-01 came back as 1830-11-23 and every codec became the first column's (issue 15, 2)."""
    import datetime

    from tests.conftest import run_cli

    src = tmp_path / "in.parquet"
    _spark_like_parquet(src)
    before = _untouched(src)
    assert before[0]["taken"][0] == datetime.datetime(3000, 1, 1)
    out = src if in_place else tmp_path / "out.parquet"
    result = run_cli("fix", str(src), *(["--in-place"] if in_place else ["-o", str(out)]), "-j", "1")
    assert result.returncode == 0, result.stderr
    assert _untouched(out) == before
    assert "___" not in "".join(pq.read_table(out, columns=["report"]).column("report").to_pylist())


def test_parquet_rewrite_refuses_a_layout_it_did_not_reproduce(tmp_path: Path) -> None:
    """A setting pyarrow cannot write again (INT96 beside INT64 timestamps, a codec per row group)
    is caught by comparing metadata before the rename: an error, never a silent change."""
    from deidlint.parquet_layout import check_same_layout

    table = pa.table({"id": pa.array([1, 2], pa.int64()), "report": ["x ___", "y"]})
    pq.write_table(table, tmp_path / "a.parquet", compression="gzip")
    pq.write_table(table, tmp_path / "b.parquet", compression="zstd")
    a, b = pq.read_metadata(tmp_path / "a.parquet"), pq.read_metadata(tmp_path / "b.parquet")
    check_same_layout("a.parquet", a, a)
    with pytest.raises(InputError, match="without changing column 'id' .*GZIP would become INT64 ZSTD.*nothing was written"):
        check_same_layout("a.parquet", a, b)
