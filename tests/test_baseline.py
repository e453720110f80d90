"""Baselines: accept known traces, fail on exactly the new ones, report the ones gone, leak no text."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import orjson
import pytest

from deidlint import synth
from tests.conftest import run_cli

NEW_TRACE = " Compared to the study of ___, no change."


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["study_id", "report"])
        writer.writerows(rows)


def _reports(n: int = 120, seed: int = 7) -> list[tuple[str, str]]:
    return [(r.id, r.text) for r in synth.generate(n, seed=seed)]


def _check(folder: Path, *args: str) -> tuple[int, dict, str]:
    result = run_cli("check", "data.csv", "--baseline", "bl.json", "--format", "json", *args, cwd=folder)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, orjson.loads(result.stdout), result.stderr


def _baseline(folder: Path, *args: str) -> dict:
    result = run_cli("baseline", "data.csv", "-o", "bl.json", *args, cwd=folder)
    assert result.returncode == 0, result.stderr
    return orjson.loads((folder / "bl.json").read_bytes())


def _findings(folder: Path) -> list[dict]:
    result = run_cli("check", "data.csv", "--format", "json", cwd=folder)
    return orjson.loads(result.stdout)["findings"]


@pytest.fixture
def dataset(tmp_path: Path) -> list[tuple[str, str]]:
    rows = _reports()
    _write(tmp_path / "data.csv", rows)
    return rows


def test_unchanged_dataset_passes_with_every_finding_accepted(tmp_path: Path, dataset: list) -> None:
    total = len(_findings(tmp_path))
    assert total > 100
    doc = _baseline(tmp_path)
    assert sum(e["count"] for e in doc["entries"]) == total
    code, out, err = _check(tmp_path)
    assert code == 0 and out["findings"] == [] and out["summary"]["findings"] == 0
    assert f"{total} known finding(s) accepted, 0 new; 0 baseline entries no longer occur." in err


def test_one_new_trace_fails_with_exactly_that_finding(tmp_path: Path, dataset: list) -> None:
    _baseline(tmp_path)
    hit = {f["record"] for f in _findings(tmp_path)}
    clean = next(i for i in range(len(dataset)) if i not in hit)
    rows = list(dataset)
    rows[clean] = (rows[clean][0], rows[clean][1] + NEW_TRACE)
    _write(tmp_path / "data.csv", rows)
    code, out, err = _check(tmp_path)
    assert code == 1
    assert [(f["record"], f["marker"], f["start"]) for f in out["findings"]] == [
        (clean, "___", len(dataset[clean][1]) + NEW_TRACE.index("___"))]
    assert out["summary"]["findings"] == 1 and out["summary"]["records_with_findings"] == 1
    assert "0 baseline entries no longer occur" in err


def test_removed_trace_is_reported_gone(tmp_path: Path, dataset: list) -> None:
    _baseline(tmp_path)
    findings = _findings(tmp_path)
    per_record = {r: [f for f in findings if f["record"] == r] for r in {f["record"] for f in findings}}
    record, (only,) = next((r, fs) for r, fs in sorted(per_record.items()) if len(fs) == 1)
    rows = list(dataset)
    text = rows[record][1]
    rows[record] = (rows[record][0], text[:only["start"]] + "the prior study" + text[only["end"]:])
    _write(tmp_path / "data.csv", rows)
    code, out, err = _check(tmp_path)
    assert code == 0 and out["findings"] == []
    assert f"{len(findings) - 1} known finding(s) accepted, 0 new; 1 baseline entry no longer occurs." in err


def test_edits_elsewhere_in_a_record_keep_its_traces_known(tmp_path: Path, dataset: list) -> None:
    _baseline(tmp_path)
    # Shift every offset and re-wrap lines: neither touches the characters around a marker.
    rows = [(i, "ADDENDUM: reviewed.\n" + re.sub(r"\n(?=[a-z])", " ", t)) for i, t in dataset]
    _write(tmp_path / "data.csv", rows)
    code, out, _ = _check(tmp_path)
    assert code == 0 and out["findings"] == []


def test_identical_traces_in_one_record_are_counted(tmp_path: Path) -> None:
    sentence = "Lungs are clear. Compared with ___ film. "
    _write(tmp_path / "data.csv", [("s1", sentence * 2 + "Lungs are clear.")])
    doc = _baseline(tmp_path)
    assert [e["count"] for e in doc["entries"]] == [2]
    _write(tmp_path / "data.csv", [("s1", sentence * 3 + "Lungs are clear.")])
    code, out, _ = _check(tmp_path)
    assert code == 1 and len(out["findings"]) == 1


def test_id_column_survives_reordering_rows_and_path_does_not(tmp_path: Path, dataset: list) -> None:
    by_id = _baseline(tmp_path, "--id-column", "study_id")
    assert all("id" in e and "record" not in e for e in by_id["entries"])
    shuffled = list(dataset)
    random.Random(1).shuffle(shuffled)
    _write(tmp_path / "data.csv", shuffled)
    code, out, _ = _check(tmp_path, "--id-column", "study_id")
    assert code == 0 and out["findings"] == []
    _write(tmp_path / "data.csv", dataset)
    _baseline(tmp_path)
    _write(tmp_path / "data.csv", shuffled)
    code, out, _ = _check(tmp_path)
    assert code == 1 and out["findings"]


def test_id_setting_must_match_the_baseline(tmp_path: Path, dataset: list) -> None:
    _baseline(tmp_path, "--id-column", "study_id")
    result = run_cli("check", "data.csv", "--baseline", "bl.json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "identifies records by --id-column study_id" in result.stderr


def test_baseline_from_config_and_paths_relative_to_it(tmp_path: Path, dataset: list) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data.csv").rename(tmp_path / "data" / "data.csv")
    assert run_cli("baseline", "data", "-o", ".deidlint-baseline.json", cwd=tmp_path).returncode == 0
    doc = orjson.loads((tmp_path / ".deidlint-baseline.json").read_bytes())
    assert {e["path"] for e in doc["entries"]} == {"data/data.csv"}
    (tmp_path / "deidlint.toml").write_text('baseline = ".deidlint-baseline.json"\n')
    # Run from inside data/: the config is found upwards and paths resolve against the baseline.
    result = run_cli("check", "data.csv", cwd=tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 new" in result.stdout


def test_partial_runs_do_not_count_other_files_as_gone(tmp_path: Path, dataset: list) -> None:
    _write(tmp_path / "more.csv", _reports(20, seed=8))
    assert run_cli("baseline", "data.csv", "more.csv", "-o", "bl.json", cwd=tmp_path).returncode == 0
    code, _, err = _check(tmp_path)  # only data.csv, as a pre-commit hook passes staged files
    assert code == 0 and "0 baseline entries no longer occur" in err


def test_baseline_holds_no_report_text(tmp_path: Path, dataset: list) -> None:
    doc = _baseline(tmp_path, "--id-column", "study_id")
    raw = (tmp_path / "bl.json").read_text()
    for entry in doc["entries"]:
        assert set(entry) == {"path", "id", "column", "rule", "hash", "count"}
        assert re.fullmatch(r"[0-9a-f]{32}", entry["hash"])
    words = {w for _, text in dataset for w in re.findall(r"[A-Za-z]{6,}", text)} - {"report"}
    assert not [w for w in words if w in raw]
    assert "___" not in raw and "XXXX" not in raw


def test_regenerating_gives_the_same_bytes_and_leaves_no_temporary_files(tmp_path: Path, dataset: list) -> None:
    _baseline(tmp_path)
    first = (tmp_path / "bl.json").read_bytes()
    _baseline(tmp_path)
    assert (tmp_path / "bl.json").read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bl.json", "data.csv"]


def test_show_context_still_shows_only_what_was_asked(tmp_path: Path) -> None:
    _write(tmp_path / "data.csv", [("s1", "Heart size is normal.")])
    _baseline(tmp_path)
    _write(tmp_path / "data.csv", [("s1", "Heart size is normal. Compared to ___ today.")])
    _, out, _ = _check(tmp_path, "--show-context", "3")
    assert [f["context"] for f in out["findings"]] == ["to ___ to"]
    _, out, _ = _check(tmp_path)
    assert "context" not in out["findings"][0]


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist; create it with 'deidlint baseline"),
    (b"{not json", "is not valid JSON"),
    (b'{"entries": []}', "is not a deidlint baseline"),
    (b'{"deidlint-baseline": 1, "context-chars": 12, "entries": [{"path": "d.csv"}]}', "entry 1 is malformed"),
    (b'{"deidlint-baseline": 1, "context-chars": 5, "entries": []}', "another hash context"),
])
def test_bad_baselines_are_one_line_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    _write(tmp_path / "data.csv", [("s1", "Compared to ___.")])
    if content is not None:
        (tmp_path / "bl.json").write_bytes(content)
    result = run_cli("check", "data.csv", "--baseline", "bl.json", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_unwritable_output_is_a_one_line_error(tmp_path: Path) -> None:
    _write(tmp_path / "data.csv", [("s1", "Compared to ___.")])
    result = run_cli("baseline", "data.csv", "-o", "data.csv/bl.json", cwd=tmp_path)  # a file as folder
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot write baseline" in result.stderr
