"""Bad input battery: every way a dataset can be broken gives one line on stderr and exit 2.

Each case is driven through the command line as a user or CI job would run it. The contract
(issue 6): a one-line ``deidlint: error: ...`` and exit 2, never a traceback, and the input is
never modified; or, for one bad record in a file, with ``--on-error skip``, a finding-style
error for that record while every other record is still checked.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deidlint import readers
from deidlint.checking import Check
from deidlint.cli import main
from deidlint.engine import Scanner
from deidlint.errors import InputError, RecordError
from deidlint.readers import ReadOptions, Source
from deidlint.rules import all_rules, load_packs
from tests.conftest import REPO, run_cli

HEADER = b"id,report\n"
BAD_BYTE = 0xE9  # latin-1 'é', never valid alone in UTF-8


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> str:
    """Assert the error contract and return the message."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deidlint: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _check(path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``deidlint check`` on *path* in a fresh interpreter, asserting the file is left as it was."""
    before = _snapshot(path) if path.is_file() else None
    result = run_cli("check", str(path), *args, cwd=cwd)
    if before is not None:
        assert _snapshot(path) == before, "the input was modified"
    return result


def _run(path: Path, *args: str) -> tuple[int, str, str]:
    """``deidlint check`` on *path* in this process: exit code, stdout, stderr (input unchanged).

    Faster than a fresh interpreter; used where the output is what is checked, while the
    fresh-interpreter contract (exit code, one line, no traceback) is covered by :func:`_check`.
    """
    before = _snapshot(path) if path.is_file() else None
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(path), *args])
    if before is not None:
        assert _snapshot(path) == before, "the input was modified"
    return code, out.getvalue(), err.getvalue()


def _json(path: Path, *args: str) -> dict:
    code, out, err = _run(path, *args, "--format", "json")
    assert code in (0, 1), err
    return orjson.loads(out)


def _error(path: Path, *args: str) -> str:
    """The one-line error of an in-process run that must fail with exit 2."""
    code, out, err = _run(path, *args)
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("deidlint: error: "), (code, err)
    return err.strip()


# -- CSV structure ----------------------------------------------------------------------------


def test_unclosed_quote_in_the_last_column(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b'1,"Comparison to ___.\n2,Dr. ___ was paged.\n3,Seen on ___ again.\n')
    _one_line_error(_check(path), "r.csv:0: line 2:", "never closed")
    doc = _json(path, "--on-error", "skip")
    # The bad record is reported; reading resumes on its second line, so records 1 and 2 are found.
    assert doc["errors"] == [{"path": str(path), "record": 0, "error": "line 2: a quote opened in this record is never closed"}]
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [(1, 4), (2, 8)]


def test_unclosed_quote_in_a_middle_column(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b'id,report,site\n1,"Dr. ___ was paged.,A\n2,Seen on ___ again.,B\n')
    _one_line_error(_check(path, "--column", "report"), "line 2", "never closed")
    doc = _json(path, "--column", "report", "--on-error", "skip")
    assert [e["record"] for e in doc["errors"]] == [0]
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [(1, 8)]


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"1,Dr. ___ was paged.\n2,extra,field ___\n3,Seen on ___ again.\n")
    _one_line_error(_check(path), "r.csv:1: line 3: expected 2 fields, found 3")
    doc = _json(path, "--on-error", "skip")
    assert [e["record"] for e in doc["errors"]] == [1]
    assert [f["record"] for f in doc["findings"]] == [0, 2]


def test_a_quote_inside_an_unquoted_field_is_text(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b'1,a 5" nodule near ___\n2,"quoted, with comma ___"\n')
    doc = _json(path)
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [
        (0, 'a 5" nodule near ___'.index("___")), (1, "quoted, with comma ___".index("___"))]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"")
    _one_line_error(_check(path), "empty file")


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER)
    result = _check(path)
    assert result.returncode == 0 and "0 records" in result.stdout, result.stderr
    # No data to sample, but a misspelled column is still caught.
    _one_line_error(_check(path, "--column", "reprot"), "no column 'reprot'; did you mean 'report'?")


def test_duplicate_header_names(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"report,report\na ___,b\n")
    _one_line_error(_check(path), "duplicate column names")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_missing_or_misspelled_column_suggests_the_closest(tmp_path: Path, fmt: str) -> None:
    rows = [{"study_id": "s1", "report": "Dr. ___ was paged."}]
    path = tmp_path / f"r.{fmt}"
    if fmt == "jsonl":
        path.write_bytes(orjson.dumps(rows[0]) + b"\n")
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        sep = "\t" if fmt == "tsv" else ","
        path.write_text(f"study_id{sep}report\ns1{sep}Dr. ___ was paged.\n")
    _one_line_error(_check(path, "--column", "reports"), "no column 'reports'; did you mean 'report'?")
    assert "no column 'study-id'; did you mean 'study_id'?" in _error(path, "--id-column", "study-id")
    assert "no column 'zzz'; columns are: study_id, report" in _error(path, "--column", "zzz")


