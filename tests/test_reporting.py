"""Machine outputs as their consumers read them: SARIF (schema and GitHub code scanning's rules),
JUnit XML (GitLab, Jenkins), GitHub workflow commands, and the pinned JSON keys."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jsonschema import Draft4Validator

from deidlint import __version__, synth
from tests.conftest import run_cli

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
#: Characters RFC 3986 allows in a URI reference (percent-escapes included).
URI_REFERENCE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder with every format: CSV with multi-line cells (in a name with a space), JSONL
    with one broken line, Parquet, and a folder of .txt reports."""
    root = tmp_path_factory.mktemp("reporting")
    folder = root / "data"
    (folder / "txt").mkdir(parents=True)
    reports = list(synth.generate(60, seed=11))
    with (folder / "my reports.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["study_id", "report"])
        writer.writerows((r.id, r.text) for r in reports[:30])
    lines = [orjson.dumps({"study_id": r.id, "report": r.text}).decode() for r in reports[30:40]]
    lines.insert(3, '{"study_id": "broken", "report": ')
    (folder / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pq.write_table(pa.Table.from_pylist([{"study_id": r.id, "report": r.text} for r in reports[40:50]]),
                   folder / "t.parquet")
    for r in reports[50:]:
        (folder / "txt" / f"{r.id}.txt").write_text(r.text, encoding="utf-8")
    return root


def _run(root: Path, fmt: str) -> tuple[int, str]:
    result = run_cli("check", "data", "--format", fmt, "--on-error", "skip", cwd=root)
    assert result.returncode == 1, result.stderr
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def json_doc(data: Path) -> dict:
    return orjson.loads(_run(data, "json")[1])


@pytest.fixture(scope="module")
def sarif(data: Path) -> dict:
    return orjson.loads(_run(data, "sarif")[1])


def test_json_keys_are_pinned(json_doc: dict) -> None:
    assert set(json_doc) == {"deidlint", "summary", "findings", "errors"}  # errors: the broken JSONL line
    assert json_doc["deidlint"] == __version__
    assert set(json_doc["summary"]) == {"files", "records", "records_with_findings", "findings", "by_rule"}
    assert json_doc["findings"]
    for f in json_doc["findings"]:
        assert set(f) == {"path", "record", "id", "column", "start", "end", "line", "col", "rule", "name",
                          "category", "severity", "marker", "fixable"}
    assert {(e["path"], e["record"]) for e in json_doc["errors"]} == {("data/notes.jsonl", 3)}


def test_sarif_validates_against_the_official_schema(sarif: dict) -> None:
    validator = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_meets_github_code_scanning_requirements(sarif: dict, json_doc: dict, data: Path) -> None:
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert sarif["version"] == "2.1.0" and len(run["results"]) == len(json_doc["findings"])
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert URI_REFERENCE.fullmatch(uri) and not urlsplit(uri).scheme and not uri.startswith("/")
        assert (data / unquote(uri)).is_file()
        assert physical["region"]["startLine"] >= 1
    assert all(r["shortDescription"]["text"] and r["fullDescription"]["text"] for r in rules)
    assert "my%20reports.csv" in {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("/")[-1]
                                  for r in run["results"]}
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/notes.jsonl"


def test_sarif_regions_point_at_the_marker_in_the_file(sarif: dict, data: Path) -> None:
    checked = {"csv": 0, "txt": 0}
    for result in sarif["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        path = data / unquote(physical["artifactLocation"]["uri"])
        region = physical["region"]
        marker = result["message"]["text"].split("(", 1)[1].rsplit(")", 1)[0][1:-1]
        if path.suffix == ".parquet":
            assert region == {"startLine": 1}
        elif path.suffix in (".txt", ".csv"):
            file_line = path.read_text(encoding="utf-8").split("\n")[region["startLine"] - 1]
            if path.suffix == ".txt":
                assert file_line[region["startColumn"] - 1:region["endColumn"] - 1] == marker
                checked["txt"] += 1
            elif "\n" not in marker:
                assert "startColumn" not in region and marker in file_line
                checked["csv"] += 1
    assert checked["csv"] > 10 and checked["txt"] > 3


def test_sarif_fingerprints_are_stable_and_distinct(sarif: dict, data: Path) -> None:
    again = orjson.loads(_run(data, "sarif")[1])
    prints = [r["partialFingerprints"] for r in sarif["runs"][0]["results"]]
    assert prints == [r["partialFingerprints"] for r in again["runs"][0]["results"]]
    assert len({p["deidlintFinding/v1"] for p in prints}) == len(prints)


def test_junit_is_well_formed_and_counts_add_up(data: Path, json_doc: dict) -> None:
    root = ET.fromstring(_run(data, "junit")[1])
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == len(root.findall("testsuite/testcase/failure"))
    assert int(root.get("errors")) == len(root.findall("testsuite/testcase/error")) == 1
    per_file: dict[str, dict[str, int]] = {}
    for f in json_doc["findings"]:
        per_file.setdefault(f["path"], {}).setdefault(f["rule"], 0)
        per_file[f["path"]][f["rule"]] += 1
    for suite in suites:
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        for failure in suite.findall("testcase/failure"):
            count = int(failure.get("message").split(" x ", 1)[0])
            assert per_file[suite.get("name")][failure.get("type")] == count
    assert {s.get("name") for s in suites if s.find("testcase/failure") is not None} == set(per_file)


def _unescape(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations_escape_paths_and_messages(tmp_path: Path) -> None:
    name = "odd,name:100%.csv"
    (tmp_path / name).write_text('id,report\na,"Heart normal.\nCompared to ___."\n', encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text('{"report": "Compared to ___."}\n{"report": \n', encoding="utf-8")
    result = run_cli("check", name, "bad.jsonl", "--format", "github", "--on-error", "skip", cwd=tmp_path)
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    parsed = []
    for line in commands:
        match = re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line)
        assert match, line
        props = dict(p.split("=", 1) for p in match.group(2).split(","))
        parsed.append(({k: _unescape(v) for k, v in props.items()}, _unescape(match.group(3))))
    csv_props, csv_message = parsed[0]
    assert csv_props["file"] == name and csv_props["line"] == "3" and "col" not in csv_props
    assert csv_props["title"] == "DL104 mimic-placeholder" and "'___' at record 0" in csv_message
    (error_message,) = [message for props, message in parsed if props == {"file": "bad.jsonl"}]
    assert error_message.startswith("line 2: invalid JSON")
    assert len(parsed) == 3


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github", "json", "text"])
def test_no_report_text_by_default(data: Path, fmt: str) -> None:
    out = _run(data, fmt)[1]
    words = {w for r in synth.generate(60, seed=11) for w in re.findall(r"[a-z]{9,}", r.text)}
    words -= {"placeholder", "scrubbed", "identification", "surrogate", "redaction", "character"}
    assert words and not [w for w in words if w in out]
