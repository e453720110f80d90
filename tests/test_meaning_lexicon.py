"""The clinical-meaning check: every lexicon entry and cue runs its own example, and invented
sentences (written for these tests, never taken from a report) pin negation lists, hedges,
pseudo-negations, terminators, wrapped lines, section labels and de-identification markers."""

from __future__ import annotations

import dataclasses
import re
import textwrap
import time

import pytest

from deidlint import meaning
from deidlint.corpus import read_openi, sentences
from deidlint.meaning import CUES, LEXICON, OBSERVATIONS, STATUSES, Mention, assertions, changed, labels, mentions
from tests.conftest import IU_REPORTS

CUE_KINDS = {"pre-negation", "post-negation", "pre-uncertainty", "post-uncertainty", "pseudo", "terminator"}


def _expect(spec: str) -> dict[str, str]:
    """``"Pneumothorax=absent; Edema=present"`` as a labels() dict ("" is no observation)."""
    pairs = [item.split("=") for item in spec.split(";") if item.strip()]
    return {obs.strip(): status.strip() for obs, status in pairs}


# --- the tables -------------------------------------------------------------------------------

def test_observations_and_statuses() -> None:
    assert OBSERVATIONS == (
        "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion", "Lung Opacity", "Edema",
        "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
        "Pleural Other", "Fracture", "Support Devices",
    )
    assert STATUSES == ("present", "absent", "uncertain")
    assert {t.observation for t in LEXICON} == set(OBSERVATIONS)  # every observation has a term


def test_tables_are_lower_case() -> None:
    """Text is lower-cased before matching (no re.IGNORECASE, for speed), so a capital in a
    pattern could never match."""
    for pattern in [t.pattern for t in LEXICON] + [c.pattern for c in CUES]:
        literal = re.sub(r"\\[A-Z]|\(\?P<\w+>", "", pattern)
        assert literal == literal.lower(), pattern


@pytest.mark.parametrize("index", range(len(LEXICON)), ids=lambda i: f"{LEXICON[i].observation}:{LEXICON[i].example}")
def test_lexicon_example(index: int) -> None:
    term = LEXICON[index]
    assert term.observation in OBSERVATIONS
    assert term.status in (None, *STATUSES)
    match = meaning._TERM_ONE[index].search(term.example.lower())
    assert match is not None, "the example does not exercise its own entry"
    status = term.status or "present"
    assert any(m.observation == term.observation and m.status == status and match.start() <= m.start < match.end()
               for m in mentions(term.example)), mentions(term.example)


@pytest.mark.parametrize("cue", CUES, ids=lambda c: f"{c.kind}:{c.example}")
def test_cue_example(cue: meaning.Cue) -> None:
    assert cue.kind in CUE_KINDS
    assert meaning._compile([cue.pattern]).search(cue.example.lower()), "the example does not contain its cue"
    assert labels(cue.example) == _expect(cue.expect)
    if cue.kind not in ("pseudo", "terminator"):  # the cue is the one that gave a status
        found = meaning._compile([cue.pattern]).search(cue.example.lower())
        assert found is not None and found.group() in [m.cue.lower() for m in mentions(cue.example) if m.cue]


# --- invented sentences, expected labels written before the code ran ---------------------------

