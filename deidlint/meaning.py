"""Clinical meaning of a radiology report, so that a repair can be judged by what the report *says*.

A de-identification fix may only remove a trace; it must never turn "no pneumothorax" into
"pneumothorax" or drop "likely" from "likely scarring". This module reads CheXpert's observations
(its 14 less "No Finding", which is derived, not mentioned) out of a text with a status (present,
absent, uncertain) the way rule-based report labellers do (CheXpert labeller, NegBio, NegEx and
ConText): a finding lexicon, negation and hedge cues with scopes that stop at sentence ends,
section labels and terminators ("but", "which"), and pseudo-negations ("no change in") that carry
no polarity. :func:`changed` then compares two texts.

It is deliberately independent of :mod:`deidlint.fix` (and shares no code with it): an
instrument that judges the fixer must not share its blind spots. De-identification markers
(``XXXX``, ``___``) are ordinary unknown words here: they are neither findings nor cues, so no
status ever comes from one.

Every lexicon entry and cue is a self-describing record with an example sentence and what that
example must yield; the tests run every one, so extending a table means writing its example.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import NamedTuple

OBSERVATIONS: tuple[str, ...] = (
    "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion", "Lung Opacity", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion",
    "Pleural Other", "Fracture", "Support Devices",
)
STATUSES: tuple[str, ...] = ("present", "absent", "uncertain")


@dataclass(frozen=True, slots=True)
class Mention:
    """One finding term in the text, its status, and the cue that gave the status (None if none)."""

    observation: str
    status: str
    start: int
    end: int
    cue: str | None


class Term(NamedTuple):
    """A lexicon entry. *status* is None for a plain finding (its status comes from cues) and fixed
    for a phrase that carries its own polarity ("heart size is normal"); such a pattern names the
    finding's words ``(?P<term>...)`` and the polarity words ``(?P<cue>...)``."""

    observation: str
    pattern: str
    example: str
    status: str | None = None


class Cue(NamedTuple):
    """A negation / hedge / pseudo-negation / terminator cue; *expect* is what :func:`labels`
    gives for *example*, written ``"Observation=status; ..."``."""

    kind: str
    pattern: str
    example: str
    expect: str


# Polarity phrases: a subject ("heart size", "mediastinal contours") and a predicate ("normal").
# The gap between them may not cross a sentence end or a word that reverses or hedges it.
_STOP = (r"enlarg\w*|increas\w*|large\w*|widen\w*|prominen\w*|mild\w*|moderate\w*|severe\w*"
         r"|but|however|although|though|except|which|no|not")
# Word by word (a look-ahead per word, not per character, keeps the scan fast).
_GAP = rf"(?:[ ,]+(?!(?:{_STOP}|borderline|upper|top|high)\b)[\w'/-]+){{0,10}}?[ ,]+"
_UGAP = rf"(?:[ ,]+(?!(?:{_STOP})\b)[\w'/-]+){{0,10}}?[ ,]+"
_NORMAL = r"(?P<cue>within (?:normal limits|limits of normal|limits)|normal|unremarkable|not (?:\w+ly )?(?:enlarged|increased))"
_NORMAL_PRE = r"(?<!of )(?P<cue>normal(?:[ -]sized?)?|unremarkable|non-?enlarged)"
# Before its subject a predicate reaches only a few words, no commas: "normal size and shape of the heart".
_PRE_GAP = rf"(?: (?!(?:{_STOP}|limits|stable)\b)[\w-]+){{0,5}}? "
_UPPER = (r"(?P<cue>(?:at |near )?(?:the )?"
          r"(?:upper limits?(?: of)? normal|upper normal|top(?: of)? normal|high normal|borderline(?: enlarged)?))")
_UPPER_PRE = r"(?P<cue>borderline|upper limits? of normal|upper normal|top normal|high normal)"
_HEART = r"(?:heart(?! failure)|cardiac)(?: (?:size|silhouettes?|contours?|shadow|borders?))?"
#: A de-identification marker, lower-cased (``XXXX``, ``___``, a placeholder token as x's): an
#: unknown word, allowed where a phrase tolerates a filler word ("heart size XXXX enlarged").
_MARK = r"x{3,}|_{3}"
_CM = r"cardio[ -]?mediastinal (?:silhouettes?|contours?|size)"
_MED = rf"(?:{_CM}|mediastin(?:um|al)(?: (?:silhouettes?|contours?|width|structures))?)"


