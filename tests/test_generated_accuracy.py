"""Recall and precision of the built-in rules against the generator's ground-truth spans."""

from __future__ import annotations

import pytest

from deidlint import synth
from deidlint.api import scanner


@pytest.mark.parametrize("style", synth.STYLES)
def test_recall_is_total_and_precision_at_least_99_percent(style: str) -> None:
    reports = list(synth.generate(3000, seed=7, style=style))
    engine = scanner()
    truth = {(i, s.start, s.end) for i, r in enumerate(reports) for s in r.spans}
    found = {(i, m.start, m.end) for i, m in engine.scan_many([r.text for r in reports])}
    assert truth, "the generator must plant traces"
    missed = truth - found
    recall = 1 - len(missed) / len(truth)
    precision = len(found & truth) / len(found)
    assert recall == 1.0, [(reports[i].text[s:e], i) for i, s, e in sorted(missed)[:5]]
    assert precision >= 0.99, sorted(found - truth)[:5]


def test_clean_reports_have_no_findings() -> None:
    reports = [r for r in synth.generate(2000, seed=3) if not r.spans]
    assert reports
    engine = scanner()
    assert engine.scan_many([r.text for r in reports]) == []
    # The clean version of every report (true values in place of markers) has no trace either.
    traced = [r.clean for r in synth.generate(2000, seed=3, style="mimic")]
    assert engine.scan_many(traced) == []
