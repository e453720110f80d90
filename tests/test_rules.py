"""Every rule documents itself with examples; this is where they are enforced (as yamllint does)."""

from __future__ import annotations

import pytest

from deidlint.engine import Scanner
from deidlint.rules import KINDS, STRATEGIES, all_rules, builtin_rules_dir, load_packs, select_rules, selection

RULES = all_rules(load_packs())
SCANNER = Scanner(RULES)


def test_every_builtin_pack_loads_with_unique_codes_and_names() -> None:
    packs = load_packs()
    assert {p.name for p in packs} >= {"mimic", "physionet", "openi", "presidio", "scrubadub", "redaction", "philter"}
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(codes) == len(set(codes)) and len(names) == len(set(names))
    assert all(r.kind in KINDS and r.fix in STRATEGIES for r in RULES)
    # Trace packs run by default; the residue pack is opt-in, its rules warnings.
    assert all(r.category == "trace" and r.default for r in RULES if r.pack != "residue")
    assert all(r.category == "residue" and r.severity == "warning" and not r.default and r.code.startswith("DL8")
               for r in RULES if r.pack == "residue")
    assert builtin_rules_dir().is_dir()


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_examples(rule) -> None:
    assert rule.match and rule.no_match, f"{rule.code} needs examples that match and that do not"
    for example in rule.match:
        own = rule.compiled().search(example)
        assert own, f"{rule.code} should match {example!r}"
        # In the combined scanner the example must be attributed to this rule: it proves pack
        # order gives the specific rule priority over the generic one.
        assert any(m.rule.code == rule.code for m in SCANNER.scan(example)), (rule.code, example)
    for example in rule.no_match:
        assert not rule.compiled().search(example), f"{rule.code} should not match {example!r}"


@pytest.mark.parametrize("text", [
    "______________________________",          # separator/signature line
    "Electronic signature: __________________",
    "PA and lateral x-ray of the chest.",
    "X-ray shows a < 5 mm nodule.",
    "See prior report [see prior].",
    "**IMPRESSION:** No acute process.",
    "Ribs II-XII are intact.",
    "Order ORD_2023_0411 was placed.",
    "Fusion at C5-C6. Seen at 4:05 p.m.",
    "Markdown ***emphasis*** and a ---- rule.",
    "Values a<b and <BR> tags.",
])
def test_not_traces(text: str) -> None:
    assert SCANNER.scan(text) == []


@pytest.mark.parametrize("text, markers", [
    ("Compared to chest radiographs ___ through ___.", ["___", "___"]),
    ("since ___:53 a.m.", ["___"]),
    ("at 9.___ am", ["___"]),
    ("at ___:___ on ___", ["___", "___", "___"]),
    ("Swan-___ catheter", ["___"]),
    ("___-year-old man", ["___"]),
    ("[**Last Name (NamePattern1) 1407**] [**Hospital1 18**] [**2151-8-5**] [**6-25**] [**2554**]",
     ["[**Last Name (NamePattern1) 1407**]", "[**Hospital1 18**]", "[**2151-8-5**]", "[**6-25**]", "[**2554**]"]),
    ("[**Name (NI) **] and [** Known patient lastname **]", ["[**Name (NI) **]", "[** Known patient lastname **]"]),
    ("x-XXXX, XXXX-year-old, XXXX XXXX", ["XXXX"] * 4),
    ("<PERSON> {{NAME}} [REDACTED] <<NAME>> Mr. ******* ****-**-**",
     ["<PERSON>", "{{NAME}}", "[REDACTED]", "<<NAME>>", "*******", "****-**-**"]),
    ("trace at a line end ___\nnext line", ["___"]),
])
def test_trace_contexts(text: str, markers: list[str]) -> None:
    assert [text[m.start:m.end] for m in SCANNER.scan(text)] == markers


def test_select_and_ignore_by_prefix_name_and_pack() -> None:
    assert {r.pack for r in select_rules(RULES, ["mimic"])} == {"mimic"}
    assert {r.code for r in select_rules(RULES, ["DL10"])} == {"DL101", "DL102", "DL103", "DL104"}
    assert "DL303" not in {r.code for r in select_rules(RULES, [], ["openi-marker"])}
    assert len(select_rules(RULES, ["ALL"])) == len(RULES)
    default = select_rules(RULES)
    assert default and all(r.default for r in default) and "residue" not in {r.pack for r in default}
    assert {r.pack for r in select_rules(RULES, ["residue"])} == {"residue"}
    assert {r.pack for r in select_rules(RULES, [], [], ["residue"])} == {r.pack for r in RULES}
    assert select_rules(RULES, ["DL801"], [], ["mimic"]) == [r for r in RULES if r.code == "DL801" or r.pack == "mimic"]


# text, selectors (select, ignore), the findings expected (written before the code)
SILENCED = [
    ("Seen on [**2150-3-4**].", ([], []), [("DL201", "[**2150-3-4**]")]),
    ("Seen on [**2150-3-4**].", ([], ["physionet-date"]), []),  # not DL209, the generic tag rule
    ("Seen on [**2150-3-4**].", (["DL209"], []), []),  # DL201's text is DL201's, selected or not
    ("Seen on [**Hospital1 18**] and [**Known lastname **].", ([], ["physionet-place"]), [("DL202", "[**Known lastname **]")]),
    ("PA and lateral x-XXXX.", ([], []), [("DL302", "XXXX")]),
    ("PA and lateral x-XXXX.", ([], ["DL302"]), []),  # not DL303, the bare Open-I marker
    ("PA and lateral x-XXXX. Dr. XXXX.", ([], ["DL302"]), [("DL303", "XXXX")]),
]


@pytest.mark.parametrize(("text", "selectors", "expected"), SILENCED)
def test_ignored_rules_drop_their_findings_instead_of_handing_them_on(
        text: str, selectors: tuple[list[str], list[str]], expected: list[tuple[str, str]]) -> None:
    chosen = selection(RULES, *selectors)
    found = [(m.rule.code, text[m.start:m.end]) for m in Scanner.of(chosen).scan(text)]
    assert found == expected
    assert not chosen.silent & set(chosen.rules) and "residue" not in {r.pack for r in chosen.silent}


def test_unknown_selector_is_an_error() -> None:
    from deidlint.errors import UsageError

    with pytest.raises(UsageError, match="unknown rule selector"):
        select_rules(RULES, ["DL999"])