def _polar(subject: str, after: str = _NORMAL, before: str = _NORMAL_PRE, gap: str = _GAP) -> str:
    """A polarity phrase both ways round: "heart size is normal" and "normal heart size"."""
    return rf"(?P<term>{subject}){gap}{after}|{before}{_PRE_GAP}(?P<term>{subject})"


LEXICON: tuple[Term, ...] = (
    Term("Enlarged Cardiomediastinum",
         rf"widen(?:ed|ing)(?: of)?(?: the)?(?: superior)? {_MED}|{_MED} (?:widening|enlargement)|enlarge(?:d|ment of the) {_MED}"
         rf"|{_MED} (?:is|are|appears?) (?:\w+ly )?(?:widened|enlarged)",
         "The mediastinum is widened."),
    Term("Enlarged Cardiomediastinum", rf"prominen(?:ce|t) (?:of )?(?:the )?{_MED}",
         "Slight prominence of the mediastinum is new."),
    Term("Enlarged Cardiomediastinum", _polar(_MED), "Mediastinal contours are normal on both views.", "absent"),
    Term("Cardiomegaly", r"cardiomegaly|cardiac enlargement|large heart", "Mild cardiomegaly is new since the last visit."),
    Term("Cardiomegaly",
         r"enlarge(?:d|ment of)(?: the)? (?:heart|cardiac (?:silhouette|shadow|contours?|size))"
         r"|(?:increased|enlarged) (?:heart|cardiac) size",
         "Enlarged cardiac silhouette."),
    Term("Cardiomegaly",
         rf"{_HEART} (?:(?:is|are|has|appears?|remains?|again|now|\w+ly|{_MARK}) ){{0,3}}(?:enlarged|increased|large)",
         "Heart size XXXX mildly enlarged on the portable view."),
    Term("Cardiomegaly", _polar(_HEART), "Heart size is normal for the patient's age.", "absent"),
    Term("Cardiomegaly", _polar(_CM), "Normal cardiomediastinal silhouette on the portable film.", "absent"),
    Term("Cardiomegaly", _polar(rf"{_HEART}|cardiomegaly|cardiac enlargement|enlarged heart", _UPPER, _UPPER_PRE, _UGAP),
         "Heart size is at the upper limits of normal on this AP film.", "uncertain"),
    Term("Lung Lesion", r"nodul(?:e|es|ar)|mass(?:es)?", "A 1 cm nodule in the right upper lobe."),
    Term("Lung Lesion", r"(?<!lytic )(?<!bony )(?<!osseous )(?<!sclerotic )(?<!destructive )(?<!rib )lesions?",
         "Cavitary lesion in the left apex."),
    Term("Lung Lesion", r"granulom(?:a|as|ata|atous)", "Calcified granuloma in the left apex."),
    Term("Lung Lesion", r"tumou?rs?|neoplasms?|metasta(?:sis|ses|tic)|carcinoma|malignan(?:cy|t)", "Known metastatic disease."),
    Term("Lung Opacity", r"opaci(?:ty|ties|fication|fications|fied)", "Patchy opacity at the right base."),
    Term("Lung Opacity", r"infiltrat(?:e|es|ion|ive)|air ?space (?:disease|process)",
         "Right basilar airspace disease has progressed."),
    Term("Lung Opacity", r"(?<!bone )(?<!bony )(?<!soft tissue )densit(?:y|ies)|haziness|hazy", "Hazy density at the left base."),
    Term("Lung Opacity", r"scar(?:s|ring|red)?|fibro(?:sis|tic)", "Apical scarring."),
    Term("Lung Opacity",
         r"interstitial (?:markings?|prominence|pattern|lung disease|disease|changes?)"
         r"|(?:interstitial|reticular|bronchovascular) (?:lung )?markings"
         r"|(?:increased|prominent|coarse(?:ned)?) (?:lung|pulmonary) markings|reticul(?:ar|onodular)|ground[ -]glass",
         "Coarse interstitial lung markings."),
    Term("Lung Opacity",
         r"(?P<term>lungs?|lung fields)(?:[ ,]+(?!(?:no|not|opaci\w*|except)\b)[\w'/-]+){0,6}?[ ,]+(?P<cue>clear)\b(?! of)"
         r"|(?P<cue>clear)(?: and [\w-]+)?(?: right| left| bilateral)? (?P<term>lungs?)",
         "The lungs are clear on both projections.", "absent"),
    Term("Edema", r"edema|(?:vascular|venous|pulmonary|interstitial) congesti(?:on|ve changes?)|kerley|cephalization",
         "Mild interstitial edema has developed."),
    Term("Edema", r"(?:congestive )?heart failure|chf|fluid overload", "Findings of congestive heart failure."),
    Term("Consolidation", r"consolidat(?:ion|ions|ive|ed)", "Focal consolidation in the lingula."),
    Term("Pneumonia", r"(?:broncho)?pneumonias?|pneumonitis|infecti(?:on|ons|ous)", "Findings represent pneumonia."),
    Term("Atelectasis", r"atelecta(?:sis|ses|tic)|(?<!vertebral )(?<!body )collapsed?", "Bibasilar atelectasis after surgery."),
    Term("Pneumothorax", r"(?:hydro)?pneumothora(?:x|ces|xes)", "Small apical pneumothorax."),
    Term("Pleural Effusion", r"pleural fluid|hydro(?:pneumo)?thorax|(?<!pericardial )(?<!joint )effusions?",
         "Small left effusion."),
    Term("Pleural Effusion",
         r"blunt(?:ing|ed)(?: of)?(?: the)?(?: \w+){0,2} "
         r"(?:costophrenic(?: angles?| recess(?:es)?| sulc(?:us|i))?|sulc(?:us|i)|recess(?:es)?)"
         r"|costophrenic (?:\w+ )?blunting|costophrenic (?:\w+ ){0,2}(?:(?:is|are|appears?|remains?) )?(?:\w+ly )?blunted",
         "Blunting of the left costophrenic angle."),
    Term("Pleural Effusion",
         r"(?P<term>costophrenic(?: \w+)?|pleural spaces?)(?: (?:is|are|appears?|remains?))? "
         r"(?P<cue>sharp|clear|preserved|normal)"
         r"|(?P<cue>sharp) (?P<term>costophrenic (?:angles?|sulci))",
         "The costophrenic angles are sharp.", "absent"),
    Term("Pleural Other",
         r"pleural (?:thickening|plaques?|calcifications?|scarring|fibrosis)|calcified (?:pleural )?plaques?|fibrothorax"
         r"|pleuro-?parenchymal (?:scarring|thickening)|apical capping|(?<=effusion or )(?:pleural )?thickening",
         "Calcified pleural plaques."),
    Term("Fracture", r"fractur(?:e|es|ed)|fx", "Healed left rib fracture."),
    Term("Support Devices",
         r"tubes?|catheters?|picc|drains?|tracheostomy"
         r"|(?:central|venous|subclavian|jugular|ij|arterial|dialysis) (?:venous )?lines?",
         "The endotracheal tube tip is 4 cm above the carina."),
    Term("Support Devices",
         r"pace(?:makers?|r)|a?icd|defibrillators?|leads|generator"
         r"|(?:pacing|pacer|cardiac|monitor(?:ing)?|ecg|ekg|transvenous) (?:wires?|leads?)",
         "Dual-chamber pacemaker in place."),
    Term("Support Devices", r"sternotomy|(?:sternal|cerclage|surgical) wires|clips?",
         "Surgical clips in the right upper quadrant."),
    Term("Support Devices",
         r"stents?|ports?|port-a-cath|valve (?:replacement|prosthesis)"
         r"|(?:prosthetic|mechanical|bioprosthetic|replacement) (?:\w+ )?valves?"
         r"|ivc filter|loop recorder|devices?",
         "Prosthetic aortic valve."),
    Term("Support Devices",
         r"hardware|screws?|(?:fixation|fusion|metallic|harrington) (?:rods?|plates?)|prosthes[ie]s|arthroplast(?:y|ies)",
         "Orthopedic hardware in the cervical spine."),
)

