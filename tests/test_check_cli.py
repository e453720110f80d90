"""`deidlint check` end to end: formats, offsets, exit codes, config, privacy."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deidlint.config import path_glob
from tests.conftest import run_cli

REPORT = "EXAMINATION: Chest PA.\r\nCOMPARISON: ___.\r\nFINDINGS: Dr. ___ was paged\nat 4:05 p.m. Lungs clear."
SECRET = "Lungs clear"  # report text that must never leak into default output


def _findings(*args: str) -> tuple[int, dict]:
    result = run_cli("check", *args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, orjson.loads(result.stdout)


def _write_csv(path: Path, rows: list[tuple[str, str]], newline: str = "\n") -> None:
    body = "id,report,score" + newline + "".join(f'{i},"{t}",1.0{newline}' for i, t in rows)
    path.write_bytes(body.encode())


def test_csv_offsets_index_the_cell_exactly_as_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    _write_csv(path, [("a1", REPORT), ("a2", "No acute process.")], newline="\r\n")
    code, doc = _findings(str(path), "--id-column", "id")
    assert code == 1
    assert [(f["record"], f["id"], f["column"], f["start"], f["end"]) for f in doc["findings"]] == [
        (0, "a1", "report", REPORT.index("___"), REPORT.index("___") + 3),
        (0, "a1", "report", REPORT.rindex("___"), REPORT.rindex("___") + 3),
    ]
    assert [(f["line"], f["col"]) for f in doc["findings"]] == [(2, 13), (3, 15)]
    assert doc["summary"] == {"files": 1, "records": 2, "records_with_findings": 1, "findings": 2,
                              "by_rule": {"DL104": 2}}
    assert set(doc["findings"][0]) == {"path", "record", "id", "column", "start", "end", "line", "col", "rule",
                                       "name", "category", "severity", "marker", "fixable"}
    assert doc["deidlint"]


def test_text_output_names_the_id_when_there_is_one(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    _write_csv(path, [("a1", "Seen on XXXX."), ("a\x1b2", "Dr. XXXX.")])
    with_ids = run_cli("check", str(path), "--id-column", "id").stdout.splitlines()
    assert with_ids[:2] == [f"{path}:0:report:8: DL303 Open-I de-identification marker 'XXXX' (id a1)",
                            f"{path}:1:report:4: DL303 Open-I de-identification marker 'XXXX' (id a\\x1b2)"]
    assert run_cli("check", str(path)).stdout.splitlines()[0].endswith("marker 'XXXX'")
    github = run_cli("check", str(path), "--id-column", "id", "--format", "github").stdout.splitlines()
    assert github[0].endswith("::Open-I de-identification marker 'XXXX' (id a1) at record 0, column report")
    assert "(id a\\x1b2)" in github[1]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_records_with_findings_counts_each_record_once_across_columns_and_batches(
        tmp_path: Path, fmt: str, jobs: str) -> None:
    """Twelve batches of rows, two text columns: a record with markers in both columns is one
    record with findings, however the batches fall (the count keeps one row range at a time)."""
    rows = [("Seen on ___." if i % 3 else "Clear.", "Dr. ___ paged." if i % 5 else "Fine.") for i in range(50_000)]
    expected = sum(1 for a, b in rows if "___" in a or "___" in b)
    path = tmp_path / f"r.{fmt}"
    if fmt == "csv":
        path.write_text("finding,note\n" + "".join(f"{a},{b}\n" for a, b in rows))
    else:
        path.write_bytes(b"".join(orjson.dumps({"finding": a, "note": b}) + b"\n" for a, b in rows))
    code, doc = _findings(str(path), "--column", "finding", "--column", "note", "--jobs", jobs)
    assert code == 1
    assert doc["summary"]["records_with_findings"] == expected
    assert doc["summary"]["findings"] == sum(("___" in a) + ("___" in b) for a, b in rows)


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "parquet", "tsv", "csv.gz"])
def test_every_format_gives_the_same_findings(tmp_path: Path, fmt: str) -> None:
    rows = [{"id": "a1", "report": REPORT}, {"id": "a2", "report": "Seen on XXXX."}, {"id": "a3", "report": None}]
    path = tmp_path / f"r.{fmt}"
    if fmt.startswith("jsonl"):
        data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    elif fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        writer.writerow(["id", "report"])
        writer.writerows([r["id"], r["report"] or ""] for r in rows)
        data = buffer.getvalue().encode()
        path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    code, doc = _findings(str(path), "--id-column", "id")
    assert code == 1
    assert [(f["id"], f["start"], f["marker"]) for f in doc["findings"]] == [
        ("a1", REPORT.index("___"), "___"), ("a1", REPORT.rindex("___"), "___"), ("a2", 8, "XXXX")]
    assert doc["summary"]["records"] == 3


def test_txt_folder_recursive_mimic_layout(tmp_path: Path) -> None:
    folder = tmp_path / "files" / "p10" / "p10000032"
    folder.mkdir(parents=True)
    (folder / "s50414267.txt").write_text("FINDINGS: unchanged since ___.\n")
    (folder / "s50414268.txt").write_text("FINDINGS: normal.\n")
    (folder / "image.dcm").write_bytes(b"\x00\x01binary")
    code, doc = _findings(str(tmp_path / "files"))
    assert code == 1
    (finding,) = doc["findings"]
    assert finding["path"].endswith("s50414267.txt") and finding["record"] == 0 and finding["column"] is None
    assert doc["summary"]["files"] == 2 and doc["summary"]["records"] == 2


def test_clean_input_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    _write_csv(path, [("a", "No acute cardiopulmonary process.")])
    result = run_cli("check", str(path))
    assert result.returncode == 0
    assert "No de-identification traces found in 1 records" in result.stdout


def test_text_output_shows_no_report_text_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    _write_csv(path, [("a1", REPORT)])
    for fmt in ("text", "json", "sarif", "github", "junit"):
        result = run_cli("check", str(path), "--format", fmt)
        assert SECRET not in result.stdout and "paged" not in result.stdout, fmt
    shown = run_cli("check", str(path), "--show-context", "12")
    assert "was paged" in shown.stdout
    first = shown.stdout.splitlines()[0]
    assert first.startswith(f"{path}:0:report:{REPORT.index('___')}: DL104 ")


def test_statistics(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    _write_csv(path, [("a1", REPORT), ("a2", "XXXX-year-old.")])
    result = run_cli("check", str(path), "--statistics")
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["2", "DL104", "mimic-placeholder"]
    assert lines[1].split("\t")[:2] == ["1", "DL301"]


def test_config_select_ignore_and_per_path_ignores(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    _write_csv(path, [("a1", REPORT), ("a2", "Seen on XXXX.")])
    (tmp_path / "deidlint.toml").write_text('ignore = ["mimic"]\ncolumns = ["report"]\n')
    code, doc = _findings(str(path), "--config", str(tmp_path / "deidlint.toml"))
    assert {f["rule"] for f in doc["findings"]} == {"DL303"}
    (tmp_path / "deidlint.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.deidlint]\nper-path-ignores = {"legacy*.csv" = ["DL3"]}\n')
    result = run_cli("check", str(path), "--format", "json", cwd=tmp_path)
    assert {f["rule"] for f in orjson.loads(result.stdout)["findings"]} == {"DL104"}
    code, doc = _findings(str(path), "--config", str(tmp_path / "pyproject.toml"), "--select", "DL3")
    assert code == 0 and doc["findings"] == []


@pytest.mark.parametrize("glob", ["legacy/*.csv", "./legacy/*.csv", "old.csv"])
def test_per_path_ignores_mean_the_same_files_from_anywhere(tmp_path: Path, glob: str) -> None:
    """Globs are relative to the config file's folder: the same files are ignored from the project
    root and from a subfolder, whether the path is given relative, with ./ or absolute."""
    (tmp_path / "legacy").mkdir()
    (tmp_path / "sub").mkdir()
    old, new = tmp_path / "legacy" / "old.csv", tmp_path / "new.csv"
    for path in (old, new):
        _write_csv(path, [("a1", "Seen on XXXX.")])
    (tmp_path / "pyproject.toml").write_text(f'[tool.deidlint]\nper-path-ignores = {{"{glob}" = ["DL3"]}}\n')
    spellings = {tmp_path: ["legacy/old.csv", "./legacy/old.csv", str(old)],
                 tmp_path / "sub": ["../legacy/old.csv", "./../legacy/old.csv", str(old)]}
    for cwd, names in spellings.items():
        for name in names:
            result = run_cli("check", name, str(new), "--format", "json", cwd=cwd)
            paths = {f["path"] for f in orjson.loads(result.stdout)["findings"]}
            assert paths == {str(new)}, (cwd, name, paths)


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("legacy/*.csv", "legacy/a.csv", True),
    ("legacy/*.csv", "legacy/old/a.csv", False),   # * stays in its folder, as in gitignore and ruff
    ("legacy/**/*.csv", "legacy/a.csv", True),     # **/ may span no folder
    ("legacy/**/*.csv", "legacy/x/y/a.csv", True),
    ("legacy/**", "legacy/x/y.jsonl", True),
    ("data/[a-c].csv", "data/b.csv", True),        # a range, not the three characters a - c
    ("data/[!a-c].csv", "data/b.csv", False),
    ("data/[!a-c].csv", "data/d.csv", True),
    ("a?.csv", "a/.csv", False),
    ("x.csv", "xycsv", False),                     # . is a dot
    ("[^a].csv", "^.csv", True),                   # ^ in a class is a character; ! negates
    ("run[1]/*.csv", "run1/a.csv", True),
])
def test_path_globs(glob: str, path: str, matches: bool) -> None:
    assert bool(path_glob(glob).match(path)) is matches


def test_per_path_glob_star_stays_in_its_folder(tmp_path: Path) -> None:
    """``legacy/*.csv`` ignores the files in legacy/, not those a folder further down; and a
    config folder whose name holds ``[`` anchors as itself."""
    root = tmp_path / "set[1]"
    (root / "legacy" / "old").mkdir(parents=True)
    top, deeper = root / "legacy" / "a.csv", root / "legacy" / "old" / "b.csv"
    for path in (top, deeper):
        _write_csv(path, [("a1", "Seen on XXXX.")])
    (root / "pyproject.toml").write_text('[tool.deidlint]\nper-path-ignores = {"legacy/*.csv" = ["DL3"]}\n')
    result = run_cli("check", str(top), str(deeper), "--format", "json", cwd=root)
    assert {f["path"] for f in orjson.loads(result.stdout)["findings"]} == {str(deeper)}


def test_user_pack_by_path(tmp_path: Path) -> None:
    pack = tmp_path / "site.toml"
    pack.write_text(
        '[pack]\nname = "site"\n[[rules]]\ncode = "ST001"\nname = "site-mrn"\nkind = "id"\n'
        'message = "Site MRN placeholder"\npattern = \'@@MRN@@\'\nmatch = ["@@MRN@@"]\nno_match = ["MRN"]\n'
    )
    (tmp_path / "deidlint.toml").write_text(f'packs = ["{pack.name}"]\n')
    path = tmp_path / "r.csv"
    _write_csv(path, [("a1", "MRN @@MRN@@ noted")])
    result = run_cli("check", str(path), "--format", "json", cwd=tmp_path)
    assert [f["rule"] for f in orjson.loads(result.stdout)["findings"]] == ["ST001"]
    assert "ST001" in run_cli("rules", cwd=tmp_path).stdout


@pytest.mark.parametrize("args, message", [
    (["check", "missing.csv"], "no such file"),
    (["check", "{csv}", "--column", "reprot"], "did you mean 'report'"),
    (["check", "{csv}", "--select", "DL999"], "unknown rule selector"),
    (["check", "{csv}", "--format", "xml"], "invalid choice"),
    (["check", "{txt}.docx"], "unsupported file type"),
    (["rule", "DL999"], "no rule"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    csv_path = tmp_path / "r.csv"
    _write_csv(csv_path, [("a1", REPORT)])
    (tmp_path / "note.docx").write_text("x")
    args = [a.replace("{csv}", str(csv_path)).replace("{txt}", str(tmp_path / "note")) for a in args]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("deidlint: error:"), result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_rules_and_rule_commands() -> None:
    listing = run_cli("rules").stdout
    assert "DL101" in listing and "DL709" in listing
    explained = run_cli("rule", "DL302").stdout
    assert "openi-overscrubbed-word" in explained and "'PA and lateral x-XXXX'" in explained


def test_streamed_json_equals_the_finding_dicts() -> None:
    """The JSON reporter writes findings without building dicts; it must agree with as_dict()."""
    from deidlint.findings import Finding, Summary
    from deidlint.reporting import JsonReporter
    from deidlint.rules import all_rules, load_packs

    rule = all_rules(load_packs())[0]
    findings = [Finding('a "b".csv', 3, None, None, 1, 4, 1, 2, rule, "___"),
                Finding("x.csv", 0, "ü-7", "report", 0, 3, 2, 1, rule, "___", context='a\n"___"\tb')]
    out = io.StringIO()
    reporter = JsonReporter(out)
    for f in findings:
        reporter.finding(f)
    reporter.finish(Summary())
    assert orjson.loads(out.getvalue())["findings"] == [f.as_dict() for f in findings]


def test_github_annotation_line_of_a_jsonl_record_with_newlines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"report": "first"}\n{"report": "a\\nCompared to ___."}\n')
    result = run_cli("check", str(path), "--format", "github")
    assert ",line=2," in result.stdout.splitlines()[0]


def test_a_folder_skips_tables_without_text_but_a_named_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "s1.txt").write_text("Comparison to ___.\n")
    (tmp_path / "labels.csv").write_text("study_id,label\ns1,0\n")
    code, doc = _findings(str(tmp_path))
    assert code == 1 and [f["path"] for f in doc["findings"]] == [str(tmp_path / "files" / "s1.txt")]
    result = run_cli("check", str(tmp_path / "labels.csv"))
    assert result.returncode == 2 and "no text column" in result.stderr
