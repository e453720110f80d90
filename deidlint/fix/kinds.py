"""What a marker hid: its kind, from the rule, the tag's own words or the words around it."""

from __future__ import annotations

import re
from collections.abc import Sequence

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


def compile_frame(pattern: str, flags: int = regex.IGNORECASE) -> regex.Pattern[str]:
    """Expand the placeholder macros (``{D}`` a date, ``{WHEN}`` a run of dates) and compile."""
    pattern = pattern.replace("{WHEN}", _WHEN).replace("{DATES}", _DATES)
    for macro, chars in _MACROS.items():
        pattern = pattern.replace(macro, chars)
    return regex.compile(pattern, flags)


# -- kinds: what a generic marker hid -----------------------------------------------------------

#: Words inside a tag (``<PERSON>``, ``{{DATE}}``, ``[**Hospital1 18**]``) that give its kind.
_TAG_WORDS: tuple[tuple[str, str], ...] = (
    ("age", r"\bAGE\b"),
    ("time", r"\bTIME\b(?!_)"),
    ("date", r"DATE|\bDAY\b|MONTH|YEAR|HOLIDAY"),
    ("phone", r"PHONE|TELEPHONE|\bFAX\b|PAGER"),
    ("id", r"E-?MAIL|\bURL\b|\bIP_|\bID\b|MRN|SSN|ACCESSION|NUMBER|LICEN[CS]E|ACCOUNT|PASSPORT|IBAN|CREDIT|"
           r"CRYPTO|\bNHS\b|ITIN|\bSERIAL\b|\bCLIP\b"),
    ("place", r"LOCATION|HOSPITAL|ADDRESS|ORGANI[SZ]ATION|COMPANY|\bCITY\b|\bSTATE\b|COUNTRY|\bZIP|"
              r"STREET|\bWARD\b|UNIVERSITY|COLLEGE"),
    ("name", r"NAME|PERSON|DOCTOR|PATIENT|PHYSICIAN|\bSTAFF\b|INITIAL|LASTNAME|FIRSTNAME"),
    ("word", r"\bNRP\b"),
)
_TAG_KIND = [(kind, regex.compile(p, regex.IGNORECASE)) for kind, p in _TAG_WORDS]
_HAS_TAG_WORD = regex.compile(r"[A-Za-z]{2,}")

#: A device noun after a marker makes it a device's name (Swan-Ganz, Dobhoff, Port-A-Cath).
_DEVICE = r"\s+(?:catheter|tube|line|filter|valve|drain)\b"

#: Context cues, tried in order: (kind, where, cue). ``left1``/``left2`` are the last one or two
#: words before the marker (lower case), ``right1`` the first word after it; ``left``/``right``
#: are patterns for what is glued to the marker (``___:53``, ``Swan-___``, ``___-year-old``).
_CUES: tuple[tuple[str, str, str], ...] = (
    ("age", "right", r"[ -]?(?:years?\b|yrs?\b|y/?o\b|yo\b|-?y\.o\.)|[ -]?[MF]\b(?![.'-])"),
    ("age", "left1", "age aged age: aged:"),
    ("time", "right", r"\s?[:.]\s?(?:\d|\ufdd2)|\s*(?:[ap]\.?\s?m\b|hours?\b|hrs?\b|h\b)"),
    ("time", "left", r"\d\s?[:.]\s?$|:$"),
    ("id", "left1", "accession clip mrn record order pager beeper serial number no. # #: number: (pager"),
    ("phone", "left1", "phone telephone tel tel. fax cell ext ext. extension phone: telephone: fax:"),
    ("word", "left", r"[A-Za-z]-$"),
    ("word", "right", rf"-[A-Za-z]|\s*(?:mm|cm)\b|{_DEVICE}"),
    ("name", "left1", "dr dr. drs drs. mr mr. mrs mrs. ms ms. miss prof prof. nurse"),
    ("name", "right", r"\s*,?\s*(?:RN|MD|NP|PA-C|DO|PhD|M\.D\.)\b|\s+(?:was|were|has been)\s+"
                      r"(?:paged|notified|called|informed|contacted|made aware)"),
    ("place", "left2", "transferred from|transfer from|admitted from|presenting from|presented from|"
                       "transferred to|admitted to"),
    ("place", "right1", "hospital clinic emergency ed icu rehab facility dated"),
    ("date", "left1", "since dated from through until before after comparison comparison: radiograph "
                      "radiographs studies ct x-ray recently"),
    ("date", "left2", "than on|prior to|compared to|compared with|comparison to|comparison with|study of|exam of"),
    ("date", "right", r"\s+(?:through|thru)\s|\s*,\s*(?:\d{4}|\ufdd1)\b"),
    ("name", "left2", "discussed with|spoke with|spoken with|conveyed to|communicated to|telephoned to|"
                      "e-mailed to|emailed to"),
    ("name", "left1", "called paged notified informed"),
    ("word", "left1", "the no a an pulmonary"),
    # Not "with", "of", "to", "and", "by", "at": a value after them is as often clinical ("female
    # with XXXX", "history of XXXX"), so their markers stay of unknown kind and get no value.
    ("date", "left1", "on"),
    ("time", "left1", "@"),
)