CUES: tuple[Cue, ...] = (
    # Order matters where two cues start at one place: the first listed wins ("no change" over "no").
    Cue("pseudo",
        r"no (?:(?:significant|interval|appreciable|substantial|marked|radiographic|gross|definite|real) ){0,2}"
        r"(?:change|changes|increase|decrease|progression|worsening)",
        "No change in the left effusion.", "Pleural Effusion=present"),
    Cue("pseudo", r"without (?:(?:significant|interval) ){0,2}(?:change|progression)|not (?:significantly )?changed|not only",
        "Cardiomegaly, not significantly changed.", "Cardiomegaly=present"),
    Cue("pre-uncertainty", r"can(?:not|'t| not) (?:exclude|rule out)", "Cannot exclude early pneumonia.", "Pneumonia=uncertain"),
    Cue("post-uncertainty", r"can(?:not| not) be (?:excluded|ruled out)|(?:is |are )?not (?:excluded|ruled out)",
        "A small effusion cannot be excluded.", "Pleural Effusion=uncertain"),
    Cue("post-uncertainty",
        r"(?:is|are) (?:suspected|questioned)|(?:is|are) (?:possible|probable|likely)(?= *(?:[.,;:]|$))|unlikely",
        "Aspiration pneumonia is suspected.", "Pneumonia=uncertain"),
    Cue("pre-negation", r"no evidence of", "No evidence of pneumothorax after the procedure.", "Pneumothorax=absent"),
    Cue("pre-negation", r"no definite", "No definite consolidation.", "Consolidation=absent"),
    Cue("post-negation", r"no longer", "The left effusion is no longer seen.", "Pleural Effusion=absent"),
    Cue("post-negation",
        rf"(?:is |are )?not (?:(?:well|clearly|definitely|currently|convincingly|{_MARK}) )?"
        r"(?:seen|identified|visualized|present|evident|appreciated|demonstrated|detected|noted|apparent|visible)",
        "The nodule is not seen.", "Lung Lesion=absent"),
    Cue("pre-negation", r"no|nor|not|neither",
        "No pneumothorax or effusion on either side.", "Pneumothorax=absent; Pleural Effusion=absent"),
    Cue("pre-negation", r"without", "Cardiomegaly without edema.", "Cardiomegaly=present; Edema=absent"),
    Cue("pre-negation", r"negative for", "Negative for pneumonia.", "Pneumonia=absent"),
    Cue("pre-negation", r"free of|clear of", "Lungs are free of consolidation.", "Consolidation=absent"),
    Cue("pre-negation", r"(?:absence|resolution|removal) of", "Interval resolution of the effusion.", "Pleural Effusion=absent"),
    Cue("pre-negation",
        r"(?:(?:interval|essentially|nearly|largely|now) )?resolved(?= [a-z])(?! (?:since|from|in|on|with|and|compared|or)\b)",
        "Resolved right basilar atelectasis.", "Atelectasis=absent"),
    Cue("post-negation", r"(?:has |have )?(?:resolved|cleared|been removed)|removed|ruled out|absent",
        "The pneumothorax has resolved.", "Pneumothorax=absent"),
    Cue("pre-uncertainty", r"may|might|could",
        "Opacity may represent atelectasis.", "Lung Opacity=present; Atelectasis=uncertain"),
    Cue("pre-uncertainty", r"possibl[ey]|(?:most )?likely|probabl[ey]|presumed",
        "Possible small effusion.", "Pleural Effusion=uncertain"),
    Cue("pre-uncertainty", r"questionable|question(?: of)?|equivocal",
        "Questionable nodule at the left base.", "Lung Lesion=uncertain"),
    Cue("pre-uncertainty", r"suggest(?:s|ed|ing|ive(?: of)?)?", "Findings suggestive edema.", "Edema=uncertain"),
    Cue("pre-uncertainty", r"suspicious for|suspect(?:ed)?|concerning for|concern for|worrisome for",
        "Opacity suspicious for pneumonia.", "Lung Opacity=present; Pneumonia=uncertain"),
    Cue("pre-uncertainty", r"differential(?: diagnosis)?(?: includes?)?|versus|vs\.?",
        "Atelectasis versus consolidation.", "Atelectasis=uncertain; Consolidation=uncertain"),
    Cue("pre-uncertainty", r"borderline", "Borderline cardiomegaly on the AP view.", "Cardiomegaly=uncertain"),
    Cue("pre-uncertainty", r"rule out|r/o|evaluat(?:e|ion) for|assess(?:ment)? for|(?<![\w?])\?",
        "Cough, rule out pneumonia.", "Pneumonia=uncertain"),
    Cue("post-uncertainty", r"(?<=\w)\?", "Pneumonia?", "Pneumonia=uncertain"),
    Cue("terminator", r"but|however|although|though|which|whereas|while",
        "No effusion but mild atelectasis.", "Pleural Effusion=absent; Atelectasis=present"),
    Cue("terminator", r"with the exception of|except(?: for)?|aside from|apart from|other than",
        "No acute disease with the exception of a small nodule.", "Lung Lesion=present"),
    Cue("terminator", r"(?:seen|identified|noted|present|demonstrated|visualized|evident)(?= *,)",
        "No effusion is seen, small nodule at the apex.", "Pleural Effusion=absent; Lung Lesion=present"),
    Cue("terminator", r"(?<=, )(?:mild|moderate|severe|stable|chronic|persistent|unchanged|minimal|marked|again)\b",
        "No pneumothorax, mild cardiomegaly.", "Pneumothorax=absent; Cardiomegaly=present"),
    Cue("terminator", r"and (?:the|there)\b",
        "No effusion and the heart is enlarged.", "Pleural Effusion=absent; Cardiomegaly=present"),
    Cue("terminator", r"there (?:is|are|has been|have been)",
        "No effusion, there is mild edema.", "Pleural Effusion=absent; Edema=present"),
)

