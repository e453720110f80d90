"""Whether a repaired sentence may replace the original: the principles of ``fix``, as checks.

A repair is tried, then judged, in the order of the principles it must keep:

1. **Meaning.** No finding appears, disappears or changes status (present, absent, uncertain):
   the clinical-meaning reader :mod:`deidlint.meaning` must read the same assertions in the
   repaired sentence as in the original, where a marker is an unknown word. A marker in a *hedge
   or negation slot* (``XXXX represents atelectasis``, ``non-XXXX``) may have hidden the very word
   that made a finding uncertain or absent; deleting it would make the finding certain, so such a
   marker is never simply deleted (:data:`SLOTS`).
2. **No residue.** The repair adds no finding of the ``residue`` pack (rules/residue.toml):
   the same definition of wreckage that ``deidlint check --select residue`` reports.
3. **Grammar.** The repair leaves no sentence that lost its subject (``Are normal.``) or its
   complement (``Lung volumes are.``) (:data:`FLAWS`).

A repair that fails any check is not written: the sentence goes the way ``--unresolved`` says
(dropped and reported, kept for review, or masked). The meaning reader is the same one that
``benchmarks/fix_quality.py`` uses to count changed reports, so on that column the benchmark
measures this guard's consistency, not its truth; the hand-labelled sentences
(tests/data/openi_meaning_labels.json) and the case table (tests/data/fix_cases.toml) are the
independent evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import regex

from deidlint import meaning
from deidlint.engine import Scanner
from deidlint.fix.remove_frames import CONJUNCT_MODIFIERS


class Flaw(NamedTuple):
    """A grammatical flaw a deletion can leave: why it is one, a pattern; repairs (original,
    repaired) it must flag; sentences it must pass."""

    name: str
    why: str
    pattern: str
    flags: tuple[tuple[str, str], ...]
    passes: tuple[str, ...]


#: Flaws judged on the repaired sentence; one the original already had is not the repair's.
FLAWS: tuple[Flaw, ...] = (
    Flaw("subject lost", "the marker was the subject: a verb or a conjunction opens what is left",
         r"^[\W\d]*(?:(?i:however|also|then|again),?\s+)?(?i:is|are|was|were|appears?|remains?|"
                         r"measures?|represents?|reflects?|demonstrates?|shows?|and|or|but|nor)\b",
         (("XXXX are unremarkable bilaterally.", "Are unremarkable bilaterally."),
          ("XXXX XXXX and lateral views were obtained today.", "And lateral views were obtained today."),
          ("However, XXXX is recommended.", "However, is recommended.")),
         ("The lungs are normal.", "Andersen catheter in place.")),
    Flaw("owner lost", "the marker owned what follows: a possessive `'s` is left without its owner",
         r"(?:^|(?<=[\s(]))['\u2019]s\b",
         (("XXXX's nurse was notified.", "'s nurse was notified."),
          ("Female with XXXX's syndrome.", "Female with 's syndrome.")),
         ("The patient's cough is better.", "Sjogren's syndrome.")),
    Flaw("determiner without its noun", "the marker was the noun after `the`: an adverb follows the article",
         r"\b(?i:the|a|an)\s+[a-z]{3,}ly\s*(?:[.,;:!?]|$)",
         (("Opacities in the XXXX bilaterally.", "Opacities in the bilaterally."),),
         ("Opacities in the lungs bilaterally.", "A likely small effusion.")),
    Flaw("modifier without its noun", "Open-I's scrubber took every `nodes` after `lymph` and every `angles` after "
         "`costophrenic`: these two never stand without their noun, so any other word after them (an adverb, "
         "`with`, `which`, `and`, a participle) says the noun is gone",
         # (a finding after `costophrenic` is a noun it modifies: `costophrenic airspace disease`)
         r"\b(?i:lymph|costophrenic)\s+(?!(?i:nod(?:es?|al)|angles?|sulc(?:us|i)|recess(?:es)?|regions?|blunting|"
         r"opacit(?:y|ies)|airspace|focal|pleural|atelectasis|scarring|effusions?|thickening)\b)[a-z]+\b",
         (("Calcified hilar lymph XXXX bilaterally.", "Calcified hilar lymph bilaterally."),
          ("Mild blunting of the left costophrenic XXXX with a trace of fluid.",
           "Mild blunting of the left costophrenic with a trace of fluid."),
          ("Left costophrenic XXXX obscured.", "Left costophrenic obscured.")),
         ("Calcified hilar lymph nodes bilaterally.", "Clear lungs bilaterally.",
          "Mild blunting of the left costophrenic angle with a trace of fluid.")),
    Flaw("complement lost", "the marker was what the verb said of its subject",
         r"\b(?i:is|are|was|were|be|been|appears?|remains?|seems?|measures?|measuring)"
                            r"[ \t]*(?:[.,;:!?]|$)",
         (("Overall, lung volumes are XXXX.", "Overall, lung volumes are."),
          ("The tube remains in XXXX.", "The tube remains.")),
         ("Lung volumes are low today.", "No effusion is seen.")),
    Flaw("coordination broken", "the marker was a conjunct: `and` joins nothing",
         r"\b(?i:and|or)[ \t]*(?:[,.;:!?]|$|(?i:and|or|is|are|was|were|appears?|remains?)\b)",
         (("The pulmonary vessels and XXXX are unremarkable.", "The pulmonary vessels and are unremarkable."),),
         ("The heart and lungs are normal.", "No effusion or pneumothorax is seen today.")),
    Flaw("object lost", "the marker was what was recommended, ruled out or consistent with",
         r"\b(?i:recommend(?:s|ed)?|consider|evaluate|rule out|r/o|status post|s/p|history of|"
                        r"secondary to|due to|consistent with|compatible with|suggestive of|concerning for)"
                        r"[ \t]*(?:[.,;:!?]|$)",
         (("We recommend XXXX.", "We recommend."), ("Consider XXXX.", "Consider.")),
         ("Recommend follow-up.", "Findings concerning for pneumonia.")),
)
_FLAWS = [(f.name, regex.compile(f.pattern)) for f in FLAWS]


class Slot(NamedTuple):
    """Where a marker may have hidden a hedge or a negation: what is glued before it, or what follows.

    ``fill`` is the word that keeps the sentence's meaning in the slot (the hedge ``likely``: the
    finding stays uncertain), or None where no word can (``non-XXXX``: the sentence is unresolved).
    """

    name: str
    why: str
    left: str | None
    right: str | None
    fill: str | None
    slots: tuple[str, ...]
    not_slots: tuple[str, ...]


#: Words that can start a phrase without being its modifier: a marker after one is not a head noun.
_FUNCTION = (r"and|or|nor|but|the|a|an|of|with|without|to|in|on|at|for|by|from|no|not|is|are|was|were|"
             r"as|than|that|this|these|those|which|its|their|his|her|there|dr|mr|mrs|ms|"
             # the words before a comparison's date: ``Chest PA and lateral XXXX``, ``prior XXXX``
             r"ap|pa|lateral|chest|radiographs?|portable|frontal|upright|ct|mri|exams?|examinations?|stud(?:y|ies)|"
             r"films?|views?|prior|dated|since|comparison")
#: Where a word of content starts: not inside a word or after a hyphen, and not a function word.
_CONTENT_WORD = rf"(?<![\w-])(?!(?i:{_FUNCTION})\s)"
#: Verbs (and their past participles) that follow a finding's subject.
_AFTER_SUBJECT = (r"is|are|was|were|has|have|appears?|remains?|identified|seen|noted|present|demonstrated|"
                  r"visualized|unchanged|stable|again|of")

#: What a hedge governs: a diagnosis, with the modifiers a report puts before it.
_DIAGNOSIS = (r"\s+(?:(?:a|an|the|some|small|mild|minimal|left|right|bibasilar|basilar|subsegmental|dependent|adjacent|"
              r"chronic|old|early|focal|patchy|linear|platelike|discoid)\s+)*(?:atelectasis|scarring|scar|fibrosis|"
              r"effusion|pneumonia|infiltrate|consolidation|edema|granuloma|nodule|mass|infection|aspiration|emphysema|"
              r"COPD)\b")

def _taken_noun(modifier: str, plural: str, singular: str, plurals: tuple[str, ...],
                singulars: tuple[str, ...]) -> tuple[Slot, Slot]:
    """The slots of a noun that Open-I's scrubber took in every report (``lymph nodes``,
    ``costophrenic angles``, ``sternotomy wires``: the corpus never spells it, so no restore can
    learn it), after the one modifier that names it; the verb after the marker says how many."""
    why = (f"`{modifier} XXXX are` is `{modifier} {plural} are`: `{modifier}` names this noun, which the "
           f"scrubber took in every report (the corpus never spells it); the verb says how many")
    left = rf"\b(?i:{modifier})\s+$"
    return (Slot(f"{modifier} {plural}", why, left, r"\s+(?:are|appear|have|were|remain)\b", plural, plurals,
                 ("The XXXX are enlarged.", f"{modifier.capitalize()} XXXX within normal limits.")),
            Slot(f"{modifier} {singular}", why, left, r"\s+(?:is|appears|has|was|remains)\b", singular, singulars,
                 ("The XXXX is enlarged.",)))


#: Slots where deleting a marker cannot keep the sentence's meaning or grammar, whatever it hid: a
#: hedge or a negation, a head noun, a verb. In the examples, ``XXXX`` is the marker judged.
SLOTS: tuple[Slot, ...] = (
    Slot("interpretation verb", "the marker stands where `likely` stood: the corpus never spells it",
         # not after a preposition or a determiner: there the marker is a noun (`the setting of XXXX is
         # concerning`), and `likely` in its place is no sentence
         r"(?<!(?<![\w-])(?i:of|the|a|an|with|no|for|in|on|to|from|by)\s{1,3})$",
         r"\s+(?:(?:most\s+)?(?:likely|probably|possibly)\s+)?(?:represents?|representing|reflects?|reflecting|"
         r"indicates?|indicating|suggests?|suggesting|signif(?:y|ies|ying)|"
         r"(?:is|are)\s+(?:consistent|compatible|related|secondary|due|suspicious|concerning))\b",
         "likely", ("XXXX represents atelectasis.", "Opacity, XXXX reflects scarring.",
                    "Right lower lobe XXXX representing hemorrhage."),
         ("The XXXX are unremarkable today.", "Heart size is XXXX.",
          "Airspace disease which in the setting of XXXX is concerning for pneumonia.")),
    Slot("less or more likely", "`less XXXX` is `less likely`", r"\b(?i:less|more)\s+$", None, "likely",
         ("Infiltrate is less XXXX but not excluded.",), ("Heart size is XXXX.",)),
    Slot("diagnosis after a comma", "`opacity, XXXX scarring` hedges the diagnosis", r",\s*$", _DIAGNOSIS,
         "likely", ("Opacity unchanged, XXXX scarring.", "Blunting of the angle, XXXX a small effusion.",
                    "Basilar opacity, XXXX subsegmental atelectasis."),
         ("No effusion, XXXX, or pneumothorax.",)),
    Slot("verb after 'appearance'", "`The appearance XXXX scarring` lost the verb that hedged the diagnosis",
         r"\b(?i:appearance)(?:\s+which)?\s+$", _DIAGNOSIS, "suggests",
         ("The appearance XXXX scarring at the left base.", "Streaky opacities whose appearance XXXX subsegmental atelectasis."),
         ("The appearance of the XXXX is unchanged.", "Unchanged in appearance since XXXX.")),
    Slot("diagnosis after an opacity", "`opacity XXXX atelectasis`: the report's telegraphic hedge lost its `likely`",
         r"\b(?i:opacit(?:y|ies)|densit(?:y|ies))\s+$", _DIAGNOSIS, "likely",
         ("Left basal opacity XXXX atelectasis.", "Streaky opacities XXXX subsegmental atelectasis or scarring."),
         ("Opacity in the XXXX lobe.", "No XXXX opacity or atelectasis.")),
    Slot("negated prefix", "`non-XXXX` hid a negated word (`non-smoker`)", r"(?i:\bnon|\bun)-$", None, None,
         ("Non-XXXX fracture.",), ("Swan-XXXX catheter.",)),
    Slot("before a change word", "`XXXX change` may be `no change`",
         r"(?<!\b(?i:no|without|little|minimal|slight|significant)\s{1,3})$",
         r"\s+(?:interval\s+)?(?:change|changes|changed)\b", None,
         ("IMPRESSION: XXXX change in the nodule.", "XXXX interval change in the effusion."),
         ("No XXXX change.",)),
    Slot("after an auxiliary", "the marker was the verb: `has not XXXX`", r"\b(?i:has|have|had|not|been)\s+$", None, None,
         ("The effusion has not XXXX since the prior.", "The heart and lungs have XXXX in the interval."),
         ("The lungs are XXXX clear.",)),
    Slot("hedge before a cause", "`is XXXX due to` is `is likely due to`, `, XXXX due to` is `, likely due to`, "
         "`most XXXX due to` is `most likely due to`, a finding's noun before it (`markings XXXX related to`) too, "
         "and `is XXXX to be` is `is likely to be`: the corpus never spells `likely`",
         # a plain word, not one glued to a marker (`XXXX-year-old XXXX due to`: the second is the patient)
         rf"(?:\b(?i:is|are|was|were|most)|,|{_CONTENT_WORD}[A-Za-z]+)\s+$",
         r"\s+(?:(?:related|secondary|due)\s+to|to\s+be)\b", "likely",
         ("The opacity is XXXX due to atelectasis.", "These changes are XXXX related to positioning.",
          "Hyperinflation, XXXX due to emphysema.", "A nodule which is XXXX to be a granuloma.",
          "Coarse markings XXXX related to bronchitis.", "Opacity, most XXXX due to atelectasis."),
         ("The opacity is XXXX.", "The heart is XXXX enlarged.", "Effusion, XXXX and edema.")),
    Slot("verb before 'of'", "`Note is XXXX of` lost its verb (`made`)", r"\b(?i:is|are|was|were)\s+$", r"\s+of\b", None,
         ("Note is XXXX of a closure device.",), ("The heart is XXXX enlarged.",)),
    *_taken_noun("lymph", "nodes", "node", ("Calcified lymph XXXX are seen in the hila.", "Hilar lymph XXXX appear enlarged."),
                 ("A calcified lymph XXXX is seen.", "The lymph XXXX appears enlarged.")),
    *_taken_noun("costophrenic", "angles", "angle", ("Both costophrenic XXXX are sharp.",),
                 ("The left costophrenic XXXX is blunted.",)),
    *_taken_noun("sternotomy", "wires", "wire",
                 ("Median sternotomy XXXX are intact.", "The sternotomy XXXX appear unchanged in alignment."),
                 ("A sternotomy XXXX is fractured.",)),
    Slot("productive cough", "`productive XXXX` is `productive cough`: `productive` names the symptom, which the "
         "scrubber took in every report (the corpus never spells `cough`)", r"\b(?i:productive)\s+$", None, "cough",
         ("Man with productive XXXX for two weeks.", "Productive XXXX, fever and chills."),
         ("The XXXX was productive.",)),
    Slot("head noun", "the marker was the noun its modifiers describe",
         # not a span of time's unit (``for one XXXX``: the span goes whole, remove_frames)
         rf"{_CONTENT_WORD}(?!(?<=\b(?i:for|since|over|in)\s{{1,3}})(?i:one|a|few|several|last|past)\s)"
         rf"[A-Za-z][A-Za-z-]+\s+"
                      rf"(?<!(?:\band|\bor|,)\s+{CONJUNCT_MODIFIERS}\s+)$",
         rf"(?=\s*[.,;:!?)]|\s*$|\s+(?:{_AFTER_SUBJECT})\b)", None,
         ("Persistent dry XXXX.", "Calcified hilar XXXX noted.", "Evidence of remote XXXX, unchanged.",
          "Visualized XXXX of the chest are normal."),
         ("No XXXX.", "Fever and XXXX.", "The XXXX tube is in place.", "Compared with XXXX.",
          "Chest PA and lateral XXXX.", "Unchanged since prior XXXX.", "The heart and pulmonary XXXX are unremarkable.",
          "Cough for one XXXX.")),
)
_SLOTS = [(s, regex.compile(s.left) if s.left else None, regex.compile(s.right, regex.IGNORECASE)
           if s.right else None) for s in SLOTS]
_SLOT_LEFT_CHARS = 40


def hedge_slot(text: str, start: int, end: int) -> Slot | None:
    """The hedge or negation slot the marker ``text[start:end]`` sits in, or None.

    The right-hand pattern is tried first: it is anchored at the marker's end and fails at once
    for most slots, where the left one searches the words before (1.38 s -> 0.83 s for the 74,475
    markers of 20,000 generated reports, the same slots found)."""
    before = None
    for slot, left, right in _SLOTS:
        if right is not None and right.match(text, end) is None:
            continue
        if left is not None:
            if before is None:
                before = text[max(0, start - _SLOT_LEFT_CHARS):start]
            if left.search(before) is None:
                continue
        return slot
    return None


#: A marker before a finding it may have governed: at a clause start or after a verb or a joining
#: word, with at most two words (``focal airspace``) before the finding.
_CUE_LEFT = regex.compile(r"(?:^|[,;:]|\b(?i:is|are|was|were|with|and|or|of|there))[ \t]*$")
_CUE_GAP = regex.compile(r"[ \t]+(?!(?i:mm|cm)\b)(?:[A-Za-z-]+[ \t]+){0,2}")  # ``___ mm nodule``: digits


def cue_slot(sentence: str, start: int, end: int) -> bool:
    """Whether the marker ``sentence[start:end]`` stands where a finding's negation or hedge stood:
    right before a finding that no cue governs (``XXXX focal consolidation.``, ``There is XXXX
    pneumothorax.``: the marker may be ``No``). Deleting it would assert the finding, so the
    marker is never simply deleted. A finding that already has its cue (``No XXXX effusion``) or a
    marker after an adjective (``Left basilar XXXX opacity``) is no such slot."""
    if _CUE_LEFT.search(sentence[max(0, start - 12):start]) is None:
        return False
    return any(m.start >= end and m.cue is None and _CUE_GAP.fullmatch(sentence, end, m.start)
               for m in _mentions(sentence))


@lru_cache(maxsize=1 << 15)
def _mentions(sentence: str) -> list[meaning.Mention]:
    """The meaning reader's mentions, cached: the slot check and the judge read the same sentences."""
    return meaning.mentions(sentence)


