"""How a sentence is repaired: placeholder frames per kind, then a tidy-up of what deletions leave.

The frame tables are :mod:`.remove_frames` and :mod:`.neutral_frames`, the tidy rules
:mod:`.tidy`; every rewrite is a :class:`~deidlint.fix.rewrite.Rewrite` record, and so is each
step of :func:`repair` that is code (the records below). :func:`repair` names the rewrites it
applied, which is how the tests know that an example exercises its record.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import regex

from deidlint.fix.kinds import KIND_OF_PLACEHOLDER, PLACEHOLDER, compile_frame
from deidlint.fix.layout import keep_lines
from deidlint.fix.neutral_frames import NEUTRAL_FRAMES
from deidlint.fix.remove_frames import REMOVE_FRAMES
from deidlint.fix.rewrite import PLACEHOLDER_CHARS, Example, Rewrite, compile_table
from deidlint.fix.tidy import tidy
from deidlint.meaning import mentions

TIME_CLUSTER = Rewrite(
    "partly scrubbed time", "`___:53 a.m.`, `9.___ am` and `___ hours` become one time placeholder",
    "a time of which only part was scrubbed is still a time: it goes whole, not leaving `:53 a.m.`",
    (Example("remove", "Small effusion since ___ at ___:45 a.m.", "Small effusion."),
     Example("remove", "Chest tube placed at ___ hours, no pneumothorax.", "Chest tube placed, no pneumothorax.")),
    r"(?:\d{1,2}\s?[:.]\s?)?{T}(?:\s?[:.]\s?(?:{T}|\d{2}))*(?:\s*(?:[ap]\.?\s?m\.?(?![a-z])|hours?\b|hrs?\b))?",
    PLACEHOLDER["time"])
_TIME = compile_frame(TIME_CLUSTER.pattern)

_REMOVE = compile_table(REMOVE_FRAMES)
_NEUTRAL = compile_table(NEUTRAL_FRAMES)
_BOTH = _NEUTRAL + _REMOVE

#: Sentences about who was told what and when carry no image content once names, times and
#: dates go; with a trace in them, ``remove`` drops them (clause by clause where ``;`` splits).
ADMINISTRATIVE = regex.compile(
    r"\b(?:discuss(?:ed|ion)|paged?|notified|notify|called|telephoned|phoned|communicated|conveyed|"
    r"e-?mailed|contact(?:ed)?|informed|relayed|spoke|spoken|faxed|read\s?back|reported\s+to|"
    r"made\s+aware|triage\s+nurse|by\s+(?:tele)?phone|pager)\b", regex.IGNORECASE)
#: Words that carry no finding on their own: a sentence left with only these goes.
_FRAME_WORDS = frozenset(
    "a an and as at by comparison compare compared comment date dated examination exam for from "
    "history in is no note of on prior previous previously record seen since study studies than "
    "the through to was were with accession number clip order mrn pager id time dictated signed "
    "electronically none made available approximately patient adult".split()
)
#: Under ``remove``, the names of an examination too: ``Comparison is made to multiple prior chest
#: radiographs.`` is a comparison whose dates went, and remove drops a comparison-only sentence;
#: ``neutral`` keeps it, and the exam it names (``Prior chest radiographs.``).
_EXAM_WORDS = _FRAME_WORDS | frozenset(
    "chest radiograph radiographs film films view views pa ap lateral portable frontal upright multiple "
    "reviewed".split())
_WORD = regex.compile(r"[A-Za-z]+")



#: The category words ``neutral`` writes for a date: under it, a comparison with one says something.
_NEUTRAL_DATE_WORDS = frozenset("prior study studies earlier date".split())


def content_free(sentence: str, neutral: bool = False, heading: bool = False) -> bool:
    """Whether a sentence holds only frame words: under ``remove`` the names of an exam are frame
    words too, except in a ``heading`` (a line that ends with a colon: ``AP chest:`` names the exam
    the findings below describe); under ``neutral`` the words it writes for a date are not
    (``Comparison to a prior study.`` is what neutral means to write)."""
    words = _FRAME_WORDS - _NEUTRAL_DATE_WORDS if neutral else _FRAME_WORDS if heading else _EXAM_WORDS
    return all(w.lower() in words for w in _WORD.findall(sentence))


_LEAD_IN = regex.compile(r"((?:[A-Z][A-Za-z ]{0,20}:\s+)?)([a-z])")
#: Where a sentence parts into clauses: a semicolon, or the comma before ``as discussed``.
_CLAUSES = regex.compile(r"\s*;\s*|\s*,\s*(?=(?i:as\s+(?:discussed|communicated|conveyed))\b)")

ADMINISTRATIVE_CLAUSES = Rewrite(
    "administrative clauses", "under `remove`, a clause about who was told what and when goes whole, unless it "
    "states a finding (then only its traces go)",
    "once names, times and dates go it carries no image content, only residue (`discussed with by at .`)",
    (Example("remove", "Findings discussed with Dr. ___; the effusion is smaller.", "The effusion is smaller."),
     Example("remove", "Follow-up CT in 3 months, as discussed with Dr. ___.", "Follow-up CT in 3 months.")))
CONTENT_FREE = Rewrite(
    "nothing left to say", "a sentence left with only frame words (`Comparison is made.`) goes; under "
    "`remove`, a comparison left naming its exam alone goes too, but not a heading (`AP chest:`)",
    "such a sentence said nothing but what its traces held; a heading names the exam the findings describe",
    (Example("remove", "Cough. Accession number ___.", "Cough."),
     Example("remove", "Comparison is made to prior chest radiographs ___ and ___.  No effusion.", "No effusion.")))
CAPITALIZED = Rewrite(
    "capital kept", "the repaired sentence starts with a capital where the original did, also after a lead-in",
    "a deletion at the start leaves a lower-case word first",
    (Example("remove", "Compared to ___: the effusion is smaller.", "The effusion is smaller."),))
STOP_KEPT = Rewrite(
    "final stop kept", "the original's final `.`, `!`, `?` or heading colon comes back when a deletion or "
    "the tidy-up took it",
    "a deletion that took the sentence's last words took its stop too; a colon that ends a heading line "
    "(`AP chest compared to ___:`) announces the findings after it, it is no value's colon",
    (Example("remove", "No change since ___ at ___:45 p.m.", "No change."),
     Example("neutral", "Chest compared to ___:\n \n No pneumothorax.",
             "Chest compared to a prior study:\n \n No pneumothorax.")))
CAPITALS_KEPT = Rewrite(
    "capitals kept", "a sentence of three words or more, all in capitals, stays in capitals: the words a repair "
    "writes (`a prior study`, `previously`) are written in capitals too; `CT ___.` is an acronym, not capitals",
    "MIMIC-CXR's older reports are typed in capitals; `COMPARED TO a prior study` reads as an insertion",
    (Example("neutral", "THE EFFUSION IS SMALLER THAN ON ___.", "THE EFFUSION IS SMALLER THAN ON A PRIOR STUDY."),
     Example("remove", "THE NODULE IS NOT SEEN ON ___.", "THE NODULE IS NOT SEEN PREVIOUSLY.")))
LINES_KEPT = Rewrite(
    "lines kept", "a hard-wrapped sentence keeps each line that keeps a word, with its indent and line end; "
    "words that stay neighbours keep the white space between them",
    "only the marked span changes: lines are not re-wrapped, only a line that empties goes (deidlint.fix.layout)",
    (Example("remove", " Effusions are unchanged since ___\n and there is no pneumothorax.",
             " Effusions are unchanged\n and there is no pneumothorax."),
     Example("remove", " Edema has improved compared to\n ___.  No effusion.", " Edema has improved.\n No effusion."),
     Example("remove", " Lungs are clear.  Compared to ___,\n there is a new opacity.",
             " Lungs are clear.\n There is a new opacity."),
     Example("remove", "INDICATION:  ___ year old man with cough  // eval for pneumonia",
             "INDICATION:  Man with cough  // eval for pneumonia")))
#: The steps of :func:`repair` that are code, not a table.
STEPS = (TIME_CLUSTER, ADMINISTRATIVE_CLAUSES, CONTENT_FREE, CAPITALIZED, CAPITALS_KEPT, STOP_KEPT,
         LINES_KEPT)


def _capitalize(sentence: str) -> str:
    """Upper-case the first letter, also after a lead-in such as ``History:``."""
    m = _LEAD_IN.match(sentence)
    if m is None:
        return sentence
    return m.group(1) + m.group(2).upper() + sentence[m.end():]


class Repair(NamedTuple):
    """A repaired sentence (empty: drop it) and the names of the rewrites that made it, in order;
    ``before`` and ``after`` are line breaks that moved out of it (:class:`~deidlint.fix.layout.Lines`)."""

    text: str
    fired: tuple[str, ...]
    before: str = ""
    after: str = ""


@lru_cache(maxsize=1 << 15)
def repair(sentence: str, neutral: bool = False) -> Repair:
    """Rewrite one sentence whose traces stand as placeholders, naming the rewrites applied.

    A pure function of its arguments, and cached: reports repeat their sentences (that is
    why models memorize them), so the same placeholder sentence comes back again and again.
    On 50,000 generated reports, 84,000 repairs hold 15,000 distinct sentences; in the 3,835
    distinct Open-I reports, 6,781 repairs hold 4,039 (40% repeats).

    ``sentence`` is the original sentence with each removed or neutralised trace replaced by
    its kind's placeholder character. The result keeps the sentence's capitalisation and final
    punctuation; whether it may stand is for :func:`judge` to say.
    """
    fired: list[str] = []
    work = _TIME.sub(PLACEHOLDER["time"], sentence)
    if work != sentence:
        fired.append(TIME_CLUSTER.name)
    if not neutral and not PLACEHOLDER_CHARS.isdisjoint(work) and ADMINISTRATIVE.search(work):
        kept = [c for c in _CLAUSES.split(work) if c.strip() and (not ADMINISTRATIVE.search(c) or mentions(c))]
        fired.append(ADMINISTRATIVE_CLAUSES.name)
        if not kept:
            return Repair("", tuple(fired))
        work = "; ".join(kept)
    present = PLACEHOLDER_CHARS.intersection(work)
    for name, needs, pattern, replacement in _BOTH if neutral else _REMOVE:
        if not present:
            break
        if needs.isdisjoint(present):
            continue
        work, n = pattern.subn(replacement, work)
        if n:
            fired.append(name)
            present = PLACEHOLDER_CHARS.intersection(work)
    work = tidy(work, fired)
    end = sentence.rstrip()[-1:]  # the sentence's own close: a stop, or a heading's colon
    if not work or content_free(work, neutral, heading=end == ":"):
        fired.append(CONTENT_FREE.name)
        return Repair("", tuple(fired))
    first = sentence.lstrip()[:1]
    if first.isupper() or first in KIND_OF_PLACEHOLDER or not first.isalpha():
        capital = _capitalize(work)
        if capital != work:
            fired.append(CAPITALIZED.name)
            work = capital
    if sentence.isupper() and len(_WORD.findall(sentence)) >= 3 and not work.isupper():
        work = work.upper()
        fired.append(CAPITALS_KEPT.name)
    if end in ".!?:" and work[-1] not in ".!?:":
        work = work.rstrip(":;,") + end
        fired.append(STOP_KEPT.name)
    lines = keep_lines(sentence, work)
    if lines.text != work or lines.before or lines.after:
        fired.append(LINES_KEPT.name)
    return Repair(lines.text, tuple(fired), lines.before, lines.after)