# Scope boundaries: sentence ends (not "vs." or "e.g."), semicolons, blank lines, section labels
# (only the label's last word: in "...of ICD XXXX FINDINGS:" the ICD is still the indication's).
_BOUNDARY = re.compile(r"(?<![Vv]s)(?<![Ee]\.g)(?<![Ii]\.e)[.!](?=\s|$)|;|\n[ \t]*\n|\b[A-Z][A-Z&/-]{2,}:(?=\s|$)")
_ALTERNATIVE = re.compile(r" *,? *(?:or|versus|vs\.?|and/or) +(?:[\w-]+ +){0,3}")
_FLAT = str.maketrans("\n\r\t\f\v", "     ")
_RANK = {"present": 0, "uncertain": 1, "absent": 2}


_GROUP = re.compile(r"\(\?P<(\w+)>")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """The cue table as one alternation, each entry its own group so that ``lastgroup`` names it.
    The word-boundary test sits outside the alternation, once per position rather than once per
    entry, and text is lower-cased instead of matching with re.IGNORECASE: three times the speed.
    A cue may also start at a "?" ("pneumonia?")."""
    groups = "|".join(f"(?P<e{i}>{_GROUP.sub('(?:', p)})" for i, p in enumerate(patterns))
    return re.compile(rf"(?:(?<!\w)|(?=\?))(?:{groups})(?!\w)")


