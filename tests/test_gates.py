"""Thresholds: limits at, just under and just over, warn vs fail, strict config, summary lines."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from deidlint.findings import Finding
from deidlint.gates import Gate, outcome_lines, parse_thresholds
from deidlint.rules import all_rules, load_packs
from tests.conftest import run_cli

RULES = all_rules(load_packs())
BY_CODE = {r.code: r for r in RULES}
TRACE = "Comparison to ___."  # one DL104 (mimic-placeholder) finding
OPENI = "There are no XXXX of effusion."  # one Open-I finding


def _finding(code: str, record: int, path: str = "d.csv") -> Finding:
    return Finding(path, record, None, "report", 0, 3, 1, 1, BY_CODE[code], "___")


def _gate(findings: list[Finding], **table: object) -> Gate:
    gate = Gate(parse_thresholds([table], RULES, "deidlint.toml"))
    for f in findings:
        gate.observe(f)
    return gate


@pytest.mark.parametrize(("found", "status", "code"), [(2, "ok", 0), (3, "ok", 0), (4, "fail", 1)])
def test_max_count_at_the_limit_passes_and_one_more_fails(found: int, status: str, code: int) -> None:
    gate = _gate([_finding("DL104", r) for r in range(found)], select="DL1", **{"max-count": 3})
    outcomes, exit_code = gate.verdict(records=100)
    assert [o.status for o in outcomes] == [status]
    assert exit_code == code
    assert f"{found} finding(s)" in outcomes[0].text and "max-count 3" in outcomes[0].text


@pytest.mark.parametrize(("hit", "status", "code"), [(28, "ok", 0), (29, "ok", 0), (30, "fail", 1)])
def test_max_share_is_exact_at_the_decimal_written(hit: int, status: str, code: int) -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point; 29 of 100 must still pass.
    gate = _gate([_finding("DL104", r) for r in range(hit)], category="trace", **{"max-share": 0.29})
    outcomes, exit_code = gate.verdict(records=100)
    assert [o.status for o in outcomes] == [status]
    assert exit_code == code
    assert f"({hit} of 100)" in outcomes[0].text and "max-share 29%" in outcomes[0].text


def test_share_counts_records_not_findings() -> None:
    many_in_one = [_finding("DL104", 0) for _ in range(5)] + [_finding("DL104", 1, path="other.csv")]
    outcomes, code = _gate(many_in_one, **{"max-share": 0.02}).verdict(records=100)
    assert code == 0 and "(2 of 100)" in outcomes[0].text


@pytest.mark.parametrize(("found", "status"), [(1, "ok"), (2, "ok"), (3, "warn")])
def test_warn_level_reports_but_never_fails(found: int, status: str) -> None:
    gate = _gate([_finding("DL104", r) for r in range(found)], select="mimic", level="warn", **{"max-count": 2})
    outcomes, code = gate.verdict(records=10)
    assert [o.status for o in outcomes] == [status] and code == 0


def test_count_and_share_are_judged_separately() -> None:
    gate = _gate([_finding("DL104", r) for r in range(5)], **{"max-count": 4, "max-share": 0.5})
    outcomes, code = gate.verdict(records=10)
    assert [o.status for o in outcomes] == ["fail", "ok"] and code == 1


def test_findings_of_rules_without_a_threshold_still_fail() -> None:
    openi = next(r.code for r in RULES if r.pack == "openi")
    gate = _gate([_finding("DL104", 0), _finding(openi, 1)], select="mimic", **{"max-count": 5})
    outcomes, code = gate.verdict(records=10)
    assert [(o.label, o.status) for o in outcomes] == [("mimic", "ok"), ("rules without a threshold", "fail")]
    assert code == 1 and openi in outcomes[1].text


def test_no_thresholds_keeps_the_plain_exit_code() -> None:
    assert Gate([]).verdict(records=10) == ([], 0)
    gate = Gate([])
    gate.observe(_finding("DL104", 0))
    assert gate.verdict(records=10) == ([], 1)


def test_zero_records_measure_a_zero_share() -> None:
    outcomes, code = _gate([], **{"max-share": 0}).verdict(records=0)
    assert code == 0 and "0% of records (0 of 0)" in outcomes[0].text


def test_summary_lines_show_each_limit_and_its_measured_value() -> None:
    thresholds = parse_thresholds([{"select": ["DL1", "openi"], "max-count": 1, "level": "warn"},
                                   {"category": "trace", "max-share": 0.01}], RULES, "x")
    gate = Gate(thresholds)
    for r in range(3):
        gate.observe(_finding("DL104", r))
    text = outcome_lines(gate.verdict(records=200)[0])
    assert text.splitlines() == [
        "Thresholds:",
        "  warn  DL1 + openi     3 finding(s) > max-count 1",
        "  fail  category trace  1.5% of records (3 of 200) > max-share 1%",
    ]


@pytest.mark.parametrize(("table", "message"), [
    ({"select": "DL1", "max_count": 1}, "unknown key 'max_count'"),
    ({"select": "DL9", "max-count": 1}, "'select' 'DL9' names no rule"),
    ({"select": 3, "max-count": 1}, "'select' must be"),
    ({"category": "typo", "max-count": 1}, "'category' 'typo' is not one of residue, trace"),
    ({"select": "DL1"}, "needs 'max-count' or 'max-share'"),
    ({"max-count": -1}, "'max-count' must be a whole number"),
    ({"max-count": True}, "'max-count' must be a whole number"),
    ({"max-count": 1.5}, "'max-count' must be a whole number"),
    ({"max-share": 1.5}, "'max-share' must be a number from 0 to 1"),
    ({"max-share": "1%"}, "'max-share' must be a number from 0 to 1"),
    ({"max-count": 1, "level": "error"}, "'level' must be 'warn' or 'fail'"),
])
def test_bad_thresholds_are_one_line_errors(tmp_path: Path, table: dict[str, object], message: str) -> None:
    config = tmp_path / "deidlint.toml"
    lines = ["[[thresholds]]", *(f"{k} = {_toml(v)}" for k, v in table.items())]
    config.write_text("\n".join(lines) + "\n")
    data = tmp_path / "d.csv"
    data.write_text(f"id,report\na,{TRACE}\n")
    result = run_cli("check", str(data), "--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{config}: thresholds[1]: {message}" in result.stderr


def _toml(value: object) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, bool) else str(value).lower()


def _dataset(path: Path, records: int, mimic: int, openi: int = 0) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["study_id", "report"])
        for i in range(records):
            text = TRACE if i < mimic else OPENI if i < mimic + openi else "No acute cardiopulmonary process."
            writer.writerow([f"s{i}", f"FINDINGS: Heart size normal. {text}"])


@pytest.mark.parametrize(("mimic", "exit_code", "status"), [(4, 0, "ok"), (5, 0, "ok"), (6, 1, "fail")])
def test_cli_gate_with_count_and_share(tmp_path: Path, mimic: int, exit_code: int, status: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.deidlint]\n[[tool.deidlint.thresholds]]\nselect = "mimic"\nmax-count = 5\n'
        '[[tool.deidlint.thresholds]]\nselect = "openi"\nmax-share = 0.1\nlevel = "warn"\n')
    _dataset(tmp_path / "d.csv", records=50, mimic=mimic, openi=6)
    result = run_cli("check", "d.csv", cwd=tmp_path)
    assert result.returncode == exit_code, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("Thresholds:")
    assert lines[start + 1].split() == [status, "mimic", str(mimic), "finding(s)", ">" if mimic > 5 else "<=",
                                        "max-count", "5"]
    assert lines[start + 2].split()[:2] == ["warn", "openi"]
    assert "12% of records (6 of 50) > max-share 10%" in lines[start + 2]


def test_cli_machine_formats_keep_stdout_clean(tmp_path: Path) -> None:
    (tmp_path / "deidlint.toml").write_text('[[thresholds]]\nmax-count = 10\n')
    _dataset(tmp_path / "d.csv", records=20, mimic=3)
    result = run_cli("check", "d.csv", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["summary"]["findings"] == 3
    assert "ok    all rules  3 finding(s) <= max-count 10" in result.stderr
