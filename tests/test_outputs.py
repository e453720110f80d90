"""``fix -o``: the output's name, place and format agree with what is written, or nothing is.

Each refused case is one a new user hit (issue 16): the expected outcome was written down before
the code, and every refusal must leave no file or folder behind.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_cli

CSV = (b"id,report\n007,Dr. ___ was paged.\n008,No focal consolidation.\n"
       b'009,"Seen on ___.\nNo effusion, no pneumothorax."\n')


def _inputs(tmp_path: Path) -> Path:
    (tmp_path / "r.csv").write_bytes(CSV)
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a2.csv").write_bytes(CSV)
    (folder / "a.csv").write_bytes(CSV)
    (folder / "b.csv").write_bytes(CSV)
    return tmp_path


def _refused(proc_args: list[str], cwd: Path, *words: str) -> str:
    proc = run_cli("fix", *proc_args, cwd=cwd)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("deidlint: error: "), proc
    assert "Traceback" not in err and "paged" not in err
    for word in words:
        assert word in err, (word, err)
    return err


@pytest.mark.parametrize(("args", "words", "absent"), [
    (["r.csv", "-o", "out.jsonl"], ["the output is CSV", "suffix .csv", "--output-format jsonl"], "out.jsonl"),
    (["r.csv", "-o", "out.csv", "--output-format", "jsonl"], ["--output-format jsonl writes JSONL"], "out.csv"),
    (["r.csv", "-o", "out"], ["suffix .csv"], "out"),
    (["r.csv", "-o", "out.txt"], ["suffix .csv"], "out.txt"),
    (["r.csv", "-o", "out.parquet.gz", "--output-format", "parquet"], ["name the output .parquet"], "out.parquet.gz"),
    (["d", "-o", "one.csv"], ["names one file"], "one.csv"),
    (["r.csv", "d/a.csv", "-o", "one.csv"], ["names one file"], "one.csv"),
    (["r.csv", "-o", "missing/dir/x.csv"], ["does not exist"], "missing"),
    (["d", "-o", "d/cleaned"], ["inside the input folder d"], "d/cleaned"),
    (["d/sub", "-o", "d"], ["holds the input d/sub"], "d/a2.csv"),
    (["r.csv", "-o", "f.csv", "--stats-json", "r.csv"], ["r.csv", "is an input"], "f.csv"),
    (["r.csv", "-o", "f.csv", "--report-drops", "f.csv"], ["f.csv", "is the output"], "f.csv"),
    (["r.csv", "-o", "f.csv", "--stats-json", "-"], ["name a file"], "-"),
    (["r.csv", "-o", "f.csv", "--stats-json", "missing/s.json"], ["does not exist"], "missing"),
    (["r.csv", "-o", "out.jsonl", "--dry-run"], ["suffix .csv"], "out.jsonl"),
    (["d", "-o", "-"], ["one input file"], "-"),
    (["r.csv", "-o", "-", "--diff"], ["standard output"], "-"),
    (["r.csv", "--in-place", "--output-format", "parquet"], ["--in-place keeps"], "r.parquet"),
], ids=[
    "suffix-contradicts", "suffix-contradicts-format", "no-suffix", "txt-suffix", "parquet-gz",
    "file-for-folder", "file-for-several", "missing-parent", "output-inside-input", "output-holds-input",
    "stats-over-input", "drops-over-output", "stats-to-dash", "stats-missing-parent", "dry-run-checks-too",
    "stdout-for-folder", "stdout-with-diff", "in-place-converts"
])
def test_contradicting_outputs_are_refused_and_leave_nothing(tmp_path: Path, args: list[str], words: list[str],
                                                              absent: str) -> None:
    _inputs(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    _refused(args, tmp_path, *words)
    assert not (tmp_path / absent).exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_gzip_must_show_in_the_name(tmp_path: Path) -> None:
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(CSV))
    _refused(["r.csv.gz", "-o", "out.csv"], tmp_path, "suffix .csv.gz")
    assert run_cli("fix", "r.csv.gz", "-o", "out.csv.gz", cwd=tmp_path).returncode == 0
    assert b"___" not in gzip.decompress((tmp_path / "out.csv.gz").read_bytes())


def test_stdout_gets_the_same_bytes_as_a_file(tmp_path: Path) -> None:
    _inputs(tmp_path)
    assert run_cli("fix", "r.csv", "-o", "f.csv", cwd=tmp_path).returncode == 0
    proc = run_cli("fix", "r.csv", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.encode() == (tmp_path / "f.csv").read_bytes()
    assert "___" not in proc.stdout and "fixed 2 trace(s)" in proc.stderr


def test_stdout_of_a_file_with_nothing_to_fix_is_the_file(tmp_path: Path) -> None:
    clean = b"id,report\n1,No effusion.\n"
    (tmp_path / "c.csv").write_bytes(clean)
    proc = run_cli("fix", "c.csv", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.encode() == clean


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "tsv"])
def test_convert_keeps_every_value_as_the_source_says(tmp_path: Path, fmt: str) -> None:
    _inputs(tmp_path)
    assert run_cli("fix", "r.csv", "-o", "f.csv", cwd=tmp_path).returncode == 0
    out = tmp_path / f"c.{fmt}"
    proc = run_cli("fix", "r.csv", "-o", out.name, "--output-format", fmt, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    fixed = pd.read_csv(tmp_path / "f.csv", dtype=str, keep_default_na=False)
    if fmt == "parquet":
        converted = pd.read_parquet(out)
    elif fmt == "jsonl":
        converted = pd.DataFrame([json.loads(line) for line in out.read_text().splitlines()])
    else:
        converted = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert converted.to_dict("records") == fixed.to_dict("records")
    assert converted["id"].tolist() == ["007", "008", "009"]  # text stays text
    assert run_cli("check", out.name, cwd=tmp_path).returncode == 0


def test_convert_a_folder_renames_every_output(tmp_path: Path) -> None:
    _inputs(tmp_path)
    proc = run_cli("fix", "d", "-o", "out", "--output-format", "parquet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.parquet")) == [
        "a.parquet", "b.parquet", "sub/a2.parquet"]
    assert run_cli("check", "out", cwd=tmp_path).returncode == 0


def test_convert_a_file_with_nothing_to_fix(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"id": 1, "report": "No effusion."}\n')
    assert run_cli("fix", "c.jsonl", "-o", "c.csv", "--output-format", "csv", cwd=tmp_path).returncode == 0
    assert (tmp_path / "c.csv").read_text() == '"id","report"\n1,"No effusion."\n'


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_convert_keeps_column_names_as_written(tmp_path: Path, fmt: str) -> None:
    """An empty header name stays empty (pandas would call it "Unnamed: 1"), and a file of a
    header alone keeps its columns."""
    (tmp_path / "e.csv").write_text("id,,report\n1,a,No effusion.\n")
    (tmp_path / "h.csv").write_text("id,report\n")
    for name in ("e", "h"):
        proc = run_cli("fix", f"{name}.csv", "-o", f"{name}.{fmt}", "--output-format", fmt, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    if fmt == "parquet":
        assert pq.read_table(tmp_path / "e.parquet").to_pylist() == [{"id": "1", "": "a", "report": "No effusion."}]
        assert pq.read_table(tmp_path / "h.parquet").column_names == ["id", "report"]
    else:
        assert json.loads((tmp_path / "e.jsonl").read_text()) == {"id": "1", "": "a", "report": "No effusion."}
        assert (tmp_path / "h.jsonl").read_text() == ""


def test_nested_values_that_csv_cannot_hold_are_refused(tmp_path: Path) -> None:
    (tmp_path / "n.jsonl").write_text('{"report": "Seen on ___.", "meta": {"site": "A"}}\n')
    _refused(["n.jsonl", "-o", "n.csv", "--output-format", "csv"], tmp_path, "'meta'", "nested")
    assert not (tmp_path / "n.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["n.jsonl"]  # no temporary file left either


def test_a_name_ending_in_a_slash_is_a_folder(tmp_path: Path) -> None:
    """``-o cleaned/`` for one file failed at the final rename, leaving a temporary file of fixed
    report text behind."""
    _inputs(tmp_path)
    assert run_cli("fix", "r.csv", "-o", "cleaned/", cwd=tmp_path).returncode == 0
    assert [p.name for p in (tmp_path / "cleaned").iterdir()] == ["r.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_convert_jsonl_takes_its_types_from_the_whole_file(tmp_path: Path) -> None:
    """pyarrow's reader fixed the types from its first block: a key first seen, or a float first
    met, 5,000 lines down failed a valid file."""
    rows = [{"id": f"{i:05}", "report": "No effusion.", "n": 1} for i in range(5000)]
    rows[-1].update(n=2.5, late="Seen on ___.")
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_cli("fix", "r.jsonl", "-o", "r.parquet", "--output-format", "parquet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(tmp_path / "r.parquet")
    # "Seen on ___." holds nothing clinical, so fix drops the sentence: the cell is empty, not missing.
    assert len(table) == 5000 and table["n"].iloc[-1] == 2.5 and table["late"].iloc[-1] == ""
    assert pd.isna(table["late"].iloc[0]) and table["id"].iloc[0] == "00000"


@pytest.mark.parametrize(("value", "to", "words"), [
    ("123456789012345678901234567890", "parquet", "too large for any column type"),
    ("123456789012345678901234567890", "csv", "too large for any column type"),
    ("NaN", "jsonl", "not JSON compliant"),
])
def test_values_a_target_cannot_hold_exactly_are_refused(tmp_path: Path, value: str, to: str, words: str) -> None:
    """An id of 30 digits came out as 1.2345678901234568e+29, exit 0."""
    (tmp_path / "r.jsonl").write_text(f'{{"report": "No effusion.", "n": {value}}}\n')
    source = "r.jsonl"
    if to == "jsonl":  # NaN reaches JSON from Parquet, which holds it
        assert run_cli("fix", "r.jsonl", "-o", "r.parquet", "--output-format", "parquet", cwd=tmp_path).returncode == 0
        source = "r.parquet"
    _refused([source, "-o", f"out.{to}", "--output-format", to], tmp_path, words)
    assert not (tmp_path / f"out.{to}").exists()


def test_a_decimal_is_refused_rather_than_written_approximately(tmp_path: Path) -> None:
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"report": ["No effusion."], "dose": pa.array([decimal.Decimal("1.10")], pa.decimal128(5, 2))})
    pq.write_table(table, tmp_path / "r.parquet")
    _refused(["r.parquet", "-o", "out.jsonl", "--output-format", "jsonl"], tmp_path, "Decimal", "no exact JSON form")