def _numbered(pattern: str) -> str:
    """``re`` refuses a group name twice, so the k-th ``term``/``cue`` group becomes ``term_k``."""
    count = itertools.count()
    return _GROUP.sub(lambda m: f"(?P<{m.group(1)}_{next(count)}>", pattern)


# Observations scanned apart from the rest: one scan names one entry per starting word, and their
# phrases can start at another observation's word ("cardiomediastinal silhouette is normal" is also
# Cardiomegaly's, "hydropneumothorax" also Pneumothorax's).
_APART = ("Enlarged Cardiomediastinum", "Pleural Effusion")


def _scanner(indices: list[int]) -> re.Pattern[str]:
    """Every word start where some entry matches, as a look-ahead so that phrases may overlap
    ("heart and mediastinum are normal" holds one per observation); ``lastgroup`` names the entry.
    Two scans over all observations run at twice the speed of one per observation."""
    alternatives = "|".join(f"(?P<e{i}>{_GROUP.sub('(?:', LEXICON[i].pattern)})" for i in indices)
    return re.compile(rf"(?<!\w)(?=(?:{alternatives})(?!\w))")


_SCANS = [_scanner([i for i, t in enumerate(LEXICON) if (t.observation in _APART) == apart]) for apart in (True, False)]
_TERM_ONE = [re.compile(rf"(?<!\w)(?:{_numbered(t.pattern)})(?!\w)") for t in LEXICON]
_CUE_RE = _compile([c.pattern for c in CUES])
_Hit = tuple[str, int, int, str | None, str | None, int, int]  # observation, term span, status, cue, match span
_Cue = tuple[str, int, int, str]  # kind, span, text


