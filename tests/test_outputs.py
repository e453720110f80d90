"""``fix -o``: the output's name, place and format agree with what is written, or nothing is.

Each refused case is one a new user hit (issue 16): the expected outcome was written down before
the code, and every refusal must leave no file or folder behind.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

CSV = (b"id,report\n007,Dr. ___ was paged.\n008,No focal consolidation.\n"
       b'009,"Seen on ___.\nNo effusion, no pneumothorax."\n')


def _inputs(tmp_path: Path) -> Path:
    (tmp_path / "r.csv").write_bytes(CSV)
    folder = tmp_path / "d"
    folder.mkdir()
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
    (["r.csv", "-o", "out.jsonl"], ["names JSONL", "--output-format jsonl"], "out.jsonl"),
    (["r.csv", "-o", "out.csv", "--output-format", "jsonl"], ["--output-format is jsonl"], "out.csv"),
    (["d", "-o", "one.csv"], ["names one file"], "one.csv"),
    (["r.csv", "d/a.csv", "-o", "one.csv"], ["names one file"], "one.csv"),
    (["r.csv", "-o", "missing/dir/x.csv"], ["does not exist"], "missing"),
    (["d", "-o", "d/cleaned"], ["inside the input folder d"], "d/cleaned"),
    (["d", "-o", "-"], ["one input file"], "-"),
    (["r.csv", "-o", "-", "--diff"], ["standard output"], "-"),
    (["r.csv", "--in-place", "--output-format", "parquet"], ["--in-place keeps"], "r.parquet"),
], ids=["suffix-contradicts", "suffix-contradicts-format", "file-for-folder", "file-for-several",
        "missing-parent", "output-inside-input", "stdout-for-folder", "stdout-with-diff", "in-place-converts"])
def test_contradicting_outputs_are_refused_and_leave_nothing(tmp_path: Path, args: list[str], words: list[str],
                                                              absent: str) -> None:
    _inputs(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    _refused(args, tmp_path, *words)
    assert not (tmp_path / absent).exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_gzip_must_show_in_the_name(tmp_path: Path) -> None:
    (tmp_path / "r.csv.gz").write_bytes(gzip.compress(CSV))
    _refused(["r.csv.gz", "-o", "out.csv"], tmp_path, "name it .csv.gz")
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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.parquet", "b.parquet"]
    assert run_cli("check", "out", cwd=tmp_path).returncode == 0


def test_convert_a_file_with_nothing_to_fix(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"id": 1, "report": "No effusion."}\n')
    assert run_cli("fix", "c.jsonl", "-o", "c.csv", "--output-format", "csv", cwd=tmp_path).returncode == 0
    assert (tmp_path / "c.csv").read_text() == '"id","report"\n1,"No effusion."\n'


def test_nested_values_that_csv_cannot_hold_are_refused(tmp_path: Path) -> None:
    (tmp_path / "n.jsonl").write_text('{"report": "Seen on ___.", "meta": {"site": "A"}}\n')
    _refused(["n.jsonl", "-o", "n.csv", "--output-format", "csv"], tmp_path, "'meta'", "nested")
    assert not (tmp_path / "n.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["n.jsonl"]  # no temporary file left either
