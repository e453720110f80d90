"""The fix-quality benchmark's instruments: each count on small pairs whose answer is known.

benchmarks/fix_quality.py judges fix on real reports; a miscounting instrument would make its
table say the wrong thing, so its counters are checked here (expected counts written first).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "fix_quality.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fix_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fix_quality", module)
    spec.loader.exec_module(module)
    return module


fq = _load()
CLEAN = fq.Clean(["The lungs are clear.", "There is no effusion.", "Heart size is normal."])


@pytest.mark.parametrize(("before", "after", "wrong"), [
    ("COMPARISON: ___ and ___.", "COMPARISON: 01/02/2010 and 03/04/2011.", 0),   # coordinated comparison dates
    ("Seen with ___ and ___.", "Seen with 01/02/2010 and 03/04/2011.", 1),       # the slot after "with" is wrong once
    ("Consistent with ___.", "Consistent with Dr. Smith.", 1),
    ("Discussed with ___.", "Discussed with Dr. Smith.", 0),                     # a person is discussed with
    ("Called at ___ p.m.", "Called at 4:25 a.m. p.m.", 1),                       # a second meridiem
    ("History of ___.", "History of Moreland.", 1),                              # a surrogate name in a clinical slot
    ("History of ___.", "History of pneumonia.", 0),
    ("The lungs are clear.", "The lungs are clear.", 0),                         # the null: nothing changed
    # the words the value replaced with the marker are its slot: `study of ___` asks for a date
    ("Comparison with the study of ___, no change.", "Comparison with the prior study, no change.", 0),
    ("Seen with the history of ___.", "Seen with the Moreland.", 1),
])
def test_wrong_kind_values(before: str, after: str, wrong: int) -> None:
    assert fq.judge([before], [after], CLEAN).get("wrong-kind values", 0) == wrong


def test_restores_and_unseen_trigrams() -> None:
    counts = fq.judge(["The XXXX are clear.", "The XXXX is normal."], ["The lungs are clear.", "The lungs is normal."],
                      CLEAN)
    assert counts["restores"] == 2
    assert counts["restores unseen"] == 1  # "lungs is normal" never occurs in the clean text


def test_words_the_scrubber_took_are_counted_apart_from_restores() -> None:
    """``nodes`` after ``lymph`` (and ``median`` before ``sternotomy``) is the slot's reading, as a
    hedge is: in a clean text that has the word elsewhere (``nodes`` here) but never after
    ``lymph``, it is no unseen restore."""
    clean = fq.Clean(["The lungs are clear.", "Small nodes are seen in the neck.", "Heart size is normal.",
                      "A calcified lymph node is seen."])
    counts = fq.judge(["Calcified lymph XXXX are seen.", "Small XXXX are seen.", "A calcified lymph XXXX is seen.",
                       "Stable XXXX sternotomy.", "The XXXX are intact."],
                      ["Calcified lymph nodes are seen.", "Small nodes are seen.", "A calcified lymph node is seen.",
                       "Stable median sternotomy.", "The bones are intact."], clean)
    assert counts["taken words written"] == 3
    # where the clean text shows the noun after its modifier, it is a restore like any other
    assert counts["restores"] == 2 and counts.get("restores unseen", 0) == 0


def test_hedges_are_counted_apart_from_restores() -> None:
    counts = fq.judge(["Opacity, XXXX scarring.", "The appearance XXXX atelectasis.", "The XXXX are clear."],
                      ["Opacity, likely scarring.", "The appearance suggests atelectasis.", "The lungs are clear."], CLEAN)
    assert counts["hedges written"] == 2
    assert counts["restores"] == 1


@pytest.mark.parametrize(("before", "after", "dropped"), [
    ("Pacemaker XXXX noted. Old granulomas noted.", "Old granulomas noted.", 1),  # only `noted` is left
    ("Pacemaker XXXX noted. Old granulomas noted.", "Pacemaker noted. Old granulomas noted.", 0),
    # the impression repeats most of the words, not the finding
    ("FINDINGS: XXXX opacity in the right lower lobe. IMPRESSION: Right lower lobe pneumonia.",
     "IMPRESSION: Right lower lobe pneumonia.", 1),
    ("FINDINGS: Mild XXXX opacity in the right lower lobe.", "FINDINGS: Mild opacity in the right lower lobe.", 0),
    ("The XXXX were reviewed. Heart size is normal.", "Heart size is normal.", 0),  # no finding named: not clinical
])
def test_clinical_drops(before: str, after: str, dropped: int) -> None:
    assert fq.judge([before], [after], CLEAN).get("clinical sentences dropped", 0) == dropped


@pytest.mark.parametrize(("before", "after", "changed", "by_hedges"), [
    ("Opacity XXXX represents atelectasis.", "Opacity likely represents atelectasis.", 1, 1),
    ("FINDINGS:\n  Opacity XXXX\n  represents atelectasis.\n", "FINDINGS:\n  Opacity likely\n  represents atelectasis.\n",
     1, 1),
    # something else changed too: not the hedges alone
    ("Opacity XXXX represents atelectasis. XXXX small effusion.", "Opacity likely represents atelectasis.", 1, 0),
    ("Opacity XXXX represents atelectasis.", "Opacity represents atelectasis.", 0, 0),
])
def test_meaning_changed_by_written_hedges_alone(before: str, after: str, changed: int, by_hedges: int) -> None:
    counts = fq.judge([before], [after], CLEAN)
    assert counts.get("reports meaning changed", 0) == changed
    assert counts.get("changed by written hedges alone", 0) == by_hedges


def test_the_word_for_a_date_is_no_restore() -> None:
    """``prior`` in a date's place is what the fix writes for a date, whatever the corpus holds."""
    clean = fq.Clean(["Compared to the prior chest radiograph, no change.", "The lungs are clear."])
    counts = fq.judge(["Opacity is similar to XXXX.", "COMPARISON: XXXX chest radiograph.", "The XXXX are clear."],
                      ["Opacity is similar to prior.", "COMPARISON: Prior chest radiograph.", "The lungs are clear."],
                      clean)
    assert counts["restores"] == 1
    assert counts.get("restores unseen", 0) == 0