def _hits(flat: str) -> list[_Hit]:
    """Lexicon matches in text order; within one observation a match that starts inside the
    previous one is dropped, as a scan per observation would never have seen it."""
    hits: list[_Hit] = []
    for scan in _SCANS:
        last: dict[str, int] = {}
        for m in scan.finditer(flat):
            index = int((m.lastgroup or "e0")[1:])
            entry = LEXICON[index]
            m_start, m_end = m.span(m.lastgroup or 0)
            if m_start < last.get(entry.observation, -1):
                continue
            last[entry.observation] = m_end
            start, end, cue = m_start, m_end, None
            if "(?P<" in entry.pattern:  # the finding's own words and the polarity words
                one = _TERM_ONE[index].match(flat, m_start, m_end)
                for name, value in (one.groupdict() if one else {}).items():
                    if value is not None and name.startswith("term") and one:
                        start, end = one.span(name)
                    elif value is not None and name.startswith("cue"):
                        cue = value
            hits.append((entry.observation, start, end, entry.status, cue, m_start, m_end))
    return sorted(hits, key=lambda h: (h[1], h[2]))


def _after_comma(flat: str, pos: int) -> bool:
    """Whether a comma (and spaces only) precede *pos*: ", possibly ..." opens a new clause."""
    i = pos - 1
    while i >= 0 and flat[i] == " ":
        i -= 1
    return i >= 0 and flat[i] == ","


def _status(flat: str, start: int, end: int, cues: list[_Cue]) -> tuple[str, str | None]:
    """NegEx/ConText scoping over the cues of the mention's own segment: the nearest forward cue
    not cut off by a terminator, unless a backward ("has resolved") cue follows the mention."""
    fwd: _Cue | None = None
    neg: _Cue | None = None
    bwd: _Cue | None = None
    for c in cues:
        kind, c_start, c_end, _ = c
        if c_end <= start:
            if kind == "terminator":
                fwd = neg = None
            elif kind == "pre-negation":
                fwd = neg = c
            elif kind == "pre-uncertainty":
                # "no opacity to suggest pneumonia": a hedge inside a negated list keeps it.
                if neg is None or _after_comma(flat, c_start):
                    fwd, neg = c, None
            elif kind == "pseudo":
                fwd, neg = c, None
        elif c_start >= end:
            if kind in ("terminator", "pre-negation", "pseudo"):
                break
            if kind.startswith("post-"):
                bwd = c
                break
    chosen = bwd or fwd
    if chosen is None or chosen[0] == "pseudo":
        return "present", None
    return ("absent" if chosen[0].endswith("negation") else "uncertain"), chosen[3]


# White space that carries no meaning (double spaces, a line edge's spaces) and tokens that stand
# for a removed word whatever their shape (``[PHI]``, ``<PERSON>``, ``{{NAME}}``, ``[**...**]``):
# a repair that only changes these must not change what the report says.
_LOOSE = re.compile(r"[ \t]*\n[ \t]*|[ \t]{2,}")
_TOKEN = re.compile(r"\[\*\*[^\[\]]{0,80}?\*\*\]|\[[A-Za-z_ -]{1,30}\]|<<?[A-Z][A-Z_]{1,30}>>?|\{\{[^{}]{1,40}\}\}")


def mentions(text: str) -> list[Mention]:
    """Every finding mention of *text* with its status, in text order (offsets into *text*).

    Runs of spaces and the spaces around a line break read as one space, and a placeholder token of
    any shape reads as an unknown word (like ``XXXX``), so that only words decide the meaning."""
    tight, anchors = _tighten(text)
    if not anchors:
        return _mentions(tight)
    keys = [a[0] for a in anchors]

    def back(pos: int) -> int:
        i = bisect.bisect_right(keys, pos) - 1
        return pos if i < 0 else anchors[i][1] + pos - anchors[i][0]

    return [Mention(m.observation, m.status, back(m.start), back(m.end), m.cue) for m in _mentions(tight)]


