"""Text-level repair: every trace goes, untouched sentences stay verbatim, nothing dangles.

Corpora come from the generator (hard-wrapped, every family of marker) and from the real Open-I
reports in ../shared (skipped when absent). The dangling-fragment list below is written here,
independently of the fixer's own guard, so that the tests can catch what the fixer misses.
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict

import pytest

from deidlint import synth
from deidlint.api import scanner
from deidlint.errors import UsageError
from deidlint.fix import SYNONYMS, Fixer, RestoreModel, fix_text, fix_texts, sentence_units
from deidlint.rules import STRATEGIES as ALL_STRATEGIES
from deidlint.rules import Rule

#: Every strategy that writes no token (mask has its own tests: its output holds the token).
STRATEGIES = tuple(s for s in ALL_STRATEGIES if s != "mask")

#: What no repaired sentence may contain (the issue's list).
DANGLING = [
    ("preposition before punctuation or end", re.compile(
        r"\b(?:to|from|of|on|since|at|with|by|dated|through|than|until)\s*(?:[,.;:!?]|$)", re.IGNORECASE)),
    ("Dr. before punctuation or end", re.compile(r"\b(?:Dr|Mr|Mrs|Ms)\.\s*(?:[,.;:!?]|$)")),
    ("empty parentheses", re.compile(r"\(\s*\)|\[\s*\]")),
    ("doubled spaces", re.compile(r"[^\S\n]{2}")),
    ("doubled punctuation", re.compile(r"(?<![ap]\.m)(?<!\.)[,;:.]\s*[,;:]|[,;:]\s*\.(?!\.)|(?<!\.)\.\s+\.")),
    ("leading punctuation", re.compile(r"^\s*[,;:.]")),
]
_HEADER_LINE = re.compile(r"(?m)^[ \t]*(?:\*\*)?[A-Z][A-Z0-9 ,/&()'-]{1,60}:(?:\*\*)?[ \t]*$")


RESIDUE = scanner(("residue",))


def problems(source: str, fixed: str, strategy: str) -> list[str]:
    """Everything wrong with one fixed report, as readable strings (empty when all is well)."""
    found: list[str] = []
    engine = scanner()
    if strategy != "mask":
        found += [f"trace left: {fixed[m.start:m.end]!r}" for m in engine.scan(fixed)]
    spans = [(m.start, m.end) for m in engine.scan(source)]
    for unit in sentence_units(source):
        sentence = source[unit.body:unit.end]
        if not unit.header and not any(s < unit.end and e > unit.start for s, e in spans) and sentence not in fixed:
            found.append(f"untouched sentence lost: {sentence!r}")
    original = {source[u.body:u.end] for u in sentence_units(source)}
    for unit in sentence_units(fixed):
        sentence = fixed[unit.body:unit.end]
        if sentence in original:
            continue
        for what, pattern in DANGLING:
            for m in pattern.finditer(sentence):
                # A quirk the report already had (Open-I has ",786.05" and "abnormality..") is not ours.
                if sentence[max(0, m.start() - 6):m.end() + 6] not in source:
                    found.append(f"{what}: {sentence!r}")
    # The guard judges each repaired sentence with the residue pack; the whole report, its labels
    # inline, must not show more than the source did either (benchmarks/fix_quality.py's column).
    before, after = RESIDUE.scan(source), RESIDUE.scan(fixed)
    if len(after) > len(before):
        found.append(f"residue added: {sorted(m.rule.code for m in after)} against {sorted(m.rule.code for m in before)}")
    for m in _HEADER_LINE.finditer(fixed):
        rest = fixed[m.end():].lstrip(" \t")
        if (not rest.strip() or rest.startswith("\n\n") or _HEADER_LINE.match(rest.lstrip("\n"))) \
                and not _header_was_empty(source, m.group().strip()):
            found.append(f"header left with nothing after it: {m.group().strip()!r}")
    return found


def _header_was_empty(source: str, header: str) -> bool:
    at = source.find(header)
    rest = source[at + len(header):].lstrip(" \t")
    return at >= 0 and (not rest.strip() or rest.startswith("\n\n"))


def check_corpus(texts: list[str], strategy: str, **kwargs: object) -> list[str]:
    """Fix ``texts`` and assert every property; returns the fixed texts."""
    fixed = fix_texts(texts, strategy, **kwargs)  # type: ignore[arg-type]
    bad = {i: p for i, (s, f) in enumerate(zip(texts, fixed, strict=True)) if (p := problems(s, f, strategy))}
    assert not bad, "\n\n".join(f"{texts[i]}\n---\n{fixed[i]}\n{p}" for i, p in list(bad.items())[:3])
    assert fix_texts(fixed, strategy, **kwargs) == fixed, "fixing twice differs from fixing once"  # type: ignore[arg-type]
    sample = texts[:300]
    assert fix_texts(sample, strategy, **kwargs) == fix_texts(sample, strategy, **kwargs), \
        "the fix is not deterministic"  # type: ignore[arg-type]
    return fixed


# -- the examples -------------------------------------------------------------------------

REMOVE_CASES = [
    ("The heart size is unchanged since ___.", "The heart size is unchanged."),
    ("Comparison to ___.", ""),
    ("INDICATION: ___-year-old man with fever.", "INDICATION: Man with fever."),
    ("INDICATION: A XXXX year old woman with cough.", "INDICATION: Woman with cough."),
    ("IMPRESSION: No pneumothorax. Findings were discussed with Dr. ___ by Dr. ___ by telephone at "
     "4:05 p.m. on ___.", "IMPRESSION: No pneumothorax."),
    ("No effusion. Dr. ___ was paged.", "No effusion."),
    ("The left pleural effusion is larger than on ___ at 6:32 p.m.",
     "The left pleural effusion is larger."),
    ("FINDINGS: Compared to ___: The lungs are clear.", "FINDINGS: The lungs are clear."),
    ("Cardiomegaly has been present since ___, most recently ___ at 04:42.", "Cardiomegaly has been present."),
    ("The nodule is unchanged since ___:53 a.m.", "The nodule is unchanged."),
    ("The tube was repositioned at 9.___ am today.", "The tube was repositioned today."),
    ("COMPARISON: ___.\n\nFINDINGS: Clear lungs.", "FINDINGS: Clear lungs."),
    ("IMPRESSION:\n1. No acute process.\n2. Dr. ___ (pager ___) was notified.\n3. Small effusion.",
     "IMPRESSION:\n1. No acute process.\n2. Small effusion."),
    # the next number hides at a sentence's end (no stop before it): the list is not all seen, so
    # it is not renumbered (never `1. Low lung volumes 3.`)
    ("IMPRESSION: 1. Dr. ___ was paged. 2. Low lung volumes 3. No effusion.",
     "IMPRESSION: 2. Low lung volumes 3. No effusion."),
    ("In comparison with the study of ___, there is little interval change.", "There is little interval change."),
    ("Record date: ****-**-**\n\nFINDINGS: Clear.", "FINDINGS: Clear."),
    ("XXXXF with dyspnea.", "Female with dyspnea."),
    ("___ mm nodular opacity in the lingula.", "Nodular opacity in the lingula."),
    ("Seen on [DATE] by [NAME].\nNo effusion.", "No effusion."),
    ("The opacity is better\nevaluated on CT [**2154-2-7**]. Heart\nsize normal.",
     "The opacity is better\nevaluated on CT. Heart\nsize normal."),
    # a header alone over a blank line heads the paragraphs below it, up to a separator line
    ("FINDINGS:\n\nNo effusion.\n\nIMPRESSION:\n\nDr. ___ was paged at ___.", "FINDINGS:\n\nNo effusion."),
    (" ADDENDUM:\n \n Discussed with Dr. ___ at ___.\n______________\n FINAL REPORT\n FINDINGS: No effusion.\n",
     "______________\n FINAL REPORT\n FINDINGS: No effusion.\n"),
]


@pytest.mark.parametrize(("text", "expected"), REMOVE_CASES)
def test_remove_deletes_the_frame_and_repairs_the_sentence(text: str, expected: str) -> None:
    assert fix_text(text, "remove") == expected


NEUTRAL_CASES = [
    ("The heart size is unchanged since ___.", "The heart size is unchanged since a prior study."),
    ("Dr. ___ was paged.", "The referring clinician was paged."),
    ("Discussed with Dr. ___ by Dr. ___.", "Discussed with the referring clinician."),
    ("The line was placed by Dr. ___.", "The line was placed by the radiologist."),
    ("___-year-old man with fever.", "Adult man with fever."),
    ("In comparison with the study of ___, no change.", "In comparison with a prior study, no change."),
    ("As compared to the previous radiograph from ___, no change.", "As compared to the previous radiograph, no change."),
    ("Transferred from <LOCATION> with cough.", "Transferred from an outside hospital with cough."),
]


@pytest.mark.parametrize(("text", "expected"), NEUTRAL_CASES)
def test_neutral_uses_category_words(text: str, expected: str) -> None:
    assert fix_text(text, "neutral") == expected


def test_comparison_never_becomes_a_claim_that_no_prior_exists() -> None:
    for strategy in STRATEGIES:
        fixed = fix_text("COMPARISON: ___.\n\nIMPRESSION: Clear lungs.", strategy)
        assert "none" not in fixed.lower() and "no prior" not in fixed.lower()


def test_mask_uses_one_token_and_keeps_everything_else() -> None:
    text = "Discussed with Dr. ___ ___ on ___. Lungs clear."
    # One token per trace, separators kept: a reader sees where each trace was (issue 11, item 6).
    assert fix_text(text, "mask", mask_token="<X>") == "Discussed with Dr. <X> <X> on <X>. Lungs clear."
    assert fix_text(fix_text(text, "mask"), "mask") == fix_text(text, "mask")
    with pytest.raises(UsageError):
        fix_text(text, "mask", mask_token=" ")


def test_surrogates_fit_the_kind_are_deterministic_and_vary() -> None:
    text = "___-year-old man. Chest radiographs ___ through ___. Dr. ___ paged at ___:___ a.m."
    fixed = fix_text(text, "surrogate", seed=7)
    assert fixed == fix_text(text, "surrogate", seed=7)
    assert fixed != fix_text(text, "surrogate", seed=8)
    m = re.fullmatch(r"(\d+)-year-old man\. Chest radiographs (.+) through (.+)\. Dr\. ([A-Z][a-z]+) paged at "
                     r"(\d{1,2}):(\d\d) a\.m\.", fixed)
    assert m is not None, fixed
    assert 18 <= int(m.group(1)) < 100 and 1 <= int(m.group(5)) <= 12 and int(m.group(6)) < 60
    others = {fix_text(text.replace("man", f"man {i}"), "surrogate", seed=7) for i in range(5)}
    assert len(others) == 5  # varied across reports


@pytest.mark.parametrize(("text", "kinds"), [
    ("Discussed with ___ by ___.", ["name", "name"]),     # the one told and the one who told
    ("Radiographs ___ through ___.", ["date", "date"]),
    ("Caused by ___ and ___.", ["unknown", "unknown"]),   # `by` joins people only, and only to a person
    ("Seen on ___ by ___.", ["date", "unknown"]),
])
def test_a_marker_of_unknown_kind_takes_its_neighbours(text: str, kinds: list[str]) -> None:
    from deidlint.api import scanner
    from deidlint.fix.kinds import kinds_of

    assert kinds_of(text, scanner().scan(text)) == kinds


def test_surrogates_are_consistent_within_a_report() -> None:
    text = ("Mr. [**Known lastname 8334**] is here. Spoke with [**Known lastname 8334**]. "
            "___-year-old. Age ___ years.")
    fixed = fix_text(text, "surrogate")
    names = re.findall(r"(?:Mr\.|with) ([A-Z][a-z]+)", fixed)
    assert len(names) == 2 and names[0] == names[1]
    ages = re.findall(r"\d+", fixed)
    assert len(set(ages)) == 1


def test_restore_learns_words_from_the_corpus_and_never_restores_identifiers() -> None:
    clean = ["The aorta and mediastinal contours look unchanged. A Swan-Ganz catheter is seen."] * 5
    scrubbed = ["The aorta and mediastinal XXXX look unchanged.", "A Swan-___ catheter is seen.",
                "Dr. ___ was paged about the mediastinal XXXX look", "Compared to ___."]
    fixer = Fixer(scanner(), "restore")
    fixed = fix_texts(clean + scrubbed, "restore", fixer=fixer)[5:]
    assert fixed[0] == "The aorta and mediastinal contours look unchanged."
    assert fixed[1] == "A Swan-Ganz catheter is seen."
    assert "Dr." not in fixed[2] and fixed[3] == ""
    # "about the mediastinal XXXX look" ends the text: "contours look" is only ever seen before
    # "unchanged", so the third context has no support beyond its two tokens and nothing is restored.
    assert fixer.stats.restored == 2


def test_restore_falls_back_to_remove_below_the_threshold() -> None:
    corpus = ["The lungs are clear.", "The ribs are clear.", "The bones are clear.", "The XXXX are clear. Heart normal."]
    fixer = Fixer(scanner(), "restore")
    fixed = fix_texts(corpus, "restore", fixer=fixer)
    assert fixed[3] == "Heart normal."
    assert fixer.stats.restored == 0 and fixer.stats.restore_fallbacks == 1


@pytest.mark.parametrize(("scrubbed", "clean", "restored"), [
    # a word with its stop after the marker is the context's right side, not the sentence's end
    ("Calcified lymph XXXX bilaterally.", ["Calcified lymph nodes."] * 3, None),
    ("Calcified lymph XXXX bilaterally.", ["Calcified lymph nodes bilaterally."] * 3, "nodes"),
    # a comma after the marker: the word must have been seen before the two words after it
    ("Heart XXXX, mediastinum, bones normal.", ["Heart size, lungs clear."] * 3, None),
    ("Heart XXXX, mediastinum, bones normal.", ["Heart size, mediastinum, bones normal."] * 3, "size"),
    # a section label on the same line ends the sentence, whatever word the next section starts with
    ("INDICATION: Chest XXXX FINDINGS: Normal.", ["INDICATION: Chest pain FINDINGS: The lungs are clear."] * 3, "pain"),
    # a glued word must have been seen between the same two words
    ("A dual-XXXX pacemaker.", ["A dual-lumen catheter."] * 3, None),
    ("A dual-XXXX catheter.", ["A dual-lumen catheter."] * 3, "lumen"),
    # a sentence's first word: the sentence start is its left side, at the text's start or after a stop
    ("XXXX rods are noted.", ["Harrington rods are noted."] * 3, "Harrington"),
    ("Lungs clear. XXXX rods are noted.", ["Spine intact. Harrington rods are noted."] * 3, "Harrington"),
    ("XXXX rods are noted.", ["Harrington rods were removed."] * 3, None),
    ("XXXX rods are noted.", ["The Harrington rods are noted."] * 3, None),
    # ... but never a word that sets a status or denies a prior: the clean text's `No` is not what
    # a scrubber took there
    ("XXXX focal consolidation.", ["No focal consolidation."] * 3, None),
    ("COMPARISON: XXXX INDICATION: Cough.", ["COMPARISON: None INDICATION: Fever."] * 3, None),
])
def test_restore_is_seen_from_both_sides(scrubbed: str, clean: list[str], restored: str | None) -> None:
    start = scrubbed.index("XXXX")
    key = RestoreModel.context(scrubbed, start, start + 4)
    model = RestoreModel()
    model.need(key)
    model.learn(clean)
    assert model.predict(key, RestoreModel.outer(scrubbed, start, start + 4, key))[0] == restored


@pytest.mark.parametrize(("scrubbed", "corpus", "restored"), [
    # after a word that names nothing, the marker is the context's commoner fill: another word was taken
    ("The XXXX are broadly clear.", ["The lungs are broadly clear."] * 3 + ["The XXXX are broadly clear."] * 4, None),
    ("No XXXX of effusion.", ["No evidence of effusion."] * 3 + ["No XXXX of effusion."] * 4, None),
    # the word is the commoner, or the marker too rare to say
    ("The XXXX are broadly clear.", ["The lungs are broadly clear."] * 4 + ["The XXXX are broadly clear."] * 3, "lungs"),
    ("The XXXX are broadly clear.", ["The lungs are broadly clear."] * 3 + ["The XXXX are broadly clear."] * 3, "lungs"),
    ("The XXXX are broadly clear.", ["The lungs are broadly clear."] * 3 + ["The XXXX are broadly clear."] * 2, "lungs"),
    # a modifier names no one thing either: Open-I's `pulmonary XXXX` was the vessels or the hila
    ("The pulmonary XXXX are normal.", ["The pulmonary vasculature are normal."] * 3 + ["The pulmonary XXXX are normal."] * 5,
     None),
    ("The pulmonary XXXX are normal.", ["The pulmonary vasculature are normal."] * 5 + ["The pulmonary XXXX are normal."] * 3,
     "vasculature"),
])
def test_a_context_the_marker_fills_most_is_not_restored(scrubbed: str, corpus: list[str], restored: str | None) -> None:
    start = scrubbed.index("XXXX")
    key = RestoreModel.context(scrubbed, start, start + 4)
    model = RestoreModel(is_marker=lambda word: word == "XXXX")
    model.need(key)
    model.learn(corpus)
    assert model.predict(key, RestoreModel.outer(scrubbed, start, start + 4, key))[0] == restored


@pytest.mark.parametrize(("text", "index", "alone"), [
    ("XXXX-year-old female XXXX.", 1, False),       # the age's replacement is unknown (``adult`` under neutral)
    ("Heart XXXX, mediastinum, XXXX normal.", 0, False),  # a comma is checked with two words after it
    ("A XXXX. The XXXX are clear.", 1, True),       # a sentence ends between the two
    ("The XXXX are clear XXXX.", 0, True),          # two clean words on the right
    ("The XXXX are XXXX.", 0, False),
    ("Effusion XXXX. XXXX rods are noted.", 1, True),  # a sentence's first word has no left side to check
])
def test_a_restore_beside_another_marker_is_not_judged(text: str, index: int, alone: bool) -> None:
    spans = [m.span() for m in re.finditer("XXXX", text)]
    start, end = spans[index]
    key = RestoreModel.context(text, start, end)
    assert key is not None
    assert RestoreModel.judged_alone(text, start, end, key, spans[index - 1][1] if index else None,
                                     spans[index + 1][0] if index + 1 < len(spans) else None) is alone


def test_restore_model_confidence() -> None:
    model = RestoreModel(threshold=0.75, min_support=2)
    text = "pulmonary XXXX are"
    key = RestoreModel.context(text, 10, 14)
    assert key == ("free", "1", "pulmonary", "are")
    model.need(key)
    model.learn(["pulmonary vasculature are", "pulmonary vasculature are", "pulmonary vasculature are", "pulmonary edema are"])
    assert model.predict(key) == ("vasculature", 0.75)
    strict = RestoreModel(threshold=0.9)
    strict.need(key)
    strict.learn(["pulmonary vasculature are"] * 3 + ["pulmonary edema are"])
    assert strict.predict(key)[0] is None
    with pytest.raises(UsageError):
        RestoreModel(threshold=0)


def test_per_rule_strategies_and_selector_specificity() -> None:
    fixer = Fixer(scanner(), "remove", {"mimic": "mask", "DL104": "neutral", "DL1": "surrogate"})
    rules = {r.code: r for r in fixer.scanner.rules}
    assert fixer.strategy_for(rules["DL104"]) == ("neutral", True)
    assert fixer.strategy_for(rules["DL101"]) == ("surrogate", True)
    assert fixer.strategy_for(rules["DL301"]) == ("remove", False)
    with pytest.raises(UsageError):
        Fixer(scanner(), "remove", {"DL999": "mask"})
    with pytest.raises(UsageError):
        Fixer(scanner(), "erase")


def test_report_only_rules_are_left_in_place_and_counted() -> None:
    from deidlint.engine import Scanner

    note = Rule(code="DL901", name="note-rule", pack="user", message="a note", pattern="NOTE", category="info")
    fixer = Fixer(Scanner([*scanner().rules, note]), "remove")
    assert fixer.fix_text("NOTE: lungs clear since ___.") == "NOTE: lungs clear."
    assert fixer.stats.remaining == {"DL901": 1}


def test_sentence_units_know_headers_lists_and_abbreviations() -> None:
    text = ("FINDINGS: Dr. Smith saw it at 4:05 p.m. on Monday. Lungs clear.\n"
            "IMPRESSION:\n1. No change.\n2. Small effusion.")
    units = [(text[u.start:u.end], u.header) for u in sentence_units(text)]
    assert units == [("FINDINGS:", True), ("Dr. Smith saw it at 4:05 p.m. on Monday.", False),
                     ("Lungs clear.", False), ("IMPRESSION:", True), ("1. No change.", False),
                     ("2. Small effusion.", False)]


def test_spacy_segmenter_gives_the_same_repairs_on_plain_sentences() -> None:
    pytest.importorskip("spacy")
    texts = [r.text for r in synth.generate(60, seed=5, style="mimic")]
    fixer = Fixer(scanner(), "remove", segmenter="spacy")
    fixed = fix_texts(texts, "remove", fixer=fixer)
    assert all(not problems(s, f, "remove") for s, f in zip(texts, fixed, strict=True))


def test_spacy_segmenter_without_spacy_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """spaCy is an extra (210 MB the core install no longer carries): asking for it without it
    is one line that names the extra."""
    from deidlint.errors import UsageError

    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy now raises ImportError
    fixer = Fixer(scanner(), "remove", segmenter="spacy")
    with pytest.raises(UsageError, match=r"pip install 'deidlint\[spacy\]'"):
        fix_texts(["Seen on ___. No effusion."], "remove", fixer=fixer)


# -- corpora ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> list[str]:
    return [r.text for r in synth.generate(800, seed=21)]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_generated_corpus(generated: list[str], strategy: str) -> None:
    fixed = check_corpus(generated, strategy)
    assert sum(a != b for a, b in zip(generated, fixed, strict=True)) > 450


def test_generated_corpus_each_family_remove() -> None:
    for style in synth.FAMILIES:
        check_corpus([r.text for r in synth.generate(150, seed=3, style=style)], "remove")


@pytest.fixture(scope="module")
def openi_reports(openi_sections: list[tuple[str, str, str]]) -> list[str]:
    """Whole Open-I reports, rebuilt from their sections as ``LABEL: text`` paragraphs."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for name, label, text in openi_sections:
        by_file[name].append(f"{label.upper()}: {text}")
    return ["\n\n".join(parts) for _, parts in sorted(by_file.items())]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_openi_reports(openi_reports: list[str], strategy: str) -> None:
    texts = openi_reports if strategy == "remove" else openi_reports[:800]
    check_corpus(texts, strategy)


@pytest.mark.parametrize("group", SYNONYMS)
def test_synonyms_share_their_support(group) -> None:  # type: ignore[no-untyped-def]
    fillers, expected = group.example
    model = RestoreModel(threshold=0.9, min_support=3)
    key = ("free", "1", "pulmonary", "are")
    model.need(key)
    model.merge({key: Counter(fillers)})
    assert model.predict(key) == (expected, pytest.approx(sum(n for w, n in fillers.items() if w in group.words)
                                                        / sum(fillers.values())))
    alone = RestoreModel(threshold=0.9, min_support=3)
    alone.need(key)
    alone.merge({key: Counter({w: n for w, n in fillers.items() if w == expected} |
                                                        {"nodules": sum(fillers.values())})})
    assert alone.predict(key)[0] is None  # without its synonyms the word has no majority


def test_function_words_are_never_restored() -> None:
    model = RestoreModel(threshold=0.9, min_support=3)
    key = ("free", "1", "sternotomy", ".")
    model.need(key)
    model.merge({key: Counter({"and": 5})})
    assert model.predict(key) == (None, 0.0)
