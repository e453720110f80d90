"""The engine: one combined pattern, batching that never changes results, time limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deidlint.engine import PatternTimeout, Scanner, alternation
from deidlint.errors import UsageError
from deidlint.rules import Rule, all_rules, load_packs, select_rules

#: The default selection: every trace rule.
SCANNER = Scanner(select_rules(all_rules(load_packs())))
#: Every built-in rule, opt-in packs included: one alternation per category (trace, residue).
EVERY_RULE = Scanner(all_rules(load_packs()))


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


def test_lookarounds_never_see_the_neighbouring_cell() -> None:
    rule = Rule("XX001", "after-space", "test", "m", r"(?<![^\s])@@", triggers=("@@",))
    scanner = Scanner([rule])
    # Alone, "@@x" matches at 0 (nothing before it); batched after "a", it still must.
    assert [(i, m.start) for i, m in scanner.scan_many(["a", "@@x", "b@@"])] == [(1, 0)]


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


MARKER_ALPHABET = ["___", "_", "XXXX", "X", "x-", "[**", "**]", "[", "]", "*", "**", "<", ">", "<<", ">>", "{{", "}}",
                   "PERSON", "NAME", "Name", "Mr. ", "-year-old", ":53", "9.", " ", "\n", "\x00", "a", "1", "-", "/",
                   # residue: words and marks whose neighbours decide a match
                   "to", "the ", "are", ".", ",", ":", "(", ")", "COMPARISON:", "Findings:", "Dr", "lymph", "compared",
                   " cm", "no ", "A"]


@given(st.lists(st.lists(st.sampled_from(MARKER_ALPHABET), max_size=30).map("".join), max_size=8))
@settings(max_examples=300, deadline=None)
def test_pack_merge_equals_the_single_alternation(texts: list[str]) -> None:
    """The fast per-pack merge finds exactly what one combined alternation per category finds
    (merged in text order), batched or not; a residue rule whose triggers miss a match fails here."""
    import regex

    for engine in (SCANNER, EVERY_RULE):
        categories = dict.fromkeys(r.category for r in engine.rules)
        references = [regex.compile(alternation([r for r in engine.rules if r.category == c])) for c in categories]
        expected = [sorted((m.start(), m.end(), m.lastgroup) for ref in references for m in ref.finditer(t)
                           if m.end() > m.start()) for t in texts]
        assert [[(m.start, m.end, m.rule.code) for m in engine.scan(t)] for t in texts] == expected
        batched = [[] for _ in texts]
        for i, m in engine.scan_many(texts):
            batched[i].append((m.start, m.end, m.rule.code))
        assert batched == expected


def test_a_residue_finding_never_hides_an_overlapping_trace() -> None:
    text = "Comparison to ___ . Dr. ___ was paged."
    found = [(text[m.start:m.end], m.rule.category) for m in EVERY_RULE.scan(text)]
    assert ("___", "trace") in found and found.count(("___", "trace")) == 2
    assert ("Dr.", "residue") not in found  # "Dr. ___" is a trace, not a title without a name
    assert (" .", "residue") in found


def test_the_mask_token_is_no_finding_on_either_scan_path() -> None:
    text = "Seen by [PHI] on [DATE]; [PHI] again, then [PHI]X and <X> and <X>."
    triggered = Scanner(select_rules(all_rules(load_packs())), mask_token="[PHI]")
    assert [text[m.start:m.end] for m in triggered.scan(text)] == ["[DATE]"]
    # A rule without triggers goes through the full alternation: the same exemption applies, and
    # only to a match that is exactly the token.
    rule = Rule("XX001", "angle", "test", "m", r"<X>|\[PHI\]X?")
    untriggered = Scanner([rule], mask_token="<X>")
    assert [text[m.start:m.end] for m in untriggered.scan(text)] == ["[PHI]", "[PHI]", "[PHI]X"]
    assert len(Scanner([rule]).scan(text)) == 5


@pytest.mark.parametrize("text", [
    "_" * 200_000, "*" * 200_000, "X" * 200_000, "[**" + "a " * 100_000, "<" * 200_000, "{{" * 100_000,
    "[" * 200_000, "[** " * 50_000 + "**]", "x-" * 100_000, "___:" * 50_000,
    "a" * 200_000, "to " * 70_000, " ." * 100_000, "-" * 200_000, ":" * 200_000, "COMPARISON: " * 20_000,
    "COMPARISON:" + " ." * 100_000, "the " + " " * 200_000 + "x", "(" * 200_000, "Dr" * 100_000, "1." * 100_000,
], ids=lambda t: repr(t[:8]))
def test_builtin_patterns_stay_linear_on_adversarial_input(text: str) -> None:
    """The built-in packs run without the per-match time limit, so prove they cannot backtrack badly."""
    scanner = Scanner(all_rules(load_packs()), timeout=(5.0, 0.0), guard=True)
    scanner.scan(text)  # a catastrophic pattern would raise PatternTimeout


def test_unguarded_builtin_scan_stays_linear_on_adversarial_input() -> None:
    """Unguarded, the built-in packs may run on the standard library's ``re``, which has no time
    limit: run the same adversarial inputs in a child process that must finish in time."""
    import subprocess
    import sys

    code = ("from deidlint.api import scanner\n"
            "texts = ['_' * 200_000, '*' * 200_000, 'X' * 200_000, '[**' + 'a ' * 100_000, '<' * 200_000,\n"
            "         '{{' * 100_000, '[' * 200_000, '[** ' * 50_000 + '**]', 'x-' * 100_000, '___:' * 50_000,\n"
            "         'a' * 200_000, 'to ' * 70_000, ' .' * 100_000, '-' * 200_000, 'the ' + ' ' * 200_000 + 'x',\n"
            "         'COMPARISON:' + ' .' * 100_000, 'Dr' * 100_000, '1.' * 100_000]\n"
            "for engine in (scanner(), scanner(('ALL',))):\n"
            "    engine.scan_many(texts)\n"
            "    for t in texts:\n"
            "        engine.scan(t)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_triggers_must_start_every_match(tmp_path) -> None:
    from deidlint.rules import load_pack

    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\ntriggers = ["@"]\n[[rules]]\ncode = "XX010"\nname = "late"\n'
                    'message = "m"\npattern = \'a@\'\nmatch = ["a@"]\nno_match = ["b"]\n')
    with pytest.raises(UsageError, match="does not start with one of its triggers"):
        load_pack(pack)
