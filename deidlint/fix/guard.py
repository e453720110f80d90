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
    Flaw("modal lost", "the marker was the modal before `be` (`may be atelectasis`): a bare `be` has lost the hedge",
         # after a plain word (a marker before it: the original's own `XXXX be`), not a modal's
         r"(?<=\b[a-z]+[ \t]{1,3})(?<!\b(?:to|may|might|could|can|cannot|will|would|should|must|not|never|also|"
         r"likely|probably|possibly|or|and)[ \t]{1,3})\bbe\s+(?!(?:seen|noted)\b)[a-z]",
         (("Opacities seen on the lateral XXXX XXXX be atelectasis.", "Opacities seen on the lateral be atelectasis."),),
         ("Opacities on the lateral view may be atelectasis.", "This is likely to be atelectasis.", "Cannot be excluded.")),
    Flaw("unit lost", "the marker was a measurement's unit (`a 6 mm nodule`): a number before a word that is no unit, "
         "no count of a plural and no joining word has lost it",
         # one to three digits, not part of a date, a time or a code (`11/4`, `2:55 a.m.`, `786.2`), nor a year;
         # not a range or product (`4 to 6`, `3 x 4`), a count (`2 views`) or a unit, age or span word
         r"(?<![\d.:/,-])(?!\d{3}\.\d)\b\d{1,3}(?:\.\d+)?[ \t]+(?![a-z]+s\b)(?!(?:to|and|or|x|by|of|in|on|at|for|"
         r"with|from|mm|cm|m|kg|lb|fr|french|cc|ml|yr|yo|y/o|year|month|week|day|hour|minute|degrees?|o'clock|a\.m|"
         r"p\.m|am|pm)\b)[a-z]",
         (("There is a 6 XXXX nodule in the left apex.", "There is a 6 nodule in the left apex."),
          ("A 1.5 XXXX left midlung nodule.", "A 1.5 left midlung nodule.")),
         ("There is a 6 mm nodule.", "Follow-up in 3 months.", "2 views of the chest.", "INDICATION: 786.2 with cough.",
          "Nodule measures 4 x 6 cm.", "Stable since 11/4/2019 exam.", "Seen at 2:55 a.m. today.", "48 yr old man.")),
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
    ``deletable``: deleting the marker keeps the sentence too, and the fill only writes back the
    word the scrubber took (``median`` before ``sternotomy``); a run of markers there, which one
    word cannot fill, goes the remove way instead of the unresolved one.
    """

    name: str
    why: str
    left: str | None
    right: str | None
    fill: str | None
    slots: tuple[str, ...]
    not_slots: tuple[str, ...]
    deletable: bool = False
    #: The word the text before the marker must end with (``lymph``): a test that spares the
    #: left-hand search for every other marker, and lets that search reach further back.
    after: str | None = None


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
              r"chronic|old|early|focal|patchy|linear|platelike|discoid|calcified)\s+)*(?:atelectasis|scarring|scar|fibrosis|"
              r"effusion|pneumonia|infiltrate|consolidation|edema|granulomas?|nodule|mass|infection|aspiration|emphysema|"
              r"COPD)\b")

#: How far before a marker a slot's left-hand pattern looks; a slot after a named word looks
#: further (a number word may stand six modifiers before ``lymph``).
_SLOT_LEFT_CHARS, _SLOT_AFTER_CHARS = 40, 80
#: The word that ends the text before a marker (``granulomas/lymph``: ``lymph``).
_LAST_WORD = regex.compile(r"([A-Za-z]+)\s+$")
#: A noun phrase's modifiers between a number word and the modifier that names the noun
#: (``There are small calcified paratracheal and hilar lymph``): words, commas and ``and``, never a
#: preposition, an article or a verb (``There is some blunting at the left costophrenic``: ``is``
#: counts the blunting, not the angles).
_MODIFIERS = (r"(?:(?!(?i:of|with|without|in|on|at|to|from|by|for|the|a|an|is|are|was|were|which|that)\b)"
              r"[A-Za-z-]+,?\s+){0,6}")
#: Where the taken noun heads its phrase, so that its number shows: the clause goes on with a stop,
#: a preposition, a conjunction or a verb, not with a noun it modifies (``costophrenic XXXX
#: blunting`` is ``angle blunting`` whatever the number, and goes the remove way).
_HEAD_END = (r"(?=\s*(?:[.,;:!?)]|$)|\s+(?:and|or|with|without|in|on|at|of|from|to|which|that|is|are|was|were|"
             r"has|have|appears?|remains?|may|could|can|most|likely|probably|compatible|consistent|suggest(?:s|ing)?|"
             r"represent(?:s|ing)?|secondary|due|seen|noted|again|unchanged|stable|greater|bilaterally|as|otherwise)\b)")
#: Number words before the noun phrase.
_PLURAL_WORDS = r"there\s+are|multiple|numerous|several|many|few|both|bilateral|two|three|four|five"
_SINGULAR_WORDS = r"a|an|one|single|solitary"


class TakenNoun(NamedTuple):
    """A noun that Open-I's scrubber took in every report (``lymph nodes``, ``costophrenic
    angles``, ``sternotomy wires``: the corpus never spells it, so no restore can learn it), after
    the one modifier that names it. Its number is read from the verb after the marker, else a
    number word before the phrase, a side (one costophrenic angle), ``bilaterally``, else
    ``default`` (the form the corpus shows the scrubber took); with none of them the sentence is
    unresolved; ``plural`` (``singular``) None: the phrase takes no plural (``aortic arch``) or no
    singular of the noun taken, so a verb or word asking for it leaves the sentence unresolved.
    Examples: (sentence, the noun written, None for unresolved), the marker the first ``XXXX``."""

    modifier: str
    plural: str | None
    singular: str | None
    default: str | None
    one_side: bool
    why: str
    examples: tuple[tuple[str, str | None], ...]
    not_slots: tuple[str, ...]


def _taken_noun(noun: TakenNoun) -> tuple[Slot, ...]:
    """The slots of one taken noun, in the order its number is read (the first that applies wins)."""
    modifier, plural, singular = noun.modifier, noun.plural, noun.singular
    forms = " or ".join(f"`{modifier} {form}`" for form in (plural, singular) if form)
    why = f"`{modifier} XXXX` is {forms}: `{modifier}` names this noun, which the scrubber took in every report; {noun.why}"
    left = rf"\b(?i:{modifier})\s+$"
    after = rf"{_MODIFIERS}(?i:{modifier})\s+$"
    many, one = plural or "XXXX, no plural", singular or "XXXX, no singular"
    by_number = [
        (f"{modifier} {many}", left, r"\s+(?:are|appear|have|were|remain)\b", plural),
        (f"{modifier} {one}", left, r"\s+(?:is|appears|has|was|remains)\b", singular),
        (f"{modifier} {many}, a number word", rf"\b(?i:{_PLURAL_WORDS})\s+{after}", _HEAD_END, plural),
        (f"{modifier} {one}, an article", rf"\b(?i:{_SINGULAR_WORDS})\s+{after}", _HEAD_END, singular),
    ]
    if noun.one_side:  # a side has one, both sides two
        by_number.insert(2, (f"{modifier} {many}, bilaterally", left, r"\s+bilaterally\b", plural))
        by_number.insert(3, (f"{modifier} {many}, two sides",
                             rf"\b(?i:(?:left|right)\s+and\s+(?:left|right))\s+(?i:{modifier})\s+$", _HEAD_END, plural))
        by_number.append((f"{modifier} {one}, one side",
                          rf"(?<!\b(?i:and|or)\s+)\b(?i:left|right)\s+(?i:(?:lateral|posterior|anterior)\s+)?"
                          rf"(?i:{modifier})\s+$", _HEAD_END, singular))
    if noun.default is not None:
        by_number.append((f"{modifier} {noun.default}, the form taken", left, _HEAD_END, noun.default))
    # Each example goes to the first slot that would write its noun; the tests check that
    # hedge_slot finds that very slot for it (an earlier slot writing another number fails them).
    examples: dict[str, list[str]] = {name: [] for name, *_ in by_number}
    for sentence, written in noun.examples:
        name = next((name for name, left_pattern, right_pattern, fill in by_number
                     if fill == written and _first_slot(sentence, left_pattern, right_pattern)), by_number[0][0])
        examples[name].append(sentence)
    return tuple(Slot(name, why, left_pattern, right_pattern, fill, tuple(examples[name]), noun.not_slots,
                      after=modifier) for name, left_pattern, right_pattern, fill in by_number)


def _first_slot(sentence: str, left: str, right: str) -> bool:
    """Whether the first ``XXXX`` of an example sits in the slot of ``left`` and ``right``."""
    at = sentence.index("XXXX")
    return _fits(regex.compile(left), regex.compile(right, regex.IGNORECASE), sentence, at, at + 4)


def _fits(left: regex.Pattern[str] | None, right: regex.Pattern[str] | None, text: str, start: int, end: int) -> bool:
    """Whether the marker ``text[start:end]`` sits in a slot after a named word: its right-hand
    pattern at the marker's end, its left-hand one reaching :data:`_SLOT_AFTER_CHARS` back."""
    return (right is None or right.match(text, end) is not None) and (
        left is None or left.search(text, max(0, start - _SLOT_AFTER_CHARS), start) is not None)


