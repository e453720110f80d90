"""The MIMIC-style case table: every case, every strategy, compared byte for byte (slots aside).

Expected outputs were written as a radiologist would accept them before the fixer ran on them.
Cases today's ``fix`` fails are marked expected-to-fail with the instruments' diagnosis
(tests/data/fix_cases_known_failures.toml); the marks are strict, so a repair that starts to
pass a case fails here until its mark is removed. No case is loosened to pass.
"""

from __future__ import annotations

import pytest

from tests.case_table import STRATEGIES, Case, known_failures, load_cases, run_case

CASES = load_cases()
KNOWN = known_failures()


def _params() -> list[object]:
    params = []
    for case in CASES:
        for strategy in STRATEGIES:
            key = f"{case.id}/{strategy}"
            marks = [pytest.mark.xfail(reason=KNOWN[key], strict=True)] if key in KNOWN else []
            params.append(pytest.param(case, strategy, id=key, marks=marks))
    return params


#: A sample value per surrogate slot, to read the expected outputs as text.
SAMPLE = {"date": "03/14/2151", "time": "4:25 p.m.", "clock": "4:25", "hhmm": "1425", "hour": "4", "minutes": "25",
          "year": "2151", "age": "67", "name": "Bellamy", "place": "Riverside Memorial"}


def test_the_expected_outputs_satisfy_the_instruments() -> None:
    """The table and the instruments were written apart; each checks the other. Every expected
    output is accepted by its own pattern, holds no trace (mask: only its tokens) and adds no
    residue, and every known failure names a case."""
    from deidlint.api import scanner

    residue, traces = scanner(("residue",)), scanner()
    assert len(CASES) >= 120
    for case in CASES:
        before = len(residue.scan(case.input))
        for strategy in STRATEGIES:
            text = case.expected[strategy].format_map(SAMPLE)
            assert case.accepts(strategy, text), (case.id, strategy)
            left = [text[m.start:m.end] for m in traces.scan(text)]
            assert all(t == "[PHI]" for t in left) if strategy == "mask" else not left, (case.id, strategy, left)
            assert len(residue.scan(text)) <= before, (case.id, strategy, [m.rule.code for m in residue.scan(text)])
    assert set(KNOWN) <= {f"{c.id}/{s}" for c in CASES for s in STRATEGIES}, "a known failure names no case"


@pytest.mark.parametrize("case, strategy", _params())
def test_case(case: Case, strategy: str) -> None:
    output = run_case(case, strategy)
    assert case.accepts(strategy, output), f"{case.why}\nexpected: {case.expected[strategy]!r}\ngot:      {output!r}"