def test_no_text_column(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"id,score\n1,0.5\n2,0.7\n")
    _one_line_error(_check(path), "no text column found; name one with --column")


# -- encodings --------------------------------------------------------------------------------


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    data = HEADER + b"1,Dr. ___ was paged.\n2,caf\xe9 ___ au lait\n3,Seen on ___ again.\n"
    path.write_bytes(data)
    _one_line_error(_check(path), f"r.csv:1: line 3: invalid utf-8 at byte {data.index(BAD_BYTE)}", "--encoding")
    doc = _json(path, "--on-error", "skip")
    assert [e["record"] for e in doc["errors"]] == [1]
    assert [f["record"] for f in doc["findings"]] == [0, 2]
    # The override reads the byte as latin-1 and finds all three.
    doc = _json(path, "--encoding", "latin-1")
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [(0, 4), (1, 5), (2, 8)]


def test_invalid_utf8_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"id,r\xe9port\n1,Dr. ___ was paged.\n")
    _one_line_error(_check(path), "cannot read the header: invalid utf-8 at byte 4")


def test_invalid_utf8_offset_counts_multibyte_text_before_it(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    data = HEADER + "1,\u00e9t\u00e9 \u2014 ___\n".encode() + b'2,"two\nlines \xff ___"\n'
    path.write_bytes(data)
    _one_line_error(_check(path), f"line 3: invalid utf-8 at byte {data.index(0xFF)}")


def test_unknown_encoding(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"1,Dr. ___ was paged.\n")
    _one_line_error(_check(path, "--encoding", "utf-9"), "unknown encoding 'utf-9'")


def test_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + b"a1,Dr. ___ was paged.\n")
    doc = _json(path, "--id-column", "id")
    assert [(f["id"], f["start"]) for f in doc["findings"]] == [("a1", 4)]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({"id": "a1", "report": "Dr. ___ was paged."}) + b"\n")
    doc = _json(jsonl, "--id-column", "id")
    assert [(f["id"], f["start"]) for f in doc["findings"]] == [("a1", 4)]


def test_utf16_csv_with_encoding_flag(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("id,report\n1,Dr. ___ was paged.\n".encode("utf-16"))
    doc = _json(path, "--encoding", "utf-16")
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [(0, 4)]


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        orjson.dumps({"report": "Dr. ___ was paged."}),
        b'{"report": "caf\xe9 ___"}',
        b'{"report": "not closed',
        b"[1, 2]",
        orjson.dumps({"report": 42}),
        orjson.dumps({"report": "Seen on ___ again."}),
    ]
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    _one_line_error(_check(path), f"r.jsonl:1: line 2: invalid utf-8 at byte {data.index(BAD_BYTE)}")
    doc = _json(path, "--on-error", "skip")
    errors = {e["record"]: e["error"] for e in doc["errors"]}
    assert sorted(errors) == [1, 2, 3, 4]
    assert errors[2].startswith("line 3: invalid JSON")
    assert errors[3] == "line 4: a JSONL line must hold an object"
    assert errors[4] == "line 5: field 'report' is not a string"
    assert [f["record"] for f in doc["findings"]] == [0, 5]
    # --encoding applies to JSONL too.
    doc = _json(path, "--encoding", "latin-1", "--on-error", "skip")
    assert [f["record"] for f in doc["findings"]] == [0, 1, 5]


def test_txt_folder_with_one_undecodable_report(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "s1.txt").write_bytes(b"Dr. ___ was paged.")
    (folder / "s2.txt").write_bytes(b"caf\xe9 ___")
    (folder / "s3.txt").write_bytes(b"Seen on ___ again.")
    _one_line_error(_check(folder), "s2.txt:0: invalid utf-8 at byte 3")
    doc = _json(folder, "--on-error", "skip")
    assert [Path(e["path"]).name for e in doc["errors"]] == ["s2.txt"]
    assert [Path(f["path"]).name for f in doc["findings"]] == ["s1.txt", "s3.txt"]


# -- line endings, NUL, huge fields ------------------------------------------------------------


