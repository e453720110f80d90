"""The guard that judges each repaired sentence: its records' examples, and what it rejects.

All sentences here are invented.
"""

from __future__ import annotations

import pytest

from deidlint.api import scanner
from deidlint.fix import Fixer, fix_texts
from deidlint.fix.guard import FLAWS, SLOTS, cue_slot, hedge_slot, judge


@pytest.mark.parametrize("flaw", FLAWS, ids=lambda f: f.name)
def test_every_flaw_flags_its_examples_and_passes_the_others(flaw) -> None:  # type: ignore[no-untyped-def]
    assert flaw.why and flaw.flags and flaw.passes
    for original, repaired in flaw.flags:
        assert judge(original, original, repaired) == flaw.name, repaired
    for sentence in flaw.passes:
        assert judge(sentence, sentence, sentence) is None, sentence


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: s.name)
def test_every_slot_finds_its_examples(slot) -> None:  # type: ignore[no-untyped-def]
    assert slot.why and slot.slots and slot.not_slots
    for sentence in slot.slots:
        at = sentence.index("XXXX")
        found = hedge_slot(sentence, at, at + 4)
        assert found is not None and found.name == slot.name, sentence
    for sentence in slot.not_slots:
        at = sentence.index("XXXX")
        assert hedge_slot(sentence, at, at + 4) is None, sentence


def test_a_word_glued_to_a_marker_is_no_finding_before_a_cause() -> None:
    """``XXXX-year-old XXXX due to``: the second marker is the patient, not a scrubbed hedge."""
    text = "A XXXX-year-old XXXX due to a fall."
    at = text.rindex("XXXX")
    assert hedge_slot(text, at, at + 4) is None
    assert hedge_slot("Markings XXXX due to a fall.", 9, 13) is not None


@pytest.mark.parametrize(("original", "candidate", "why"), [
    ("No XXXX pneumothorax.", "No pneumothorax.", None),
    ("Possible XXXX effusion.", "Effusion.", "meaning"),          # the hedge went
    ("No effusion XXXX.", "", "meaning"),                         # a negated finding went
    ("Discussed with Dr. XXXX.", "", None),                       # administrative: nothing asserted
    ("Calcified lymph XXXX are seen.", "Calcified lymph are seen.", "residue"),
    ("Comparison to XXXX.", "Comparison to.", "residue"),
])
def test_judge(original: str, candidate: str, why: str | None) -> None:
    assert judge(original, original, candidate) == why


def test_a_restore_cannot_bring_in_the_corpus_residue() -> None:
    # The reading (the restore applied) has the residue too; the original does not.
    assert judge("Female XXXX.", "Female with.", "Female with.") == "residue"


MARKED = ["FINDINGS: The XXXX are unremarkable today. No pneumothorax.", "IMPRESSION: Calcified hilar XXXX are seen."]


@pytest.mark.parametrize(("unresolved", "expected"), [
    ("drop", ["FINDINGS: No pneumothorax.", ""]),
    ("keep", MARKED),
    ("mask", ["FINDINGS: The [PHI] are unremarkable today. No pneumothorax.", "IMPRESSION: Calcified hilar [PHI] are seen."]),
])
def test_unresolved_sentences_go_the_way_the_user_chose(unresolved: str, expected: list[str]) -> None:
    fixer = Fixer(scanner(), "remove", unresolved=unresolved)
    assert fix_texts(MARKED, "remove", fixer=fixer) == expected
    stats = fixer.stats
    action = {"drop": "dropped", "keep": "kept", "mask": "masked"}[unresolved]
    assert stats.count(action, True) == 2
    assert {(d.record, d.action, d.clinical) for d in stats.drops} == {(0, action, True), (1, action, True)}
    assert [d.reason for d in stats.drops] == ["residue", "slot: head noun"]  # "The are"; "lymph XXXX are"
    # Offsets name the sentence in its cell, so a reviewer finds it without the text in the report.
    assert MARKED[0][stats.drops[0].start:stats.drops[0].end] == "The XXXX are unremarkable today."
    if unresolved == "keep":
        assert stats.remaining["DL303"] == 2


def test_a_hedge_slot_keeps_its_hedge_and_mask_keeps_the_marker_place() -> None:
    text = ["Left basilar opacity XXXX represents atelectasis.  Opacity unchanged, XXXX scarring."]
    assert fix_texts(text, "remove") == ["Left basilar opacity likely represents atelectasis.  "
                                         "Opacity unchanged, likely scarring."]
    assert fix_texts(text, "mask") == ["Left basilar opacity [PHI] represents atelectasis.  "
                                       "Opacity unchanged, [PHI] scarring."]


def test_a_negated_prefix_is_never_deleted() -> None:
    fixer = Fixer(scanner(), "remove")
    assert fix_texts(["History: non-XXXX. No effusion."], "remove", fixer=fixer) == ["No effusion."]
    assert [d.reason for d in fixer.stats.drops] == ["slot: negated prefix"]


def test_adjacent_masks_keep_their_separators() -> None:
    assert fix_texts(["Comparison: XXXX, XXXX. Dr. ___ ___ was paged."], "mask") == \
        ["Comparison: [PHI], [PHI]. Dr. [PHI] [PHI] was paged."]


@pytest.mark.parametrize(("sentence", "slot"), [
    ("XXXX focal consolidation.", True),
    ("There is XXXX pneumothorax.", True),
    ("Heart size normal, XXXX pleural effusion.", True),
    ("No XXXX effusion.", False),             # the finding has its cue
    ("Left basilar XXXX opacity.", False),    # after an adjective: the marker modifies, it governs nothing
    ("XXXX are unremarkable today.", False),              # no finding after it
    ("XXXX mm nodular opacity.", False),      # a measurement's digits
])
def test_a_marker_before_an_ungoverned_finding_is_a_cue_slot(sentence: str, slot: bool) -> None:
    at = sentence.index("XXXX")
    assert cue_slot(sentence, at, at + 4) is slot