SENTENCES = [
    # a marker is an unknown word, tolerated where a phrase tolerates a filler word
    ("Heart size ___ moderately enlarged since admission.", "Cardiomegaly=present"),
    ("A left apical nodule is not XXXX seen on this study.", "Lung Lesion=absent"),
    ("The appearance is suggestive edema at both bases.", "Edema=uncertain"),
    # negation lists: a negation covers its coordinated list
    ("No focal consolidation, pleural effusion or pneumothorax after extubation.",
     "Consolidation=absent; Pleural Effusion=absent; Pneumothorax=absent"),
    ("There is no evidence of pneumothorax, large effusion, or lobar consolidation today.",
     "Pneumothorax=absent; Pleural Effusion=absent; Consolidation=absent"),
    ("Without interstitial edema, focal opacity or nodules.", "Edema=absent; Lung Opacity=absent; Lung Lesion=absent"),
    ("The lungs are free of masses and infiltrates.", "Lung Lesion=absent; Lung Opacity=absent"),
    ("Negative for rib fracture and pneumothorax on this exam.", "Fracture=absent; Pneumothorax=absent"),
    ("No definite pneumonia or pulmonary edema is seen on the current film.", "Pneumonia=absent; Edema=absent"),
    ("No cardiomegaly, no effusions, no pneumothoraces are visible.",
     "Cardiomegaly=absent; Pleural Effusion=absent; Pneumothorax=absent"),
    ("No evidence of active tuberculosis or pneumonia.", "Pneumonia=absent"),
    ("Neither effusion nor pneumothorax is seen on the new film.", "Pleural Effusion=absent; Pneumothorax=absent"),
    ("No consolidation to suggest pneumonia.", "Consolidation=absent; Pneumonia=absent"),
    # hedges
    ("Patchy left basilar opacity, possibly early pneumonia.", "Lung Opacity=present; Pneumonia=uncertain"),
    ("Right apical density may represent a healed granuloma.", "Lung Opacity=present; Lung Lesion=uncertain"),
    ("Findings are suspicious for a small right apical pneumothorax.", "Pneumothorax=uncertain"),
    ("A tiny left effusion cannot be excluded on the lateral projection.", "Pleural Effusion=uncertain"),
    ("Cannot exclude a subtle nondisplaced rib fracture on the right.", "Fracture=uncertain"),
    ("Streaky retrocardiac opacity, likely atelectasis.", "Lung Opacity=present; Atelectasis=uncertain"),
    ("Probable mild interstitial edema in both lower zones.", "Edema=uncertain"),
    ("Question of a small nodule projecting over the left fourth rib.", "Lung Lesion=uncertain"),
    ("Atelectasis versus early consolidation in the lingula.", "Atelectasis=uncertain; Consolidation=uncertain"),
    ("Linear atelectasis or scarring in the left midlung zone.", "Atelectasis=uncertain; Lung Opacity=uncertain"),
    ("Borderline cardiomegaly with otherwise normal mediastinal width.",
     "Cardiomegaly=uncertain; Enlarged Cardiomediastinum=absent"),
    ("Heart size is at the upper limit of normal for this projection.", "Cardiomegaly=uncertain"),
    ("Hazy right basilar opacity concerning for infection.", "Lung Opacity=present; Pneumonia=uncertain"),
    ("The appearance suggests developing pulmonary edema in a patient with heart failure.", "Edema=uncertain"),
    ("No pneumothorax, possibly a small left effusion.", "Pneumothorax=absent; Pleural Effusion=uncertain"),
    ("Heart failure is unlikely given the clear lungs.", "Edema=uncertain; Lung Opacity=absent"),
    ("Left lower lobe pneumonia?", "Pneumonia=uncertain"),
    # present: stable, chronic, mild, small, unchanged findings are still findings
    ("Stable mild cardiomegaly and small bilateral pleural effusions.", "Cardiomegaly=present; Pleural Effusion=present"),
    ("Chronic blunting of the right costophrenic angle is unchanged.", "Pleural Effusion=present"),
    ("Healed fractures of the left sixth and seventh ribs.", "Fracture=present"),
    ("Left subclavian pacemaker with leads in the right atrium and ventricle.", "Support Devices=present"),
    ("Interval placement of a right internal jugular central venous catheter.", "Support Devices=present"),
    ("Large right pneumothorax with partial collapse of the right upper lobe.", "Pneumothorax=present; Atelectasis=present"),
    ("Calcified pleural plaques along both hemidiaphragms.", "Pleural Other=present"),
    ("Dense consolidation of the left lower lobe compatible with pneumonia.", "Consolidation=present; Pneumonia=present"),
    ("Widened superior mediastinum compared with the prior study.", "Enlarged Cardiomediastinum=present"),
    ("Post-sternotomy wires and mediastinal surgical clips are noted.", "Support Devices=present"),
    ("Moderate right effusion with adjacent compressive atelectasis.", "Pleural Effusion=present; Atelectasis=present"),
    ("Mild interstitial prominence and a right hilar mass.", "Lung Opacity=present; Lung Lesion=present"),
    ("Calcified granuloma in the right upper lobe, unchanged.", "Lung Lesion=present"),
    # phrases that carry their own polarity
    ("The heart is not enlarged and the lungs remain clear.", "Cardiomegaly=absent; Lung Opacity=absent"),
    ("Normal heart size; the mediastinal silhouette is unremarkable.", "Cardiomegaly=absent; Enlarged Cardiomediastinum=absent"),
    ("Heart and mediastinum appear within normal limits today.", "Cardiomegaly=absent; Enlarged Cardiomediastinum=absent"),
    ("The costophrenic sulci are sharp bilaterally.", "Pleural Effusion=absent"),
    ("Clear and well-inflated lungs.", "Lung Opacity=absent"),
    ("Cardiac silhouette is normal in size and shape.", "Cardiomegaly=absent"),
    ("Normal cardiomediastinal silhouette for age.", "Enlarged Cardiomediastinum=absent; Cardiomegaly=absent"),
    ("The mediastinal contours look normal and the heart is normal in size.",
     "Enlarged Cardiomediastinum=absent; Cardiomegaly=absent"),
    ("Lungs are hyperinflated but otherwise clear today.", "Lung Opacity=absent"),
    # pseudo-negations
    ("No change in the small right pleural effusion.", "Pleural Effusion=present"),
    ("No significant interval change in the moderate cardiomegaly.", "Cardiomegaly=present"),
    ("No increase in the size of the left apical pneumothorax.", "Pneumothorax=present"),
    ("Not only is there consolidation in the right base but also a small effusion.",
     "Consolidation=present; Pleural Effusion=present"),
    ("Without interval change, the left lower lobe atelectasis persists.", "Atelectasis=present"),
    # terminators
    ("No pleural effusion, but there is mild bibasilar atelectasis.", "Pleural Effusion=absent; Atelectasis=present"),
    ("No focal consolidation; moderate cardiomegaly is present.", "Consolidation=absent; Cardiomegaly=present"),
    ("No acute bony injury, although an old clavicle fracture is seen.", "Fracture=present"),
    ("No infiltrate is evident, however a 2 cm mass projects over the hilum.", "Lung Opacity=absent; Lung Lesion=present"),
    ("No suspicious findings with the exception of a small calcified granuloma.", "Lung Lesion=present"),
    ("Opacity at the right base which may reflect aspiration pneumonitis.", "Lung Opacity=present; Pneumonia=uncertain"),
    ("No edema aside from mild vascular congestion.", "Edema=present"),
    ("Endotracheal tube 3 cm above the carina, no pneumothorax.", "Support Devices=present; Pneumothorax=absent"),
    # backward cues and resolution
    ("The right pneumothorax has resolved since yesterday.", "Pneumothorax=absent"),
    ("Previously seen left basilar consolidation is no longer visible.", "Consolidation=absent"),
    ("The feeding tube has been removed.", "Support Devices=absent"),
    ("Pulmonary nodules are not identified on this radiograph.", "Lung Lesion=absent"),
    ("Interval resolution of the right middle lobe pneumonia.", "Pneumonia=absent"),
    ("Resolved left basilar atelectasis and effusion.", "Atelectasis=absent; Pleural Effusion=absent"),
    # hard-wrapped lines
    ("No pleural effusion or\npneumothorax is identified on the upright film.", "Pleural Effusion=absent; Pneumothorax=absent"),
    ("The cardiomediastinal\nsilhouette stays within normal limits.\nThere is now a small left\npleural effusion.",
     "Enlarged Cardiomediastinum=absent; Cardiomegaly=absent; Pleural Effusion=present"),
    ("Possible developing\nconsolidation at the left base.", "Consolidation=uncertain"),
    ("No acute findings today.\n\nLeft chest port in\nsatisfactory position.", "Support Devices=present"),
    # section labels end a scope
    ("FINDINGS: no acute process IMPRESSION: moderate pulmonary edema", "Edema=present"),
    ("COMPARISON: Outside film INDICATION: evaluate for effusion FINDINGS: heart size within normal limits",
     "Pleural Effusion=uncertain; Cardiomegaly=absent"),
    ("IMPRESSION: No pneumothorax after biopsy\nFINDINGS: chest tube in place", "Pneumothorax=absent; Support Devices=present"),
    ("FINDINGS: No pneumothorax on the frontal view. IMPRESSION: Small left apical pneumothorax is likely.",
     "Pneumothorax=uncertain"),
    # de-identification markers are unknown words: no status comes from them
    ("XXXX pneumothorax on the left.", "Pneumothorax=present"),
    ("No XXXX or effusion at the bases.", "Pleural Effusion=absent"),
    ("The XXXX look normal to me.", ""),
    ("___ catheter tip in the superior vena cava.", "Support Devices=present"),
    ("Heart size XXXX. Lungs XXXX.", ""),
    ("Small XXXX effusion, XXXX atelectasis.", "Pleural Effusion=present; Atelectasis=present"),
    # look-alikes that are not these observations
    ("No pericardial effusion is demonstrated.", ""),
    ("Lytic lesion in the proximal humerus.", ""),
]