@pytest.mark.parametrize(("before", "after", "changed", "renumbered"), [
    # the first item went whole: the second keeps its text under a new number
    ("IMPRESSION: 1. The XXXX are clear. 2. Cardiomegaly.", "IMPRESSION: 1. Cardiomegaly.", 0, 1),
    # the item kept its number on its next sentence: nothing renumbered, nothing changed
    ("IMPRESSION: 1. The XXXX are clear. Recommend CT. 2. Cardiomegaly.",
     "IMPRESSION: 1. Recommend CT. 2. Cardiomegaly.", 0, 0),
    # the sentence's own words changed: changed, whatever its number
    ("IMPRESSION: 1. The XXXX are clear. 2. Mild cardiomegaly.", "IMPRESSION: 1. Cardiomegaly.", 1, 0),
    ("IMPRESSION: 1. The XXXX are clear. 2. Cardiomegaly.", "IMPRESSION: 2. Cardiomegaly.", 0, 0),
])
def test_list_numbers_are_counted_apart(before: str, after: str, changed: int, renumbered: int) -> None:
    counts = fq.judge([before], [after], CLEAN)
    assert counts.get("trace-free sentences changed", 0) == changed
    assert counts.get("list items renumbered", 0) == renumbered


def test_masking_finds_the_sentence_across_the_reports_own_layout() -> None:
    """A wrapped report's sentence is masked where it stands, line breaks and indents kept (the
    sentence is white space folded; looked up as written, it was not found, and the unmasked
    report was scored as if restored)."""
    text = "FINDINGS:\n  The lungs are\n  clear.  No effusion.\n"
    assert fq._mask_in(text, "The lungs are clear.", 1, "XXXX") == "FINDINGS:\n  The XXXX are\n  clear.  No effusion.\n"
    assert fq._mask_in(text, "The lungs are clear.", 3, "___") == "FINDINGS:\n  The lungs are\n  ___.  No effusion.\n"


@pytest.mark.parametrize(("masked", "fixed", "outcome"), [
    # the masked sentence went; the report's other sentence differs from it in that word alone
    ("No XXXX. No effusion.", "No effusion.", "sentence dropped"),
    ("No XXXX. No effusion.", "No pneumothorax. No effusion.", "restored right"),
    ("No XXXX. No effusion.", "No consolidation. No effusion.", "wrong word in slot"),
    # the same sentence twice, one masked: the other is no restore of it
    ("No effusion. No XXXX.", "No effusion.", "sentence dropped"),
])
def test_a_masked_sentence_is_scored_on_its_own_repair(masked: str, fixed: str, outcome: str) -> None:
    sentence = "No effusion." if masked.startswith("No effusion. No XXXX") else "No pneumothorax."
    candidates = fq.repairs(masked, fixed, sentence, 1, "XXXX")
    assert fq.score_masked(sentence, 1, candidates)[0] == outcome


@pytest.mark.parametrize(("fixed", "outcome"), [
    ("Cardiomegaly. The lungs are clear.", "restored right"),
    ("Normal. The lungs are clear.", "wrong word in slot"),
    ("The lungs are clear.", "sentence dropped"),
])
def test_a_one_word_sentence_is_scored_too(fixed: str, outcome: str) -> None:
    """A sentence with no other word to find it by (``Cardiomegaly.``) is found by its shape."""
    candidates = fq.repairs("XXXX. The lungs are clear.", fixed, "Cardiomegaly.", 0, "XXXX")
    assert fq.score_masked("Cardiomegaly.", 0, candidates)[0] == outcome


@pytest.mark.parametrize(("fixed", "outcome"), [
    ("Opacity which likely represent atelectasis.", "another hedge"),
    ("Opacity which may represent atelectasis.", "restored right"),
    ("Opacity which clearly represent atelectasis.", "wrong word in slot"),
])
def test_a_hedge_written_for_another_is_told_apart(fixed: str, outcome: str) -> None:
    """The hedge slots write ``likely`` where the corpus's scrubber took it; in a masked ``may`` it
    keeps the finding uncertain, a word of its own kind but not the masked one."""
    sentence = "Opacity which may represent atelectasis."
    candidates = fq.repairs("Opacity which XXXX represent atelectasis.", fixed, sentence, 2, "XXXX")
    assert fq.score_masked(sentence, 2, candidates)[0] == outcome


def test_the_masking_score_of_a_fix_that_does_nothing() -> None:
    """The null: the masked report left as it was is neither a restore nor a wrong word."""
    masked = "No XXXX. The XXXX are clear."
    candidates = fq.repairs(masked, masked, "No pneumothorax.", 1, "XXXX")
    assert fq.score_masked("No pneumothorax.", 1, candidates) == ("marker left", True)