def _tighten(text: str) -> tuple[str, list[tuple[int, int]]]:
    """*text* with loose white space squeezed and placeholder tokens as ``x`` runs, and anchors
    ``(position in the result, position in text)`` after each squeeze, to map offsets back."""
    text = _TOKEN.sub(lambda m: "x" * len(m.group()), text)
    pieces: list[str] = []
    anchors: list[tuple[int, int]] = []
    pos = size = 0
    for m in _LOOSE.finditer(text):
        if m.group() in (" ", "\n"):
            continue
        pieces.append(text[pos:m.start()])
        size += m.start() - pos
        # A blank line stays a blank line (a scope boundary); any other run becomes one space or break.
        gap = "\n\n" if m.group().count("\n") > 1 else "\n" if "\n" in m.group() else " "
        pieces.append(gap)
        size += len(gap)
        pos = m.end()
        anchors.append((size, pos))
    if not anchors:
        return text, []
    pieces.append(text[pos:])
    return "".join(pieces), anchors


def _mentions(text: str) -> list[Mention]:
    # Same length as *text*, so offsets stay valid; a wrapped line reads as one, case is folded.
    flat = text.translate(_FLAT)
    flat = flat.lower() if flat.isascii() else "".join(c if len(c.lower()) != 1 else c.lower() for c in flat)
    bounds = [b for m in _BOUNDARY.finditer(text) for b in (m.start(), m.end())]
    hits = _hits(flat)
    # Cue words inside a polarity phrase ("heart is NOT enlarged") are spent on it.
    fixed = [(h[5], h[6]) for h in hits if h[3] is not None]
    by_seg: dict[int, list[_Cue]] = {}
    for m in _CUE_RE.finditer(flat):
        if not any(s <= m.start() < e for s, e in fixed):
            kind = CUES[int((m.lastgroup or "e0")[1:])].kind
            by_seg.setdefault(bisect.bisect_right(bounds, m.start()), []).append((kind, m.start(), m.end(), m.group()))
    found: list[Mention] = []
    for obs, start, end, status, cue, _, _ in hits:
        if status is None:
            status, cue = _status(flat, start, end, by_seg.get(bisect.bisect_right(bounds, start), []))
        found.append(Mention(obs, status, start, end, cue))
    # "atelectasis or scarring": alternatives joined by "or"/"versus" are both uncertain.
    for i in range(len(found) - 1):
        a, b = found[i], found[i + 1]
        gap = _ALTERNATIVE.fullmatch(flat, a.end, b.start) if a.end <= b.start else None
        if gap is not None and "absent" not in (a.status, b.status):
            word = gap.group().strip(" ,").split()[0]
            found[i] = Mention(a.observation, "uncertain", a.start, a.end, a.cue or word)
            found[i + 1] = Mention(b.observation, "uncertain", b.start, b.end, b.cue or word)
    return found


def assertions(text: str) -> frozenset[tuple[str, str]]:
    """The distinct (observation, status) pairs that *text* asserts."""
    return frozenset((m.observation, m.status) for m in mentions(text))


def labels(text: str) -> dict[str, str]:
    """One status per mentioned observation, present over uncertain over absent (CheXpert's rule:
    a report that says "no effusion on the left, small effusion on the right" has an effusion)."""
    out: dict[str, str] = {}
    for obs, status in assertions(text):
        if obs not in out or _RANK[status] < _RANK[out[obs]]:
            out[obs] = status
    return {obs: out[obs] for obs in OBSERVATIONS if obs in out}


def changed(before: str, after: str) -> list[str]:
    """Observations whose set of statuses differs between *before* and *after*, sorted; [] when a
    repair kept the meaning. Sets, not :func:`labels`, so that a lost hedge or a dropped negated
    mention counts even where the report-level label would hide it."""
    def by_obs(text: str) -> dict[str, set[str]]:
        d: dict[str, set[str]] = {}
        for obs, status in assertions(text):
            d.setdefault(obs, set()).add(status)
        return d
    one, two = by_obs(before), by_obs(after)
    return sorted(obs for obs in set(one) | set(two) if one.get(obs) != two.get(obs))