@pytest.mark.parametrize(("text", "expect"), SENTENCES, ids=[t[:60] for t, _ in SENTENCES])
def test_invented_sentence(text: str, expect: str) -> None:
    assert labels(text) == _expect(expect)


def test_enough_invented_sentences() -> None:
    assert len(SENTENCES) >= 60


def test_invented_text_is_not_from_openi() -> None:
    """The sentences above and the table examples were written for these tests; none may be a
    sentence of the Open-I reports (their licence forbids derivatives)."""
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS}")
    real = {s.lower() for r in read_openi(IU_REPORTS) for _, text in r.sections for s in sentences(text)}
    ours = [t for t, _ in SENTENCES] + [t.example for t in LEXICON] + [c.example for c in CUES]
    ours += [text for before, after, _ in CHANGED for text in (before, after)]
    copied = [s for text in ours for s in sentences(text) if s.lower() in real and not re.fullmatch(r"[A-Z]+:", s)]
    assert copied == []


# --- mentions, assertions, labels --------------------------------------------------------------

def test_mentions_offsets_and_cues() -> None:
    text = "Mild cardiomegaly without edema."
    assert mentions(text) == [Mention("Cardiomegaly", "present", 5, 17, None), Mention("Edema", "absent", 26, 31, "without")]
    assert mentions("Heart size is normal.") == [Mention("Cardiomegaly", "absent", 0, 10, "normal")]
    assert [m.cue for m in mentions("Atelectasis or scarring.")] == ["or", "or"]


