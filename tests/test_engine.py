"""The engine: one combined pattern, batching that never changes results, time limits."""

from __future__ import annotations

import pytest

from deidlint.engine import PatternTimeout, Scanner
from deidlint.errors import UsageError
from deidlint.rules import Rule, all_rules, load_packs

SCANNER = Scanner(all_rules(load_packs()))


def _spans(matches) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.rule.code) for m in matches]


def test_scan_many_equals_scanning_each_text() -> None:
    texts = [
        "Comparison to ___.", "", "ends with a tag [**Last Name", " (NamePattern1) 1407**] starts here",
        "glued___", "___", "x-XXXX", "XXXX", "[**", "**]", "Mr.", "******* alone", "a\x00___\x00b",
        "__", "_ends with two underscores__", "_starts with one", "<PERSON", ">", "{{NAME}}",
    ]
    batched = SCANNER.scan_many(texts)
    alone = [(i, m) for i, t in enumerate(texts) for m in SCANNER.scan(t)]
    assert [(i, m.start, m.end, m.rule.code) for i, m in batched] == [(i, m.start, m.end, m.rule.code) for i, m in alone]


def test_match_straddling_two_cells_is_rescanned() -> None:
    rule = Rule("XX001", "greedy", "test", "greedy", r"a[^b]*b")
    scanner = Scanner([rule])
    # Joined, "a ... b" would span the separator; alone, neither cell matches.
    assert scanner.scan_many(["xa", "bx", "ab"]) == [(2, scanner.scan("ab")[0])]


def test_first_rule_in_pack_order_claims_the_position() -> None:
    (match,) = SCANNER.scan("___-year-old")
    assert match.rule.code == "DL101"


def test_catastrophic_pattern_times_out_with_the_rule_named() -> None:
    rule = Rule("XX002", "evil", "test", "evil", r"(?:(?:a|aa)+)+b", source="evil.toml:3")
    scanner = Scanner([rule], timeout=(0.2, 0.0))
    with pytest.raises(PatternTimeout, match=r"XX002 \(evil.toml:3\)"):
        scanner.scan("a" * 40)


def test_anchors_are_rejected() -> None:
    with pytest.raises(UsageError, match="anchors"):
        Scanner([Rule("XX003", "anchored", "test", "m", r"^___")])
    Scanner([Rule("XX004", "class-caret", "test", "m", r"[^_]___")])  # a negated class is fine


def test_api_scan_and_frame() -> None:
    import pandas as pd

    import deidlint

    (finding,) = deidlint.scan("Dr. ___ was paged.")
    assert (finding.start, finding.end, finding.marker, finding.rule.code) == (4, 7, "___", "DL104")
    frame = pd.DataFrame({"id": [10, 11], "report": ["No acute process.", "Since XXXX, stable."]}, index=["a", "b"])
    result = deidlint.scan_frame(frame)
    assert result[["index", "column", "start", "rule"]].values.tolist() == [["b", "report", 6, "DL303"]]
    series_result = deidlint.scan_frame(frame["report"])
    assert len(series_result) == 1