#: The nouns Open-I's scrubber took after the modifier that names them.
TAKEN_NOUNS = (
    TakenNoun("lymph", "nodes", "node", "nodes", False,
              "Open-I spells `lymph node` 17 times and `nodes` never, while 100 markers stand after `lymph`, "
              "none with an article or a verb in the singular: the scrubber took the plural",
              (("Calcified lymph XXXX are seen in the hila.", "nodes"), ("Hilar lymph XXXX appear enlarged.", "nodes"),
               ("A calcified lymph XXXX is seen.", "node"), ("The lymph XXXX appears enlarged.", "node"),
               ("Small hilar lymph XXXX bilaterally.", "nodes"),
               ("There are small calcified right paratracheal lymph XXXX.", "nodes"),
               ("There is a small calcified lymph XXXX in the left hilum.", "node"),
               ("Calcified subcarinal lymph XXXX, unchanged.", "nodes")),
              ("The XXXX are enlarged.", "Lymph XXXX within normal limits.", "Calcified lymph XXXX granuloma.")),
    TakenNoun("costophrenic", "angles", "angle", None, True,
              "Open-I spells neither, so a verb, a number word or the sides say how many",
              (("Both costophrenic XXXX are sharp.", "angles"), ("The left costophrenic XXXX is blunted.", "angle"),
               ("Slight blunting at the costophrenic XXXX bilaterally.", "angles"),
               ("Blunting of both costophrenic XXXX, unchanged.", "angles"),
               ("Scarring at the left and right costophrenic XXXX.", "angles"),
               ("Slight blunting at the right posterior costophrenic XXXX.", "angle"),
               ("There is a blunted costophrenic XXXX on today's film.", "angle")),
              ("Bilateral costophrenic XXXX blunting persists today.", "The XXXX are sharp.")),
    TakenNoun("sternotomy", "wires", "wire", None, False,
              "Open-I spells neither, so a verb or a number word says how many",
              (("Median sternotomy XXXX are intact.", "wires"), ("The sternotomy XXXX appear unchanged in alignment.", "wires"),
               ("A sternotomy XXXX is fractured.", "wire"), ("There are intact and aligned sternotomy XXXX.", "wires"),
               ("There is a fractured sternotomy XXXX.", "wire")),
              ("The XXXX are aligned.", "Sternotomy XXXX and clips.")),
    TakenNoun("aortic", None, "arch", "arch", False,
              "Open-I spells neither `arch` nor `knob` (the arch's shadow on a radiograph) nor `root`, while 78 "
              "markers stand after `aortic`, most where its head noun ends the phrase; a plural verb asks for a "
              "noun the arch is not",
              (("Faint calcium lines the aortic XXXX.", "arch"), ("The aortic XXXX is calcified.", "arch"),
               ("Calcified aortic XXXX, unchanged.", "arch"), ("Aortic XXXX appear normal.", None),
               ("Two aortic XXXX are seen.", None), ("There is a calcified aortic XXXX.", "arch"),
               ("Several calcified aortic XXXX.", None)),
              ("Aortic XXXX calcification is mild.", "The XXXX is tortuous.")),
)