def _assertions(sentence: str) -> frozenset[tuple[str, str]]:
    return frozenset((m.observation, m.status) for m in _mentions(sentence))


def _residue() -> Scanner:
    from deidlint.api import scanner  # the built-in packs: imported late, api reads rule files

    return scanner(("residue",))


#: Residue findings per rule of the sentences judged lately. The scanner is built for batches (one
#: vectorised search over many texts); a call per sentence would cost a millisecond each.
_RESIDUE_SEEN: dict[str, Counter[str]] = {}
_RESIDUE_KEEP = 1 << 16


def prime_residue(sentences: Iterable[str]) -> None:
    """Scan, in one batch, the sentences :func:`judge` is about to be asked about."""
    todo = [s for s in dict.fromkeys(sentences) if s not in _RESIDUE_SEEN]
    if not todo:
        return
    if len(_RESIDUE_SEEN) + len(todo) > _RESIDUE_KEEP:
        _RESIDUE_SEEN.clear()
    found: list[Counter[str]] = [Counter() for _ in todo]
    for i, _, _, code in _residue().spans(todo):
        found[i][code] += 1
    _RESIDUE_SEEN.update(zip(todo, found, strict=True))


def _residue_counts(sentence: str) -> Counter[str]:
    if sentence not in _RESIDUE_SEEN:
        prime_residue([sentence])
    return _RESIDUE_SEEN[sentence]


@lru_cache(maxsize=1 << 16)
def judge(original: str, reading: str, candidate: str) -> str | None:
    """Why *candidate* may not replace *original* (a sentence with its markers), or None if it may.

    *reading* is the original as the repair reads it: the markers it restored or filled with a
    hedge stand as those words (their evidence is the corpus, or the slot), the rest as markers.
    Meaning is compared with the reading; residue and flaws with the original, so that a restore
    cannot bring in residue the corpus holds (``female with.``). A pure function, cached: reports
    repeat their sentences. An empty candidate (the sentence dropped) keeps the meaning only when
    the reading asserts no finding.
    """
    if _assertions(reading) != _assertions(candidate):
        return "meaning"
    if not candidate:
        return None
    before, after = _residue_counts(original), _residue_counts(candidate)
    if any(n > before[code] for code, n in after.items()):
        return "residue"
    for name, pattern in _FLAWS:
        if pattern.search(candidate) is not None and pattern.search(original) is None:
            return name
    return None