def test_crlf_lone_cr_and_mixed_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b'id,report\r\n1,Dr. ___ was paged.\r\n2,"two\r\nlines ___"\n3,old mac ___\r4,unix ___\n')
    doc = _json(path)
    assert [(f["record"], f["start"], f["line"]) for f in doc["findings"]] == [(0, 4, 1), (1, 11, 2), (2, 8, 1), (3, 5, 1)]
    result = _check(path, "--format", "github")
    assert [line.split(",")[1] for line in result.stdout.splitlines() if line.startswith("::error")] == [
        "line=2", "line=4", "line=5", "line=6"]


def test_nul_bytes_inside_cells(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"1,a\x00___\x00b\n2,\x00\n3,___\x00\n")
    doc = _json(path, "--column", "report")
    assert [(f["record"], f["start"], f["end"], f["marker"]) for f in doc["findings"]] == [(0, 2, 5, "___"), (2, 0, 3, "___")]


def test_field_larger_than_the_csv_module_default_limit(tmp_path: Path) -> None:
    big = "word " * 60_000 + "___"  # 300 kB, above the csv module's default 128 KiB field limit
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + f'1,"{big}"\n2,Dr. ___ was paged.\n'.encode())
    result = _check(path, "--format", "github")  # github output maps records to lines with the csv module
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert [line.split(",")[1] for line in result.stdout.splitlines() if line.startswith("::error")] == [
        "line=2", "line=3"]
    # A bad byte later in the file sends it through the csv module: the big field still reads.
    path.write_bytes(HEADER + f'1,"{big}"\n2,caf\xe9 ___\n'.encode("latin-1"))
    doc = _json(path, "--on-error", "skip")
    assert [(f["record"], f["start"]) for f in doc["findings"]] == [(0, len(big) - 3)]
    assert [e["record"] for e in doc["errors"]] == [1]


def test_bad_record_in_a_later_block_of_a_large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow has handed out earlier blocks when it meets the bad record; the csv module goes on
    from there, so every good record is checked exactly once."""
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1 << 12)
    rows = [f'{i},"Report {i}: compared to ___,\nstable."\n'.encode() for i in range(400)]
    rows[333] = b"333,caf\xe9 ___\n"
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"".join(rows))
    check = Check([Source(str(path), "csv")], Scanner(all_rules(load_packs())), ReadOptions(on_error="skip"))
    items = list(check)
    assert [(i.record, i.reason.split(":")[0]) for i in items if isinstance(i, RecordError)] == [(333, "line 668")]
    assert sorted(i.record for i in items if not isinstance(i, RecordError)) == [i for i in range(400) if i != 333]
    assert check.summary.records == 400
    with pytest.raises(InputError, match=r"r.csv:333: line 668: invalid utf-8 at byte"):
        list(Check([Source(str(path), "csv")], Scanner(all_rules(load_packs())), ReadOptions()))


# -- other formats ----------------------------------------------------------------------------


def test_parquet_without_a_string_column(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"id": [1, 2], "score": [0.5, 0.7]}), path)
    _one_line_error(_check(path), "Parquet file has no string column")
    assert "column 'score' is not a string column" in _error(path, "--column", "score")


def test_corrupt_parquet(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"report": ["Dr. ___ was paged."] * 1000}), good)
    data = good.read_bytes()
    broken = tmp_path / "r.parquet"
    broken.write_bytes(data[: len(data) // 2])
    _one_line_error(_check(broken), "r.parquet: not a readable Parquet file")
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(data[:4] + bytes(range(256)) * 8 + data[-8:])  # valid magic, nonsense inside
    _one_line_error(_check(garbage), "g.parquet:")


@pytest.mark.parametrize("name", ["r.csv.gz", "r.jsonl.gz", "r.txt.gz"])
def test_corrupt_and_truncated_gzip(tmp_path: Path, name: str) -> None:
    body = HEADER + b"1,Dr. ___ was paged.\n" * 2000 if ".csv" in name else b'{"report": "Dr. ___ was paged."}\n' * 2000
    path = tmp_path / name
    path.write_bytes(b"not gzip at all, just text ___\n")
    _one_line_error(_check(path), name)
    path.write_bytes(gzip.compress(body)[:-200])
    _one_line_error(_check(path), name)


def test_folder_with_binary_files_and_symlink_loops(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    (folder / "reports.csv").write_bytes(HEADER + b"1,Dr. ___ was paged.\n")
    (folder / "scan.png").write_bytes(bytes(range(256)) * 64)
    (folder / "nested" / "blob.bin").write_bytes(os.urandom(4096))
    (folder / "nested" / "loop").symlink_to(folder, target_is_directory=True)  # a directory cycle
    (folder / "self.csv").symlink_to(folder / "self.csv")  # a link to itself
    (folder / "a.csv").symlink_to(folder / "b.csv")
    (folder / "b.csv").symlink_to(folder / "a.csv")  # two links that point at each other
    result = run_cli("check", str(folder), "--format", "json")
    assert result.returncode == 1 and not result.stderr, result.stderr
    doc = orjson.loads(result.stdout)
    assert [Path(f["path"]).name for f in doc["findings"]] == ["reports.csv"]
    assert doc["summary"]["files"] == 1


def test_binary_file_with_a_text_suffix(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    _one_line_error(_check(path), "r.csv", "invalid utf-8 at byte")


def test_missing_path_and_unsupported_suffix(tmp_path: Path) -> None:
    _one_line_error(_check(tmp_path / "nope.csv"), "nope.csv: no such file or directory")
    other = tmp_path / "r.xlsx"
    other.write_bytes(b"PK\x03\x04")
    _one_line_error(_check(other), "r.xlsx: unsupported file type")


def _without_root_file_access() -> None:
    """In the child before exec: drop the capabilities that let root read any file.

    CI runners are not root, so ``chmod 000`` alone makes a file unreadable there; as root (as in
    containers) the capabilities are dropped from the bounding set, so the run obeys permissions.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "r.csv"
    secret.write_bytes(HEADER + b"1,Dr. ___ was paged.\n")
    secret.chmod(0)
    inner = tmp_path / "folder"
    inner.mkdir()
    (inner / "ok.csv").write_bytes(HEADER + b"1,Dr. ___ was paged.\n")
    locked = inner / "locked.csv"
    locked.write_bytes(HEADER + b"1,Dr. ___ was paged.\n")
    locked.chmod(0)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0)
    root = os.geteuid() == 0
    for target, fragment in ((secret, "r.csv: permission denied"), (inner, "locked.csv: Permission denied"),
                             (closed, "closed: Permission denied")):
        try:
            result = subprocess.run([sys.executable, "-m", "deidlint", "check", str(target)], capture_output=True,
                                    text=True, cwd=REPO, timeout=120,
                                    preexec_fn=_without_root_file_access if root else None)
        except subprocess.SubprocessError as exc:
            pytest.skip(f"cannot drop root's file access here ({exc}); permissions cannot be tested as root")
        _one_line_error(result, fragment)
    assert secret.stat().st_mode & 0o777 == 0 and locked.stat().st_mode & 0o777 == 0


