"""Sampling protocols: the reference by default, --fast named with its measured deviation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deidlint.verify import protocol


def test_protocols_are_named_by_their_settings() -> None:
    assert protocol.protocol_name(50, 4, 7.5) == "reference"
    assert protocol.protocol_name(10, 1, 7.5) == "fast"
    assert protocol.protocol_name(10, 1, 3.0) == "custom"
    assert protocol.deviation_sentence("reference") is None
    assert "not been measured" in str(protocol.deviation_sentence("custom"))


def test_fast_quotes_the_measured_deviation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = {"prompts": 40, "median_relative_difference": 0.05, "max_relative_difference": 0.2, "spearman": 0.9,
              "command": "python benchmarks/protocol_deviation.py"}  # fmt: skip
    monkeypatch.setattr(protocol, "DEVIATION_FILE", tmp_path / "deviation.json")
    assert "has not been measured" in str(protocol.deviation_sentence("fast"))
    (tmp_path / "deviation.json").write_text(json.dumps(record))
    sentence = str(protocol.deviation_sentence("fast"))
    assert "median 5.0%" in sentence and "at most 20.0%" in sentence and "0.900" in sentence
    assert "python benchmarks/protocol_deviation.py" in sentence


def test_the_shipped_measurement_is_complete() -> None:
    measured = protocol.measured_deviation()
    if measured is None:
        pytest.skip("benchmarks/protocol_deviation.py has not been run in this checkout")
    for key in ("prompts", "median_relative_difference", "max_relative_difference", "spearman", "command"):
        assert key in measured
