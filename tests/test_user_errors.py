"""What a new user tripped over (issue 16): every case is one line on stderr and exit 2, with a
message that says what is expected, never a traceback (exit 1 is what CI reads as findings).

The model-folder cases of ``verify`` are in tests/test_verify_models.py, the ``-o`` cases in
tests/test_outputs.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from tests.conftest import run_cli

REPORT = b"id,report\n1,Seen on XXXX.\n"


def _error(*args: str, cwd: Path) -> str:
    proc = run_cli(*args, cwd=cwd)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc
    assert len(err.splitlines()) == 1 and err.startswith("deidlint: error: "), err
    return err


@pytest.mark.parametrize(("setting", "words"), [
    ('columns = "report"', "'columns' must be a list of strings, not a string ('report')"),
    ('seed = "x"', "'seed' must be an integer"),
    ("builtin-packs = 1", "'builtin-packs' must be true or false, not an integer (1)"),
    ('per-path-ignores = {"a/*.csv" = "DL1"}', "'per-path-ignores' must be a table of lists"),
    ("[tool.deidlint]\nselect = ['DL1']", "[tool.deidlint] is read from pyproject.toml only"),
])
def test_config_messages_say_what_is_expected(tmp_path: Path, setting: str, words: str) -> None:
    (tmp_path / "r.csv").write_bytes(REPORT)
    (tmp_path / "other.toml").write_text(setting + "\n")
    assert words in _error("check", "r.csv", "--config", "other.toml", cwd=tmp_path)


@pytest.mark.parametrize("flag", ["--config", "--baseline"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_setting_files_must_be_regular_files(tmp_path: Path, flag: str, special: str) -> None:
    """/dev/zero as a config grew past 20 GB before the kernel killed the run; a FIFO blocked."""
    (tmp_path / "r.csv").write_bytes(REPORT)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    assert "is not a regular file" in _error("check", "r.csv", flag, special, cwd=tmp_path)


def test_a_rule_pack_must_be_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_bytes(REPORT)
    (tmp_path / "deidlint.toml").write_text('packs = ["/dev/zero"]\n')
    assert "rule pack /dev/zero is not a regular file" in _error("check", "r.csv", cwd=tmp_path)


@pytest.mark.parametrize(("encoding", "words"), [("rot13", "'rot13' is not a text encoding"),
                                                 ("base64", "'base64' is not a text encoding"),
                                                 ("utf-9", "unknown encoding 'utf-9'")])
def test_an_encoding_must_be_a_text_encoding(tmp_path: Path, encoding: str, words: str) -> None:
    (tmp_path / "r.csv").write_bytes(REPORT)
    assert words in _error("check", "r.csv", "--encoding", encoding, cwd=tmp_path)


def test_unknown_synth_style_lists_the_choices(tmp_path: Path) -> None:
    err = _error("synth", "3", "-o", "s.csv", "--style", "nope", cwd=tmp_path)
    assert "'mimic'" in err and "'mixed'" in err


def test_every_option_of_every_command_has_help() -> None:
    """``rules --config``, ``rule --config`` and ``synth --seed`` had none."""
    import argparse

    from deidlint.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    bare = [f"{name} {'/'.join(action.option_strings) or action.dest}" for name, sub in commands.items()
            for action in sub._actions if not action.help and not isinstance(action, argparse._HelpAction)]
    assert bare == []


@pytest.mark.parametrize("fmt", ["json", "sarif", "text", "github", "junit"])
def test_a_file_name_that_is_not_utf8_is_reported_in_every_format(tmp_path: Path, fmt: str) -> None:
    name = os.fsdecode(b"n\xff.csv")
    (tmp_path / name).write_bytes(REPORT)
    proc = run_cli("check", name, "--format", fmt, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    if fmt == "json":
        assert orjson.loads(proc.stdout)["findings"][0]["path"] == "n\\udcff.csv"
    if fmt == "sarif":
        doc = orjson.loads(proc.stdout)
        assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "n%FF.csv"


def test_a_baseline_keeps_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    """The entry's path must match the file again, so it is written as a \\udcff escape."""
    name = os.fsdecode(b"n\xff.csv")
    (tmp_path / name).write_bytes(REPORT)
    assert run_cli("baseline", name, "-o", "b.json", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "b.json").read_text())["entries"][0]["path"] == name
    assert run_cli("check", name, "--baseline", "b.json", cwd=tmp_path).returncode == 0


def test_on_error_skip_names_the_bad_record_before_saying_no_text_column(tmp_path: Path) -> None:
    """An unclosed quote swallowed the only text; "no text column found" alone hid why."""
    (tmp_path / "q.csv").write_bytes(b'id,site\n1,"A\n2,B\n')
    err = _error("check", "q.csv", "--on-error", "skip", cwd=tmp_path)
    assert err.startswith("deidlint: error: q.csv:0: line 2: a quote opened in this record is never closed")
    assert "no text column found" in err


def test_parquet_with_a_duplicated_column_name(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays([pa.array(["Seen on ___."]), pa.array(["Dr. ___."])], names=["report", "report"])
    pq.write_table(table, tmp_path / "d.parquet")
    assert "column 'report' appears 2 times" in _error("check", "d.parquet", cwd=tmp_path)


def test_jsonl_big_integers_and_lone_surrogates_are_valid_json(tmp_path: Path) -> None:
    """JSON allows both; orjson refuses them, so they were called invalid JSON."""
    (tmp_path / "r.jsonl").write_text('{"report": "Seen on XXXX.", "n": 123456789012345678901234567890}\n'
                                      '{"report": "odd \\ud800 XXXX"}\n')
    proc = run_cli("check", "r.jsonl", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert [(f["record"], f["marker"]) for f in orjson.loads(proc.stdout)["findings"]] == [(0, "XXXX"), (1, "XXXX")]
    assert run_cli("fix", "r.jsonl", "-o", "f.jsonl", cwd=tmp_path).returncode == 0
    assert '"n": 123456789012345678901234567890' in (tmp_path / "f.jsonl").read_text()


def test_synth_to_a_format_it_cannot_write(tmp_path: Path) -> None:
    assert "weird.xlsx" in _error("synth", "5", "-o", "weird.xlsx", cwd=tmp_path)
    assert not (tmp_path / "weird.xlsx").exists()