def test_a_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    """A folder named like a data file is searched as a folder, not opened as a file."""
    odd = tmp_path / "reports.csv"
    odd.mkdir()
    (odd / "inner.jsonl").write_bytes(b'{"report": "Dr. ___ was paged."}\n')
    doc = _json(odd)
    assert [Path(f["path"]).name for f in doc["findings"]] == ["inner.jsonl"]


# -- signals ----------------------------------------------------------------------------------


def _long_check(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A check that is under way when this returns, and cannot finish before its output is read:
    its findings (megabytes) fill the pipe, which nobody drains until the signal has been sent."""
    path = tmp_path / "big.csv"
    row = b'1,"Comparison to ___. Dr. ___ was paged at 4:05 p.m. on ___.\nLungs clear."\n'
    path.write_bytes(HEADER + row * 50_000)
    proc = subprocess.Popen([sys.executable, "-m", "deidlint", "check", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    proc.stdout.readline()  # the first finding: the scan is under way
    return proc, path


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signal_during_check(tmp_path: Path, sig: signal.Signals, code: int, word: str) -> None:
    proc, path = _long_check(tmp_path)
    before = _snapshot(path)
    started = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines() == [f"deidlint: {word}"], err
    assert time.monotonic() - started < 30
    assert _snapshot(path) == before


# -- fix: outputs that cannot be written, interruptions ---------------------------------------

FIXABLE = HEADER + b'1,"Comparison to ___.\nDr. ___ was paged at 4:05 p.m. on ___."\n2,No acute process.\n'


def _leftovers(folder: Path) -> list[str]:
    """Temporary files a fix left behind (the atomic writer names them .<name>.<random>.tmp)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("case", ["unclosed-quote", "invalid-utf8", "empty", "wrong-fields"])
def test_fix_refuses_bad_input_without_writing(tmp_path: Path, case: str) -> None:
    data = {"unclosed-quote": HEADER + b'1,"Dr. ___ was paged.\n2,x ___\n',
            "invalid-utf8": HEADER + b"1,caf\xe9 ___\n", "empty": b"",
            "wrong-fields": HEADER + b"1,a,Dr. ___\n"}[case]
    path, out = tmp_path / "r.csv", tmp_path / "out"
    path.write_bytes(data)
    before = _snapshot(path)
    _one_line_error(run_cli("fix", str(path), "-o", str(out / "r.csv")))
    code, _, err = _run_fix(path, "--in-place")
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("deidlint: error: "), err
    assert _snapshot(path) == before
    assert not out.exists() or not any(out.iterdir())
    assert _leftovers(tmp_path) == []


def test_fix_skips_a_bad_record_and_copies_it_verbatim(tmp_path: Path) -> None:
    path, out = tmp_path / "r.csv", tmp_path / "out.csv"
    bad = b"2,caf\xe9 ___ au lait\n"
    path.write_bytes(HEADER + b"1,Dr. ___ was paged.\n" + bad + b"3,Seen on ___ again.\n")
    code, _, err = _run_fix(path, "-o", str(out), "--on-error", "skip", "--stats-json", str(tmp_path / "s.json"))
    assert code == 1, err  # the skipped record still holds its trace: reported, and the run fails as check's would
    assert f"{path}:1: " in err and "copied unchanged" in err
    assert json.loads((tmp_path / "s.json").read_text())["skipped_records"] == 1
    fixed = out.read_bytes()
    assert bad in fixed and b"Dr. ___" not in fixed and b"on ___" not in fixed


def _run_fix(path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fix", str(path), *args])
    return code, out.getvalue(), err.getvalue()


def test_fix_output_folder_not_writable(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(FIXABLE)
    before = _snapshot(path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    root = os.geteuid() == 0
    # The output named, not the input or a temporary file; a missing folder is never created.
    for dest, why in ((locked / "r.csv", f"{locked / 'r.csv'}: Permission denied"),
                      (locked / "sub" / "r.csv", f"the folder {locked / 'sub'} does not exist")):
        result = subprocess.run([sys.executable, "-m", "deidlint", "fix", str(path), "-o", str(dest)],
                                capture_output=True, text=True, cwd=REPO, timeout=120,
                                preexec_fn=_without_root_file_access if root else None)
        _one_line_error(result, why)
    assert list(locked.iterdir()) == []
    assert _snapshot(path) == before


class _FullDisk:
    """A file object whose writes fail with ENOSPC once *room* bytes are written, as on a full disk."""

    def __init__(self, handle: io.BufferedWriter, room: int) -> None:
        self._handle, self._room = handle, room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.mark.parametrize("where", ["write", "fsync"])
@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_fix_disk_full_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, mode: str) -> None:
    """The disk fills mid-write (or at the final fsync): one line, exit 2, the destination and
    the input as they were, no temporary file left behind."""
    from deidlint import atomic

    path = tmp_path / "r.csv"
    path.write_bytes(FIXABLE + b"".join(b"%d,Seen on ___ again.\n" % i for i in range(3, 3000)))
    before = _snapshot(path)
    dest = tmp_path / "out.csv"
    dest.write_bytes(b"an earlier output\n")
    if where == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(atomic.os, "fdopen", lambda fd, *a, **k: _FullDisk(real_fdopen(fd, *a, **k), 4096))
    else:
        def no_room(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(atomic.os, "fsync", no_room)
    code, _, err = _run_fix(path, *([mode, str(dest)] if mode == "-o" else [mode]))
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("deidlint: error: ")
    assert f"{dest if mode == '-o' else path}: No space left on device" in err
    assert _snapshot(path) == before
    assert dest.read_bytes() == b"an earlier output\n"
    assert _leftovers(tmp_path) == []


def _fix_under_way(tmp_path: Path, *args: str, rows: int = 3000) -> tuple[subprocess.Popen[str], Path, Path]:
    """A ``fix --diff`` blocked mid-write: its diff fills the pipe nobody reads, while its
    temporary output exists. Returns the process (a session leader, so that a test can signal
    its whole process group as a terminal does), the input and the output folder."""
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"".join(b'%d,"Comparison to ___.\nDr. ___ was paged at 4:05 p.m. on ___."\n' % i
                                       for i in range(rows)))
    out = tmp_path / "out"
    out.mkdir()
    dest = [a for a in args if a != "--jobs=2"] or ["-o", str(out / "r.csv")]
    jobs = ["--jobs", "2"] if "--jobs=2" in args else []
    proc = subprocess.Popen([sys.executable, "-m", "deidlint", "fix", str(path), "--diff", *jobs, *dest],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
    folder = path.parent if "--in-place" in args else out
    deadline = time.monotonic() + 120
    while not _leftovers(folder):
        assert proc.poll() is None and time.monotonic() < deadline, "fix ended before writing"
        time.sleep(0.05)
    return proc, path, out


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_signal_during_fix_cleans_up(tmp_path: Path, sig: signal.Signals, code: int, word: str, mode: str) -> None:
    proc, path, out = _fix_under_way(tmp_path, *([] if mode == "-o" else [mode]))
    before = path.read_bytes()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines() == [f"deidlint: {word}"], err
    assert path.read_bytes() == before
    assert _leftovers(out) == [] and _leftovers(path.parent) == [] and list(out.iterdir()) == []


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (worker processes and their forkserver), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                parents[int(entry)] = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found.update(children)
        todo += children
    return found


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
@pytest.mark.parametrize("group", [False, True], ids=["process", "process-group"])
def test_signal_during_a_fix_with_workers(tmp_path: Path, sig: signal.Signals, code: int, word: str, group: bool) -> None:
    """With worker processes (four batches, --jobs 2): the same clean exit, and no process left
    behind, whether the signal reaches the main process only or, as Ctrl-C in a terminal does,
    every process of the group."""
    proc, path, out = _fix_under_way(tmp_path, "--jobs=2", rows=13_000)
    before = path.read_bytes()
    deadline = time.monotonic() + 60
    while not (workers := _descendants(proc.pid)):
        assert time.monotonic() < deadline, "no worker processes started"
        time.sleep(0.05)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.splitlines() == [f"deidlint: {word}"], err
    assert path.read_bytes() == before
    assert _leftovers(out) == [] and list(out.iterdir()) == []
    deadline = time.monotonic() + 30
    while alive := [pid for pid in workers if _running(pid)]:
        assert time.monotonic() < deadline, f"worker processes outlived the fix: {alive}"
        time.sleep(0.1)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for init to reap it is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["-o", "--in-place"])
def test_sigkill_during_fix_leaves_the_input_intact(tmp_path: Path, mode: str) -> None:
    """SIGKILL cannot be caught: nothing can clean up, but the input (and any destination) is
    untouched, because the output only ever replaces it by an atomic rename after fsync."""
    proc, path, out = _fix_under_way(tmp_path, *([] if mode == "-o" else [mode]))
    before = _snapshot(path)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(path) == before
    assert not (out / "r.csv").exists()
    # Only the hidden temporary file is left, never a half-written file under the real name.
    assert sorted(p.name for p in (out if mode == "-o" else path.parent).iterdir() if not p.name.startswith(".")) == (
        [] if mode == "-o" else ["out", "r.csv"])


def test_fix_lone_cr_line_endings(tmp_path: Path) -> None:
    path, out = tmp_path / "r.csv", tmp_path / "out.csv"
    path.write_bytes(b"id,report\r1,Dr. ___ was paged.\r2,fine\r3,Seen on ___ again.\r")
    code, _, err = _run_fix(path, "-o", str(out))
    assert code in (0, 1), err
    assert out.read_bytes().count(b"\r") == 4 and b"___" not in out.read_bytes()


def test_skipped_records_alone_still_fail_the_run(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER + b"1,no trace here\n2,extra,field\n")
    code, out, err = _run(path, "--on-error", "skip", "--format", "json")
    assert code == 1, err
    doc = orjson.loads(out)
    assert doc["findings"] == [] and [e["record"] for e in doc["errors"]] == [1]


def test_file_names_cannot_forge_findings_or_break_xml(tmp_path: Path) -> None:
    """A newline in a file name forged a whole finding line in text output; a control character
    made JUnit invalid XML. Names are escaped wherever they are printed."""
    import xml.etree.ElementTree as ET

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "x\nfake.txt:0:-:1: DL999 forged\x01.txt").write_text("Comparison to ___.\n")
    text = run_cli("check", str(folder))
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert len(lines) == 3 and "DL104" in lines[0] and "\\n" in lines[0] and "\\x01" in lines[0], lines
    assert lines[1:] == ["Found 1 trace in 1 of 1 records (1 file).", "1 fixable with 'deidlint fix'."]
    assert not any(line.startswith("fake.txt") for line in lines)
    junit = run_cli("check", str(folder), "--format", "junit")
    suite = ET.fromstring(junit.stdout).find("testsuite")
    assert suite is not None and "\\x01" in suite.get("name", "")


# -- issue 15: what a sample of the first rows would miss -------------------------------------


def _late_text_table(rows: int = 1_000) -> dict[str, list[str]]:
    """*rows* records with empty reports and addenda, then ten with a trace in each."""
    ids = [f"s{i}" for i in range(rows + 10)]
    reports = [""] * rows + [f"Compared with ___ on day {i}." for i in range(10)]
    addenda = [""] * rows + [f"Discussed with Dr. ___ {i}." for i in range(10)]
    return {"id": ids, "report": reports, "addendum": addenda}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_text_columns_are_found_past_the_first_thousand_rows(tmp_path: Path, fmt: str) -> None:
    """Columns were chosen from the first 1,000 rows: empty reports there meant 'no text column'
    and exit 0, and a late addendum was never scanned (issue 15, item 3)."""
    table = _late_text_table()
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        path.write_text("id,report,addendum\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(*table.values(), strict=True)))
    elif fmt == "jsonl":
        rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
        rows[-1]["late_key"] = "Seen by ___ again."  # a key that first appears in the last line
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    else:
        pq.write_table(pa.table(table), path, row_group_size=256)
    doc = _json(path)
    columns = sorted({f["column"] for f in doc["findings"]})
    assert columns == (["addendum", "late_key", "report"] if fmt == "jsonl" else ["addendum", "report"])
    assert len(doc["findings"]) == 20 + (fmt == "jsonl")
    assert {f["record"] for f in doc["findings"]} == set(range(1_000, 1_010))


def test_a_headerless_csv_is_refused_without_echoing_its_first_report(tmp_path: Path) -> None:
    """The first report became the column name and appeared in every finding (issue 15, item 4)."""
    path = tmp_path / "r.csv"
    path.write_text("Compared with ___ there is no change.\nHeart size normal, seen by Dr. ___.\n")
    for args in ((), ("--column", "report"), ("--format", "json")):
        result = _check(path, *args)
        message = _one_line_error(result, "r.csv: the first row reads like report text, not column names")
        assert "Compared" not in result.stderr + result.stdout and "___" not in message
    fixed = run_cli("fix", str(path), "-o", str(tmp_path / "out.csv"))
    assert fixed.returncode == 2 and "Compared" not in fixed.stderr and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("header", ["study_id,report,addendum text", "id,Findings (final),Reason for exam",
                                    "accession no.,impression,date"])
def test_ordinary_headers_are_not_mistaken_for_report_text(tmp_path: Path, header: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"{header}\n1,Compared with ___ today.,x\n")
    assert _json(path)["summary"]["findings"] == 1


def test_naming_the_columns_vouches_for_a_header_that_reads_like_text(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,Findings and impression of the radiologist on the day\n1,Compared with ___ today.\n")
    assert "reads like report text" in _error(path)
    doc = _json(path, "--column", "Findings and impression of the radiologist on the day")
    assert doc["summary"]["findings"] == 1


@pytest.mark.parametrize("line", [
    b'{"report": "Compared with ___.", "report": "No change."}',
    b'{"report": "Compared with ___.", "\\u0072eport": "No change."}',
    b'{"id": 1, "meta": {"note": "Seen by ___.", "note": "x"}, "report": "No change today."}',
])
def test_a_key_given_twice_in_a_jsonl_object_is_refused(tmp_path: Path, line: bytes) -> None:
    """json and orjson keep the last value silently, so the first went unscanned (issue 15, item 11)."""
    path = tmp_path / "r.jsonl"
    path.write_bytes(orjson.dumps({"report": "Fine and clear."}) + b"\n" + line + b"\n")
    key = "note" if b"meta" in line else "report"
    result = _check(path)
    message = _one_line_error(result, f"r.jsonl:1: line 2: key '{key}' appears twice in one object")
    assert "___" not in message and "No change" not in message
    code, out, _ = _run(path, "--on-error", "skip", "--format", "json")
    assert code == 1 and orjson.loads(out)["errors"][0]["record"] == 1


# -- issue 15: bounded memory -----------------------------------------------------------------


#: Runs ``deidlint.cli.main`` and writes the process's peak resident memory (``VmHWM``, which exec
#: resets; ``ru_maxrss`` would count the test process's own pages, shared until the exec) to a file.
_PEAK = ("import sys\nfrom deidlint.cli import main\ncode = main(sys.argv[2:])\n"
         "open(sys.argv[1], 'w').write(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
         "sys.exit(code)\n")


def _cli_peak(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``deidlint ARGS`` in a fresh interpreter, and that process's peak memory in MB."""
    peak = tmp_path / "peak"
    result = subprocess.run([sys.executable, "-c", _PEAK, str(peak), *args], capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    return result, int(peak.read_text().split()[1]) / 1024


def test_a_million_header_columns_fail_fast_in_bounded_memory(tmp_path: Path) -> None:
    """A 10 MB CSV with a million header columns grew to 6.4 GB and aborted (issue 15, item 8)."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join("x y" for _ in range(1_000_000)) + "\n")
    for command in ("check", "fix"):
        result, peak = _cli_peak(tmp_path, command, str(path), *(["-o", str(tmp_path / "out.csv")] if command == "fix" else []))
        _one_line_error(result, "wide.csv: 1000000 columns, more than the 10,000")
        assert peak < 400, f"{peak:.0f} MB"  # measured: 165 MB
    assert not (tmp_path / "out.csv").exists()


def _nuls(path: Path, megabytes: int) -> None:
    """A header and then *megabytes* of NULs with no line break, written (and gzipped) in chunks."""
    handle = gzip.open(path, "wb") if path.suffix == ".gz" else path.open("wb")
    with handle:
        handle.write(b"" if path.name.startswith("r.txt") else b'{"report": "' if ".jsonl" in path.name else b"report\n")
        for _ in range(megabytes):
            handle.write(b"\0" * (1 << 20))


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.jsonl", "r.jsonl.gz", "r.txt", "r.tsv.gz"])
@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_file_without_record_boundaries_stops_at_the_record_limit(tmp_path: Path, name: str, command: str) -> None:
    """NULs with no line break (a device saved as .csv, a gzip bomb) were read whole (issue 15, item 8);
    a gzip stream is checked as it expands: 300 MB of NULs stop at the 1 MB limit."""
    path = tmp_path / name
    _nuls(path, 300 if name.endswith(".gz") else 24)
    (tmp_path / "deidlint.toml").write_text("max-record-mb = 1\n")
    extra = ["-o", str(tmp_path / ("out" + name))] if command == "fix" else []
    result, peak = _cli_peak(tmp_path, command, str(path), "--config", str(tmp_path / "deidlint.toml"), *extra)
    _one_line_error(result, f"{name}: a record runs past 1 MB", "--max-record-mb")
    assert peak < 400, f"{peak:.0f} MB"
    assert not (tmp_path / ("out" + name)).exists()


def test_the_record_limit_is_a_flag_and_a_record_under_it_is_read(tmp_path: Path) -> None:
    """A quote never closed swallows the rest of the file as one record: past the limit it stops."""
    path = tmp_path / "r.csv"
    path.write_text("report\n\"" + "Compared with ___ today.\n" * 100_000)  # a 2.4 MB record, no closing quote
    assert "runs past 1 MB" in _error(path, "--max-record-mb", "1")
    assert "a quote opened in this record is never closed" in _error(path, "--max-record-mb", "4")
    assert "1 MB or more" in _error(path, "--max-record-mb", "0")


# -- issue 15: nested text --------------------------------------------------------------------


def test_text_inside_nested_parquet_columns_is_named_and_fails_the_run(tmp_path: Path) -> None:
    """Strings inside struct and list columns were left with their traces and exit 0 (issue 15, item 11)."""
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({
        "report": ["No change today.", "Stable heart size."],
        "sections": pa.array([{"text": "Seen by Dr. ___ today."}, {"text": None}], pa.struct([("text", pa.string())])),
        "notes": pa.array([[], ["Called ___ at noon."]], pa.list_(pa.string())),
        "extra": pa.array([[("k", "Discussed with ___.")], []], pa.map_(pa.string(), pa.string())),
        "labels": pa.array([["cardiomegaly"], []], pa.list_(pa.string())),  # no text: not flagged
    }), path)
    code, out, err = _run(path, "--format", "json")
    errors = [e["error"] for e in orjson.loads(out)["errors"]]
    assert code == 1 and sorted(e.split("'")[1] for e in errors) == ["extra", "notes", "sections"]
    assert all("holds text inside nested values, which is not scanned" in e and "___" not in e for e in errors)
    fixed = run_cli("fix", str(path), "-o", str(tmp_path / "out.parquet"))
    assert fixed.returncode == 1 and "'sections' holds text inside nested values" in fixed.stderr


def test_text_inside_nested_jsonl_values_is_named_and_fails_the_run(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"report": "No change today.", "meta": {"tags": ["a"]}},
            {"report": "Stable.", "meta": {"note": ["Seen by Dr. ___ today."]}}]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    code, out, _ = _run(path, "--format", "json")
    doc = orjson.loads(out)
    assert code == 1 and [(e["record"], e["error"].split("'")[1]) for e in doc["errors"]] == [(1, "meta")]
    assert "___" not in out.replace('"marker": "___"', "")


def test_a_fifo_named_as_input_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO named fifo.csv hung check forever, deaf to SIGTERM and SIGINT (issue 15, item 10)."""
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    for command in (("check",), ("fix", "-o", str(tmp_path / "out.csv"))):
        result = subprocess.run([sys.executable, "-m", "deidlint", command[0], str(fifo), *command[1:]],
                                capture_output=True, text=True, timeout=60, cwd=REPO)
        _one_line_error(result, "fifo.csv: not a regular file")