def test_mentions_are_in_text_order_and_offsets_hold_in_wrapped_text() -> None:
    text = "There is a small right\npleural effusion and\nmild bibasilar atelectasis, no pneumothorax."
    found = mentions(text)
    assert [text[m.start:m.end] for m in found] == ["effusion", "atelectasis", "pneumothorax"]
    assert [m.start for m in found] == sorted(m.start for m in found)
    assert [m.status for m in found] == ["present", "present", "absent"]


def test_offsets_survive_non_ascii_text() -> None:
    text = "Ödem? No — small İ pneumothorax, stable."
    [m] = mentions(text)
    assert text[m.start:m.end] == "pneumothorax"


def test_mention_is_frozen() -> None:
    m = mentions("Small left effusion.")[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.status = "absent"  # type: ignore[misc]


def test_assertions_keep_every_status_labels_pick_one() -> None:
    text = "Small effusion on the right. No effusion on the left. Possible left effusion on the lateral view."
    assert assertions(text) == {("Pleural Effusion", s) for s in STATUSES}
    assert labels(text) == {"Pleural Effusion": "present"}
    assert labels("Possible small effusion on the right; no effusion on the left.") == {"Pleural Effusion": "uncertain"}
    assert labels("") == {} and assertions("Unremarkable bones for the stated age.") == frozenset()


def test_labels_follow_observation_order() -> None:
    text = "Tiny pneumothorax after the biopsy, the heart is enlarged."
    assert list(labels(text)) == ["Cardiomegaly", "Pneumothorax"]


def test_single_line_and_wrapped_read_the_same() -> None:
    report = ("INDICATION: Short of breath, question of pneumonia. FINDINGS: The heart looks mildly enlarged. "
              "There is no pneumothorax or pleural effusion, but patchy opacity lies at the left base, "
              "possibly atelectasis. IMPRESSION: Cardiomegaly. Left basilar opacity.")
    wrapped = "\n\n".join(textwrap.fill(part, 30) for part in re.split(r" (?=[A-Z]+:)", report))
    assert "\n" in wrapped
    assert assertions(wrapped) == assertions(report)
    assert labels(report) == {"Cardiomegaly": "present", "Lung Opacity": "present", "Pneumonia": "uncertain",
                              "Atelectasis": "uncertain", "Pneumothorax": "absent", "Pleural Effusion": "absent"}


# --- changed -----------------------------------------------------------------------------------

CHANGED = [
    # removing a marker from inside a phrase keeps its meaning
    ("Heart size XXXX mildly enlarged on the portable view.", "Heart size mildly enlarged on the portable view.", []),
    ("A nodule is not XXXX identified.", "A nodule is not identified.", []),
    # a placeholder's shape, or the white space around it, is not meaning
    ("On this film the heart and pulmonary XXXX look normal.", "On this film the heart and pulmonary [PHI] look normal.", []),
    ("Stable left costophrenic XXXX blunting since the tube came out.",
     "Stable left costophrenic  blunting since the tube came out.", []),
    # a hedge lost: scarring goes from uncertain to present, so the status sets differ
    ("Opacity, likely scarring.", "Opacity, scarring.", ["Lung Opacity"]),
    # a negation lost
    ("There is no pneumothorax on the left.", "There is pneumothorax on the left.", ["Pneumothorax"]),
    # a sentence dropped
    ("Mild cardiomegaly again. No effusion is present now.", "Mild cardiomegaly again.", ["Pleural Effusion"]),
    # a finding appeared
    ("Lungs look clear to me.", "Lungs look clear to me. Small left effusion.", ["Pleural Effusion"]),
    # a negated mention dropped while the report-level label stays present
    ("A small right effusion persists. No left effusion remains.", "A small right effusion persists.", ["Pleural Effusion"]),
    # a sentence end inserted inside a negated list
    ("No effusion or pneumothorax on the new film.", "No effusion on the new film. Or pneumothorax.", ["Pneumothorax"]),
    # several, sorted
    ("No edema, no fracture.", "Edema, fracture.", ["Edema", "Fracture"]),
    # meaning kept: a marker replaced, a line re-wrapped, a label re-spaced
    ("Compared with XXXX, no pneumothorax.", "Compared with the prior film, no pneumothorax.", []),
    ("No pleural effusion or pneumothorax this time. Mild cardiomegaly persists.",
     "No pleural effusion or\npneumothorax this time.\nMild cardiomegaly persists.", []),
    ("FINDINGS: No edema this morning. IMPRESSION: Mild cardiomegaly persists.",
     "FINDINGS: No edema this morning.\n\nIMPRESSION: Mild cardiomegaly persists.", []),
    ("", "", []),
]


@pytest.mark.parametrize(("before", "after", "expect"), CHANGED, ids=[b[:40] for b, _, _ in CHANGED])
def test_changed(before: str, after: str, expect: list[str]) -> None:
    assert changed(before, after) == expect
    assert changed(after, before) == expect
    assert changed(before, before) == []


# --- the real reports (read from ../shared, never copied) -------------------------------------

def _reference_spans(text: str) -> set[tuple[str, int, int]]:
    """What one scan per observation finds: the slow, obvious reading the two layered scans of
    :func:`meaning._hits` must reproduce."""
    flat = text.translate(meaning._FLAT).lower()
    out = set()
    for obs in OBSERVATIONS:
        alternatives = "|".join(meaning._GROUP.sub("(?:", t.pattern) for t in LEXICON if t.observation == obs)
        out |= {(obs, *m.span()) for m in re.finditer(rf"(?<!\w)(?:{alternatives})(?!\w)", flat)}
    return out


def _layered_spans(text: str) -> set[tuple[str, int, int]]:
    return {(h[0], h[5], h[6]) for h in meaning._hits(text.translate(meaning._FLAT).lower())}


def test_layered_scan_misses_nothing_on_invented_text() -> None:
    for text in [t for t, _ in SENTENCES] + [t.example for t in LEXICON] + [c.example for c in CUES]:
        assert _layered_spans(text) == _reference_spans(text), text


def test_layered_scan_misses_nothing_on_openi() -> None:
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS}")
    differ = [r.name for r in read_openi(IU_REPORTS) if _layered_spans(r.single_line()) != _reference_spans(r.single_line())]
    assert differ == []


def test_openi_reports_single_line_and_wrapped_agree_and_run_fast() -> None:
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS}")
    reports = read_openi(IU_REPORTS)
    lines = [r.single_line() for r in reports]
    start = time.perf_counter()
    found = [assertions(text) for text in lines]
    elapsed = time.perf_counter() - start
    assert [assertions(r.wrapped()) for r in reports] == found
    assert sum(bool(f) for f in found) > 0.9 * len(reports)
    assert len(reports) / elapsed > 500  # loose: ~4,000 reports/s on one core; catches a runaway pattern
