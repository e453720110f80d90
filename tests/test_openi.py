"""The real Open-I reports: every `XXXX` is found, and nothing else is (read from ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson

from tests.conftest import run_cli


def test_every_openi_marker_found_and_nothing_else(openi_sections, tmp_path: Path) -> None:
    path = tmp_path / "openi.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "section", "text"])
        writer.writerows(openi_sections)
    # Independent count: every non-overlapping occurrence of the literal marker.
    expected = sorted(
        (row, i)
        for row, (_, _, text) in enumerate(openi_sections)
        for i in _literal_positions(text, "XXXX")
    )
    assert len(expected) > 9000  # about 10,000 markers in 3,955 reports

    result = run_cli("check", str(path), "--column", "text", "--format", "json")
    assert result.returncode == 1, result.stderr
    doc = orjson.loads(result.stdout)
    found = sorted((f["record"], f["start"]) for f in doc["findings"])
    assert found == expected
    assert {f["marker"] for f in doc["findings"]} == {"XXXX"}
    assert {f["rule"] for f in doc["findings"]} <= {"DL301", "DL302", "DL303"}
    assert doc["summary"]["records"] == len(openi_sections)


def _literal_positions(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:
        out.append(i)
        i = text.find(needle, i + len(needle))
    return out