class _CueTable:
    """The cue table compiled for speed: word cues become one dictionary per position, mapping a
    word to the first (highest-priority) cue it triggers; the glued cues on the right become one
    alternation in rank order (its first matching branch is the best right cue, found in one
    call), and those on the left are tried only when they outrank the best cue so far."""

    def __init__(self, cues: Sequence[tuple[str, str, str]]) -> None:
        self.words: dict[str, dict[str, tuple[int, str]]] = {"left1": {}, "left2": {}, "right1": {}}
        self.kinds = [kind for kind, _, _ in cues]
        self.left: list[tuple[int, str, re.Pattern[str]]] = []
        right = []
        for rank, (kind, where, cue) in enumerate(cues):
            if where == "right":  # ages are matched case-sensitively: "M" and "F" are sexes, "m" is metres
                right.append(f"(?P<r{rank}>{'(?:' if kind == 'age' else '(?i:'}{cue}))")
            elif where == "left":
                self.left.append((rank, kind, re.compile(cue)))
            else:
                table = self.words[where]
                for word in cue.split("|") if where == "left2" else cue.split():
                    table.setdefault(word, (rank, kind))
        self.right = re.compile("|".join(right))

    def kind(self, left: str, right: str) -> str:
        words = left.split() if left[-1:].isspace() else left.split()[:-1]
        after = right.split(None, 1) if right[:1].isspace() else ()
        miss = (len(_CUES), "unknown")
        rank, kind = min(self.words["left1"].get(words[-1].lower() if words else "", miss),
                         self.words["left2"].get(" ".join(words[-2:]).lower(), miss),
                         self.words["right1"].get(after[0].lower().rstrip(".,;:") if after else "", miss))
        glued = self.right.match(right)  # every alternative is a named group: a match has a lastgroup
        if glued is not None and int(glued.lastgroup[1:]) < rank:  # type: ignore[index]
            rank = int(glued.lastgroup[1:])  # type: ignore[index]
            kind = self.kinds[rank]
        for cue_rank, cue_kind, pattern in self.left:  # left cues end at the marker: look at the last characters
            if cue_rank >= rank:
                break
            if pattern.search(left, max(0, len(left) - 4)) is not None:
                return cue_kind
        return kind


_CUE_TABLE = _CueTable(_CUES)
#: An age reads as one whatever a tag says (``<DATE_TIME> year old``).
_AGE_AFTER = re.compile(next(cue for kind, where, cue in _CUES if (kind, where) == ("age", "right")))
_DEVICE_AFTER = re.compile(_DEVICE)
#: How far around a marker the cues look.
_LEFT_CHARS, _RIGHT_CHARS = 40, 32
#: Separators across which adjacent markers share a kind (``___ ___``, ``XXXX, XXXX``).
_JOINS = regex.compile(r"(?:\s*,?\s*|\s+(?:and|through|to|at)\s+)", regex.IGNORECASE)


def classify(text: str, match: Match) -> str:
    """The kind a marker hid: the rule's own kind, else its tag's words, else the context cues."""
    kind = match.rule.kind
    if kind != "unknown":
        return kind
    marker = text[match.start:match.end]
    right = text[match.end:match.end + _RIGHT_CHARS]
    if _AGE_AFTER.match(right):
        return "age"
    if _DEVICE_AFTER.match(right):
        return "word"  # "the [**Doctor Last Name**] catheter": an eponym the scrubber took, whatever the tag says
    if marker != "XXXX" and _HAS_TAG_WORD.search(marker):
        for tag_kind, pattern in _TAG_KIND:
            if pattern.search(marker):
                return tag_kind
    return _CUE_TABLE.kind(text[max(0, match.start - _LEFT_CHARS):match.start], right)


def kinds_of(text: str, matches: Sequence[Match]) -> list[str]:
    """Kinds for a report's matches; an unknown marker next to a known one shares its kind."""
    kinds = [classify(text, m) for m in matches]
    for _ in range(2):
        for i, kind in enumerate(kinds):
            if kind != "unknown":
                continue
            if i and _JOINS.fullmatch(text, matches[i - 1].end, matches[i].start) and kinds[i - 1] != "unknown":
                kinds[i] = kinds[i - 1]
            elif i + 1 < len(kinds) and _JOINS.fullmatch(text, matches[i].end, matches[i + 1].start) \
                    and kinds[i + 1] != "unknown":
                kinds[i] = kinds[i + 1]
    return kinds
