"""What a marker hid: its kind, from the rule, the tag's own words or the words around it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import regex

from deidlint.engine import Match

#: Kinds that identify a person; ``restore`` never applies to them.
PHI_KINDS = frozenset({"name", "date", "time", "age", "place", "id", "phone"})
#: Rule kinds whose markers may turn out to hide an ordinary word.
RESTORABLE = frozenset({"word", "unknown"})

# -- placeholders -----------------------------------------------------------------------------
#
# While a sentence is rewritten, each removed or neutralised trace stands as one Unicode
# noncharacter (U+FDD0...), which never occurs in interchanged text and is neither a word
# character nor punctuation, so the frame patterns can name "a date here" precisely.

PLACEHOLDER = {"name": "\ufdd0", "date": "\ufdd1", "time": "\ufdd2", "age": "\ufdd3", "place": "\ufdd4",
       "id": "\ufdd5", "phone": "\ufdd6", "word": "\ufdd7", "unknown": "\ufdd8"}
KIND_OF_PLACEHOLDER = {v: k for k, v in PLACEHOLDER.items()}
ANY_PLACEHOLDER = "[\ufdd0-\ufdd8]"

_MACROS = {
    "{N}": PLACEHOLDER["name"], "{D}": PLACEHOLDER["date"], "{T}": PLACEHOLDER["time"], "{A}": PLACEHOLDER["age"],
    "{P}": PLACEHOLDER["place"], "{I}": f"[{PLACEHOLDER['id']}{PLACEHOLDER['phone']}]", "{W}": PLACEHOLDER["word"],
    "{U}": PLACEHOLDER["unknown"], "{X}": ANY_PLACEHOLDER,
}
#: A clock time written out (kept values next to a removed date: ``___ at 6:32 p.m.``).
_CLOCK = r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?\s?m\.?(?![a-z]))?"
#: One or more dates and times: ``<date>``, ``<date> through <date>``, ``<date>, <date> at 04:42``.
_WHEN = (rf"[{{D}}{{T}}](?:(?:\s*,\s*|\s+(?:and|through|to|at|on|-)\s+|\s+)(?:[{{D}}{{T}}]|{_CLOCK}))*")
#: The same, starting with a date: what ``neutral`` calls "a prior study".
_DATES = (rf"{{D}}(?:(?:\s*,\s*|\s+(?:and|through|to|at|on|-)\s+|\s+)(?:[{{D}}{{T}}]|{_CLOCK}))*")
#: The noun of a place of care, which a text keeps after a scrubbed place name (``___ Hospital``):
#: a surrogate leaves it, ``neutral`` folds it into the category, ``remove`` takes it with the name.
PLACE_NOUN = r"(?i:hospital|clinic|(?:medical|health)\s+cent(?:er|re)|facility)\b"
#: A place with the noun of its kind that the text kept after it (``<place> Hospital``).
_PLACE = rf"{{P}}(?:\s+{PLACE_NOUN})?"


def compile_frame(pattern: str, flags: int = regex.IGNORECASE) -> regex.Pattern[str]:
    """Expand the placeholder macros (``{D}`` a date, ``{WHEN}`` a run of dates) and compile."""
    pattern = pattern.replace("{WHEN}", _WHEN).replace("{DATES}", _DATES).replace("{PLACE}", _PLACE)
    for macro, chars in _MACROS.items():
        pattern = pattern.replace(macro, chars)
    return regex.compile(pattern, flags)


# -- kinds: what a generic marker hid -----------------------------------------------------------

class Cue(NamedTuple):
    """A context cue for a marker's kind: the kind, where it looks, what it looks for, why, and
    examples (a text whose one marker this cue decides). ``left1``/``left2`` are the last one or two
    words before the marker (lower case), ``right1`` the first word after it, as space-separated
    choices (``|`` for two-word ones); ``left``/``right`` are patterns for what is glued to the
    marker (``___:53``, ``Swan-___``, ``___-year-old``); ``tag`` is a pattern for a tag's own words
    (``<PERSON>``)."""

    name: str
    kind: str
    where: str
    cue: str
    why: str
    examples: tuple[str, ...]


#: Words inside a tag (``<PERSON>``, ``{{DATE}}``, ``[**Hospital1 18**]``) that give its kind, tried in order.
TAG_WORDS: tuple[Cue, ...] = (
    Cue("age tag", "age", "tag", r"\bAGE\b", "the tag names its kind", ("Patient <AGE> with cough.",)),
    Cue("time tag", "time", "tag", r"\bTIME\b(?!_)", "the tag names its kind", ("Seen at {{TIME}} today.",)),
    Cue("date tag", "date", "tag", r"DATE|\bDAY\b|MONTH|YEAR|HOLIDAY", "the tag names its kind",
        ("Compared with <DATE_TIME>.", "Seen {{DATE}} today.")),
    Cue("phone tag", "phone", "tag", r"PHONE|TELEPHONE|\bFAX\b|PAGER", "the tag names its kind",
        ("Call <PHONE_NUMBER> with questions.",)),
    Cue("id tag", "id", "tag", r"E-?MAIL|\bURL\b|\bIP_|\bID\b|MRN|SSN|ACCESSION|NUMBER|LICEN[CS]E|ACCOUNT|PASSPORT|"
        r"IBAN|CREDIT|CRYPTO|\bNHS\b|ITIN|\bSERIAL\b|\bCLIP\b", "the tag names its kind",
        ("Sent to <EMAIL_ADDRESS> today.", "Record <<MRN>> on file.")),
    Cue("place tag", "place", "tag", r"LOCATION|HOSPITAL|ADDRESS|ORGANI[SZ]ATION|COMPANY|\bCITY\b|\bSTATE\b|COUNTRY|"
        r"\bZIP|STREET|\bWARD\b|UNIVERSITY|COLLEGE", "the tag names its kind", ("Transferred from <LOCATION>.",)),
    Cue("name tag", "name", "tag", r"NAME|PERSON|DOCTOR|PATIENT|PHYSICIAN|\bSTAFF\b|INITIAL|LASTNAME|FIRSTNAME",
        "the tag names its kind", ("Findings were paged to <PERSON>.", "Seen by {{NAME}} today.")),
    Cue("nationality tag", "word", "tag", r"\bNRP\b",
        "Presidio's nationality, religion or political group is an ordinary word, no identifier",
        ("An <NRP> woman with cough.",)),
)
_TAG_KIND = [(cue, regex.compile(cue.cue, regex.IGNORECASE)) for cue in TAG_WORDS]
_HAS_TAG_WORD = regex.compile(r"[A-Za-z]{2,}")

#: A device noun after a marker makes it a device's name (Swan-Ganz, Dobhoff, Port-A-Cath), and
#: ``B lines`` a sign's (Kerley): an eponym, never a person.
_DEVICE = r"\s+(?:catheter|tube|line|filter|valve|drain|B[- ]lines?)\b"
DEVICE_TAG = Cue("device after a tag", "word", "right", _DEVICE,
                 "an eponym the scrubber took, whatever a generic tag says",
                 ("The <PERSON> catheter is in place.", "Findings of [NAME] B lines at the bases."))

#: Context cues, tried in order (the first that applies decides). The words of one cue are
#: not repeated in a later one of the same place: the earlier would always win.
CUES: tuple[Cue, ...] = (
    Cue("age glued right", "age", "right",
        r"[ -]?(?:years?\b|yrs?\b|y/?o\b|yo\b|-?y\.o\.|YEARS?\b|YRS?\b|Y/O\b)|[ -]?[MF]\b(?![.'-])",
        "an age reads as one whatever a tag says, in capitals too (`___-YEAR-OLD`)",
        ("A [REDACTED]-year-old man with cough.", "[REDACTED] yo woman.", "[REDACTED]M with pain.",
         "[REDACTED]-YEAR-OLD FEMALE WITH FEVER.")),
    # a stop counts only glued on both sides: `___. 2.` is a sentence end and a list number, not `9.15`
    Cue("time glued right", "time", "right", r"\s?:\s?(?:\d|\ufdd2)|\.(?:\d|\ufdd2)|\s*(?:[ap]\.?\s?m\b|hours?\b|hrs?\b|h\b)",
        "minutes, a.m. or hours after it", ("Paged at [REDACTED]:45.", "Seen at [REDACTED] p.m. today.")),
    Cue("unit after it", "word", "right", r"\s*(?:mm|cm)\b",
        "a measurement's unit follows: the marker was its number, never a time's minutes (`9.___ cm`)",
        ("Left [REDACTED] mm nodule.", "The tube tip is 9.___ cm above the carina.")),
    Cue("time glued left", "time", "left", r"\d\s?:\s?$|\d\.$|:$", "an hour before it (a stop only glued: `2. XXXX` "
        "opens a list item)", ("Paged at 9:[REDACTED] today.", "Seen at 9.[REDACTED] today.")),
    Cue("number label", "id", "left1", "accession clip mrn record order pager beeper serial number no. # #: number: (pager",
        "a label says what follows", ("Accession ___ was reviewed.", "Call pager ___ with results.")),
    Cue("phone label", "phone", "left1", "phone telephone tel tel. fax cell ext ext. extension phone: telephone: fax:",
        "a label says what follows", ("Reached by phone ___ today.",)),
    Cue("word glued left", "word", "left", r"[A-Za-z]-$", "half of a compound word (Swan-Ganz, x-ray)",
        ("PA and lateral x-[REDACTED].",)),
    Cue("word glued right", "word", "right", rf"-[A-Za-z]|{_DEVICE}",
        "a compound's other half or a device noun follows",
        ("Tip of [REDACTED]-Ganz catheter in the SVC.",)),
    Cue("title", "name", "left1", "dr dr. drs drs. mr mr. mrs mrs. ms ms. miss prof prof. nurse",
        "a title names a person", ("Dr. ___ agreed.",)),
    Cue("degree or paging after", "name", "right", r"\s*,?\s*(?:RN|MD|NP|PA-C|DO|PhD|M\.D\.)\b|\s+(?:was|were|has been)"
        r"\s+(?:paged|notified|called|informed|contacted|made aware)", "who holds a degree or was told is a person",
        ("Seen by ___, MD today.", "Then ___ was paged.")),
    Cue("transfer", "place", "left2", "transferred from|transfer from|admitted from|presenting from|presented from|"
        "transferred to|admitted to", "one is transferred between places", ("Patient transferred from ___ today.",)),
    Cue("place noun after", "place", "right1", "hospital clinic emergency ed icu rehab facility dated",
        "a place's kind follows its name", ("Seen at ___ hospital today.",)),
    Cue("place noun phrase after", "place", "right", r"\s+(?:medical|health)\s+cent(?:er|re)\b",
        "a two-word place noun follows its name (`medical` alone is as often `___ medical examination`)",
        ("Intubated at [REDACTED] Medical Center today.",)),
    Cue("date word before", "date", "left1", "since dated from through until before after comparison comparison: date: "
        "radiograph radiographs studies ct x-ray recently (placed",
        "a study, a span of time or a placement noted in parentheses is dated",
        ("Unchanged since ___.", "Radiograph ___ was reviewed.", "A PICC (placed ___) ends in the SVC.",
         "Date: ___ Indication: cough.")),
    Cue("date phrase before", "date", "left2", "than on|prior to|compared to|compared with|comparison to|similar to|"
        "comparison with|study of|exam of", "a comparison names its date", ("Compared to ___, no change.",)),
    Cue("date list after", "date", "right", r"\s+(?:through|thru)\s|\s*,\s*(?:\d{4}|\ufdd1)\b",
        "a span or a day and its year", ("Series ___ through 2001.", "Seen ___, 2004 and again.")),
    Cue("told", "name", "left2", "discussed with|spoke with|spoken with|conveyed to|communicated to|telephoned to|"
        "e-mailed to|emailed to", "the one told is a person", ("Findings discussed with ___ today.",)),
    Cue("paged", "name", "left1", "called paged notified informed", "the one told is a person",
        ("Findings called ___ today.",)),
    Cue("determiner before", "word", "left1", "the no a an pulmonary osseous bony cardiac mediastinal hilar costophrenic",
        "a determiner or a modifier heads a noun phrase: the marker is its ordinary noun",
        ("The XXXX are clear.", "Stable mediastinal XXXX and heart.")),
    # Not "with", "of", "to", "and", "by", "at": a value after them is as often clinical ("female
    # with XXXX", "history of XXXX"), so their markers stay of unknown kind and get no value.
    Cue("on", "date", "left1", "on", "what a report's sentence is `on` is a day", ("Seen on ___ today.",)),
)


class _CueTable:
    """The cue table compiled for speed: word cues become one dictionary per position, mapping a
    word to the first (highest-priority) cue it triggers; the glued cues on the right become one
    alternation in rank order (its first matching branch is the best right cue, found in one
    call), and those on the left are tried only when they outrank the best cue so far."""

    def __init__(self, cues: Sequence[Cue]) -> None:
        self.cues = tuple(cues)
        self.words: dict[str, dict[str, int]] = {"left1": {}, "left2": {}, "right1": {}}
        self.left: list[tuple[int, re.Pattern[str]]] = []
        right = []
        for rank, cue in enumerate(cues):
            if cue.where == "right":  # ages are matched case-sensitively: "M" and "F" are sexes, "m" is metres
                right.append(f"(?P<r{rank}>{'(?:' if cue.kind == 'age' else '(?i:'}{cue.cue}))")
            elif cue.where == "left":
                self.left.append((rank, re.compile(cue.cue)))
            else:
                table = self.words[cue.where]
                for word in cue.cue.split("|") if cue.where == "left2" else cue.cue.split():
                    table.setdefault(word, rank)
        self.right = re.compile("|".join(right))

    def rank(self, left: str, right: str) -> int:
        """The index of the cue that decides, or ``len(cues)`` when none applies."""
        words = left.split() if left[-1:].isspace() else left.split()[:-1]
        after = right.split(None, 1) if right[:1].isspace() else ()
        miss = len(self.cues)
        rank = min(self.words["left1"].get(words[-1].lower() if words else "", miss),
                   self.words["left2"].get(" ".join(words[-2:]).lower(), miss),
                   self.words["right1"].get(after[0].lower().rstrip(".,;:") if after else "", miss))
        glued = self.right.match(right)  # every alternative is a named group: a match has a lastgroup
        if glued is not None and int(glued.lastgroup[1:]) < rank:  # type: ignore[index]
            rank = int(glued.lastgroup[1:])  # type: ignore[index]
        for cue_rank, pattern in self.left:  # left cues end at the marker: look at the last characters
            if cue_rank >= rank:
                break
            if pattern.search(left, max(0, len(left) - 4)) is not None:
                return cue_rank
        return rank


_CUE_TABLE = _CueTable(CUES)
#: An age reads as one whatever a tag says (``<DATE_TIME> year old``).
_AGE_CUE = CUES[0]
_AGE_AFTER = re.compile(_AGE_CUE.cue)
_DEVICE_AFTER = re.compile(_DEVICE)
#: How far around a marker the cues look.
_LEFT_CHARS, _RIGHT_CHARS = 40, 32
#: Separators across which adjacent markers share a kind (``___ ___``, ``XXXX, XXXX``, ``XXXX/XXXX``,
#: ``___ and ___``).
_JOINS = regex.compile(r"(?:\s*[,/]?\s*|\s+and\s+)", regex.IGNORECASE)
#: Words that join a date or a time to the next (``___ through ___``, ``on ___ at ___``) but not a
#: name: ``Dr. ___ at ___`` was told at a time, and a second name there is a value of the wrong kind.
_TIME_JOINS = regex.compile(r"\s+(?:through|to|at)\s+", regex.IGNORECASE)


#: What joins the one told to the one who told (``discussed with ___ by ___``): both are people.
_NAME_JOINS = regex.compile(r"\s+by\s+", regex.IGNORECASE)


def _joined(text: str, end: int, start: int, kind: str) -> bool:
    """Whether a marker of unknown kind at ``start`` (or ending at ``end``) shares ``kind`` with
    its neighbour across ``text[end:start]``."""
    return _JOINS.fullmatch(text, end, start) is not None or (
        kind in ("date", "time") and _TIME_JOINS.fullmatch(text, end, start) is not None) or (
        kind == "name" and _NAME_JOINS.fullmatch(text, end, start) is not None)


def classify(text: str, match: Match) -> str:
    """The kind a marker hid: the rule's own kind, else its tag's words, else the context cues."""
    return explain(text, match)[0]


def explain(text: str, match: Match) -> tuple[str, str]:
    """The kind a marker hid and what decided it: ``rule``, a cue's name, or ``no cue``."""
    kind = match.rule.kind
    if kind != "unknown":
        return kind, "rule"
    marker = text[match.start:match.end]
    right = text[match.end:match.end + _RIGHT_CHARS]
    if _AGE_AFTER.match(right):
        return "age", _AGE_CUE.name
    if _DEVICE_AFTER.match(right):
        return "word", DEVICE_TAG.name
    if marker != "XXXX" and _HAS_TAG_WORD.search(marker):
        for cue, pattern in _TAG_KIND:
            if pattern.search(marker):
                return cue.kind, cue.name
    rank = _CUE_TABLE.rank(text[max(0, match.start - _LEFT_CHARS):match.start], right)
    return (CUES[rank].kind, CUES[rank].name) if rank < len(CUES) else ("unknown", "no cue")


def kinds_of(text: str, matches: Sequence[Match]) -> list[str]:
    """Kinds for a report's matches; an unknown marker next to a known one shares its kind."""
    kinds = [classify(text, m) for m in matches]
    for _ in range(2):
        for i, kind in enumerate(kinds):
            if kind != "unknown":
                continue
            if i and kinds[i - 1] != "unknown" and _joined(text, matches[i - 1].end, matches[i].start, kinds[i - 1]):
                kinds[i] = kinds[i - 1]
            elif i + 1 < len(kinds) and kinds[i + 1] != "unknown" \
                    and _joined(text, matches[i].end, matches[i + 1].start, kinds[i + 1]):
                kinds[i] = kinds[i + 1]
    return kinds