#: A vertebra after ``loss of``: the height it lost (``XXXX loss of T9``), not the weight.
_VERTEBRA = r"(?:(?:the|a|an|several|multiple)\s+)?(?:[TL]\d|(?i:vertebr|thoracic|lumbar|mid))"
#: Words naming a device in the sentence before ``The XXXX are intact`` (its wires, leads, clips).
_DEVICE_WORDS = r"(?i:sternotomy|wires?|leads?|pacer|pacemaker|defibrillator|device|clips?|hardware|sutures?|staples?|stents?)"


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
                    "Basilar opacity, XXXX subsegmental atelectasis.", "A nodule at the apex, XXXX calcified granuloma."),
         ("No effusion, XXXX, or pneumothorax.",)),
    Slot("verb after 'appearance'", "`The appearance XXXX scarring` lost the verb that hedged the diagnosis",
         r"\b(?i:appearance)(?:\s+which)?\s+$", _DIAGNOSIS, "suggests",
         ("The appearance XXXX scarring at the left base.", "Streaky opacities whose appearance XXXX subsegmental atelectasis."),
         ("The appearance of the XXXX is unchanged.", "Unchanged in appearance since XXXX.")),
    Slot("diagnosis after an opacity", "`opacity XXXX atelectasis`: the report's telegraphic hedge lost its `likely`; "
         "`most XXXX pneumonia` is `most likely pneumonia`",
         # `most` not after `the`: `the most XXXX` is a superlative (`the most inferior`)
         r"(?:\b(?i:opacit(?:y|ies)|densit(?:y|ies))|(?<!\b(?i:the)\s{1,3})\b(?i:most))\s+$", _DIAGNOSIS, "likely",
         ("Left basal opacity XXXX atelectasis.", "Streaky opacities XXXX subsegmental atelectasis at both bases.",
          "Airspace disease, most XXXX pneumonia.", "Basal opacities, most XXXX dependent atelectasis at both bases."),
         ("Opacity in the XXXX lobe.", "No XXXX opacity or atelectasis.", "The most XXXX atelectasis is at the left base.")),
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
    *(slot for noun in TAKEN_NOUNS for slot in _taken_noun(noun)),
    Slot("median sternotomy", "`XXXX sternotomy` is `median sternotomy`: Open-I never spells `median`, and 65 "
         "markers stand before `sternotomy` (its `midline` and `mid` stand spelled): the scrubber took it in every report",
         None, r"\s+sternotomy\b", "median",
         ("XXXX sternotomy XXXX remain intact and aligned.", "Stable XXXX sternotomy XXXX and clips."),
         ("Sternotomy XXXX intact.",), True),
    Slot("height loss", "`XXXX loss of T9` is `height loss`: a vertebra loses height, which Open-I never spells "
         "(nor `weight`): the scrubber took it in every report", None, rf"\s+loss\s+of\s+{_VERTEBRA}", "height",
         ("Slight anterior XXXX loss of T7 is stable.", "Some XXXX loss of a midthoracic vertebra."),
         ("The XXXX was lost.",)),
    Slot("weight loss", "`XXXX loss` is `weight loss`: Open-I never spells `weight`, and 42 markers stand before "
         "`loss` (it spells `wt loss`, and `volume loss` 16 times): the scrubber took it in every report",
         None, rf"\s+loss\b(?!\s+of\s+{_VERTEBRA})", "weight",
         ("Woman with XXXX loss and fatigue.", "Unintended XXXX loss of ten pounds."), ("The XXXX was lost.",)),
    Slot("compression deformity", "`XXXX deformity` is `compression deformity`: Open-I never spells `compression`, "
         "and all 63 markers before `deformity` stand in a vertebra's: the scrubber took it in every report",
         r"(?<!\b(?i:ribs?)\s+)$", r"\s+deformit(?:y|ies)\b(?!\s+of\s+(?:(?:the|a|an)\s+)?(?:\S+\s+){0,2}ribs?\b)",
         "compression", ("Stable wedge XXXX deformity of L2.", "Several thoracic XXXX deformities, unchanged."),
         ("Healed rib XXXX deformity on the left.", "Old XXXX deformity of a left rib."), True),
    Slot("sickle cell", "`XXXX cell disease` is `sickle cell`: Open-I never spells `sickle` (nor `stem`): the "
         "scrubber took it in every report", None, r"\s+cell\b(?!\s+transplant)", "sickle",
         ("Man with XXXX cell anemia crisis.", "History of XXXX cell disease."), ("The XXXX cells were counted.",)),
    Slot("stem cell", "`XXXX cell transplant` is `stem cell transplant`: Open-I never spells `stem`", None,
         r"\s+cell\s+transplant", "stem", ("Woman after XXXX cell transplant for leukemia.",), ("The XXXX cells were counted.",)),
    Slot("the bones, intact", "`The XXXX are intact` is `The bones are intact`: Open-I spells `bone` 106 times and "
         "`bones` never (as it spells `node` and never `nodes`), and every subject it spells before `are intact` is "
         "bony (bony or osseous structures, the spine): the scrubber took the plural in every report",
         # not after a sentence naming a device, whose wires or leads are intact too (and never spelled)
         rf"(?:^|(?<!\b{_DEVICE_WORDS}\b[^.:;!?]{{0,60}})[.:;!?]\s+)(?i:the)\s+$",
         r"\s+(?:are|appear)\s+(?:grossly\s+)?intact\b", "bones",
         ("No fracture. The XXXX appear intact.", "The XXXX are grossly intact, without a fracture."),
         ("The XXXX are unremarkable today.", "A pacemaker is in place. The XXXX are intact as well."), after="the"),
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
          "Chest PA and lateral XXXX.", "Unchanged since prior XXXX.", "The heart and mediastinal XXXX are unremarkable.",
          "Cough for one XXXX.")),
    Slot("head noun before a preposition", "the marker was the noun a modifier describes, before the phrase that places "
         "it (`pacing XXXX over the ventricle`, `imaged XXXX arising`); after a noun it was none (`effusion XXXX in`: "
         "a participle, and the finding keeps its place without it)",
         # a modifier by its ending: adjectives and participles (-ar, -al, -ic, -ed, -ing, ...), never a noun,
         # nor a verb that says where a finding was seen (`fragment noted XXXX in`: the marker hid no noun)
         rf"{_CONTENT_WORD}(?!(?i:noted|seen|identified|demonstrated|located|positioned|placed|projected)\s)"
         rf"[A-Za-z-]*(?:ar|al|ic|ous|ed|ive|ary|ing|ior|ile)\s+$",
         r"(?=\s+(?:over|from|in|at|within|along|overlying|projecting|arising|extending|with|without|on|bilaterally)\b)",
         None, ("Temporary pacing XXXX over the ventricle.", "A partly imaged XXXX arising under the diaphragm.",
                "Patchy perihilar XXXX bilaterally.", "Postsurgical XXXX in the left chest."),
         ("Small effusion XXXX in the left base.", "No XXXX in the lungs.", "A fragment noted XXXX in the pleural space.")),
)
_SLOTS = [(s, regex.compile(s.left) if s.left else None, regex.compile(s.right, regex.IGNORECASE)
           if s.right else None) for s in SLOTS]


def hedge_slot(text: str, start: int, end: int) -> Slot | None:
    """The hedge or negation slot the marker ``text[start:end]`` sits in, or None.

    The right-hand pattern is tried first: it is anchored at the marker's end and fails at once
    for most slots, where the left one searches the words before (1.38 s -> 0.83 s for the 74,475
    markers of 20,000 generated reports, the same slots found). A slot after a named word
    searches only where the text before ends with it (stop 29's taken nouns, 16 slots, had
    doubled the time of the whole search without that test)."""
    before = None
    last = None
    for slot, left, right in _SLOTS:
        if slot.after is not None:
            if last is None:
                word = _LAST_WORD.search(text, max(0, start - 24), start)
                last = word.group(1).lower() if word else ""
            if last == slot.after and _fits(left, right, text, start, end):
                return slot
            continue
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
