"""Repairing report text: every trace goes, every clinical statement stays, the result reads well.

Naive deletion leaves wreckage (``Comparison to .``, ``discussed with Dr.  by Dr.  at 4:05
p.m. on .``) and wreckage is itself a new trace a model can memorize. So a fix works on
sentences, and only on the sentences that hold a trace; every other sentence of a report is
copied through verbatim, hard wrapping included.

The steps for one report:

1. **Kinds.** A rule's ``kind`` says what a marker hid. Generic markers (``___``, ``XXXX``,
   ``[REDACTED]``) have kind ``unknown``; their kind is read from the tag's own words
   (``<PERSON>``, ``{{DATE}}``) or from the words around them (``Dr. ___`` is a name, ``since
   ___`` a date, ``___:53`` a time, ``pulmonary XXXX are`` an ordinary word), using the cue
   tables below: data, not special cases.
2. **Strategy.** Each trace gets an action: ``remove`` (delete it with its grammatical frame),
   ``neutral`` (category words: ``a prior study``, ``the referring clinician``), ``surrogate``
   (a fake value of the right kind, hidden in plain sight), ``mask`` (one token) or ``restore``
   (an over-scrubbed ordinary word learnt back from the corpus; never for identifiers).
3. **Sentences.** Traces that are removed or neutralised are replaced by one placeholder
   character per kind, and an ordered table of frame rewrites runs over the sentence
   (``since <date>`` goes, ``<age>-year-old man`` becomes ``Man``). Administrative sentences
   (who was paged or called, when, by phone) are dropped whole, as are sentences left without
   content. A section header whose every sentence went is dropped too.

Sentence boundaries come from a rule-based splitter tuned to radiology reports (section
headers, numbered impressions, ``Dr.``, ``a.m.``/``p.m.``), run only over the paragraphs that
hold a trace. spaCy's ``sentencizer`` can find the boundaries instead (``segmenter="spacy"``):
it is imported on first use and run with ``nlp.pipe`` over those paragraphs only, and section
headers and list numbers are split off by the same rules. It was measured too slow to be the
default: a blank English pipeline segments about 4,000 whole reports/s on this machine and
takes 4-7 s to import, while the whole fix aims at 20,000 reports/s.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import NamedTuple

import regex

from deidlint import meaning
from deidlint.engine import Match, Scanner
from deidlint.errors import UsageError
from deidlint.guard import CONJUNCT_MODIFIERS, hedge_slot, judge
from deidlint.rules import STRATEGIES, UNRESOLVED, Rule

__all__ = [
    "Fixer",
    "FixStats",
    "RestoreModel",
    "Segmenter",
    "classify",
    "fix_text",
    "fix_texts",
    "sentence_units",
]

#: Kinds that identify a person; ``restore`` never applies to them.
PHI_KINDS = frozenset({"name", "date", "time", "age", "place", "id", "phone"})
#: Rule kinds whose markers may turn out to hide an ordinary word.
_RESTORABLE = frozenset({"word", "unknown"})

# -- placeholders -----------------------------------------------------------------------------
#
# While a sentence is rewritten, each removed or neutralised trace stands as one Unicode
# noncharacter (U+FDD0...), which never occurs in interchanged text and is neither a word
# character nor punctuation, so the frame patterns can name "a date here" precisely.

_PH = {"name": "\ufdd0", "date": "\ufdd1", "time": "\ufdd2", "age": "\ufdd3", "place": "\ufdd4",
       "id": "\ufdd5", "phone": "\ufdd6", "word": "\ufdd7", "unknown": "\ufdd8"}
_KIND_OF_PH = {v: k for k, v in _PH.items()}
_ANY_PH = "[\ufdd0-\ufdd8]"

_MACROS = {
    "{N}": _PH["name"], "{D}": _PH["date"], "{T}": _PH["time"], "{A}": _PH["age"],
    "{P}": _PH["place"], "{I}": f"[{_PH['id']}{_PH['phone']}]", "{W}": _PH["word"],
    "{U}": _PH["unknown"], "{X}": _ANY_PH,
}
#: A clock time written out (kept values next to a removed date: ``___ at 6:32 p.m.``).
_CLOCK = r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?\s?m\.?(?![a-z]))?"
#: One or more dates and times: ``<date>``, ``<date> through <date>``, ``<date>, <date> at 04:42``.
_WHEN = (rf"[{{D}}{{T}}](?:(?:\s*,\s*|\s+(?:and|through|to|at|on|-)\s+|\s+)(?:[{{D}}{{T}}]|{_CLOCK}))*")
#: The same, starting with a date: what ``neutral`` calls "a prior study".
_DATES = (rf"{{D}}(?:(?:\s*,\s*|\s+(?:and|through|to|at|on|-)\s+|\s+)(?:[{{D}}{{T}}]|{_CLOCK}))*")


def _compile(pattern: str, flags: int = regex.IGNORECASE) -> regex.Pattern[str]:
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
    ("word", "right", r"-[A-Za-z]|\s*(?:mm|cm)\b|\s+(?:catheter|tube|line|filter|valve|drain)\b"),
    ("name", "left1", "dr dr. drs drs. mr mr. mrs mrs. ms ms. miss prof prof. nurse"),
    ("name", "right", r"\s*,?\s*(?:RN|MD|NP|PA-C|DO|PhD|M\.D\.)\b|\s+(?:was|were|has been)\s+"
                      r"(?:paged|notified|called|informed|contacted|made aware)"),
    ("place", "left2", "transferred from|transfer from|admitted from|presenting from|presented from|"
                       "transferred to|admitted to"),
    ("place", "right1", "triage hospital clinic emergency ed icu rehab facility dated"),
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
        glued = self.right.match(right)
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
    if marker != "XXXX" and _HAS_TAG_WORD.search(marker):
        for tag_kind, pattern in _TAG_KIND:
            if pattern.search(marker):
                return tag_kind
    return _CUE_TABLE.kind(text[max(0, match.start - _LEFT_CHARS):match.start], right)


def _kinds(text: str, matches: Sequence[Match]) -> list[str]:
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


# -- sentences ----------------------------------------------------------------------------------


class Unit(NamedTuple):
    """A sentence (or a section header) of a report: offsets into the text, trailing space excluded.

    ``body`` is where the sentence proper starts, after a list number such as ``2. ``.
    ``header`` marks a unit that ends in a colon (``FINDINGS:``, ``Comment:``): it heads the
    units after it, up to the next header or paragraph break, and goes when they all go.
    (A named tuple: a fix makes millions, and a frozen dataclass costs four times as much to build.)
    """

    start: int
    body: int
    end: int
    para: int
    header: bool


# The splitter's patterns use the standard library's ``re``, faster than ``regex`` here, and
# ``_GAP`` and ``_PARAGRAPH`` start with one definite character class (not optional spaces), so
# the engine skips ahead to the next candidate in C. A gap may start after its first character
# (the line break, the full stop): a unit never starts or ends with whitespace anyway.

#: Line-start section headers: ``FINDINGS:``, ``**IMPRESSION:**``, ``CHEST (PA AND LAT):``.
_HEADER = re.compile(r"[ \t]*(?:\*\*)?[A-Z][A-Z0-9 ,/&()'\-]{1,60}:(?:\*\*)?(?=\s|$)")
_LIST_ITEM = re.compile(r"(\d{1,2})([.)])[ \t]+")
#: Whitespace that separates units: blank lines (paragraphs), a line break before a list item
#: or header, a sentence end followed by anything but a lowercase word, a colon before a
#: capitalised word.
_GAP = re.compile(
    r"[\n.!?:](?:"
    r"(?<=\n)(?P<line>[ \t]*)(?=\d{1,2}[.)][ \t]|(?:\*\*)?[A-Z][A-Z0-9 ,/&()'\-]{1,60}:(?:\*\*)?(?:\s|$))"
    r"|(?<=[.!?])[\"')\]]*(?P<stop>\s+)(?=[^\sa-z]|$)"
    r"|(?<=[a-z)]:)(?P<colon>[ \t]+)(?=[A-Z][a-z]))"
)
#: Words whose period does not end a sentence: titles, Latin abbreviations, initials, and the
#: number of a list item at a line start, after a label or after a sentence
#: (``IMPRESSION: 1. No effusion. 2. Clear lungs.``).
_ABBREVIATION = re.compile(
    r"(?:\b(?:Dr|Drs|Mr|Mrs|Ms|Prof|St|Sr|vs|approx|e\.g|i\.e|cf|Fig|No)|(?<![A-Za-z.])[A-Z]"
    r"|(?<![^\n])[ \t]*\d{1,2}|[.!?:][ \t]+\d{1,2})\.$"
)
#: The white space before a section label inside a line (a one-line export: ``COMPARISON: None
#: INDICATION: cough FINDINGS: ...``): a label heads the sentences after it, as at a line start.
#: (Open-I's marker ``XXXX`` is no label word: ``chills and XXXX IMPRESSION:``.)
_INLINE_LABEL = re.compile(r"(?<=\S)[ \t]+(?=(?:\*\*)?(?!XXXX\b)[A-Z][A-Z/&()'-]{2,}(?: (?!XXXX\b)[A-Z][A-Z/&()'-]+){0,3}:"
                           r"(?:\*\*)?(?:\s|$))")


_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every paragraph: text between blank lines."""
    out = []
    pos = 0
    for m in _PARAGRAPH.finditer(text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def sentence_units(text: str, spans: Sequence[tuple[int, int]] | None = None) -> list[Unit]:
    """Split a report into sentences and section headers with the rule-based splitter.

    With ``spans`` (sorted and not overlapping, as the scanner gives them), only paragraphs
    that hold one of them are split; every other paragraph is one unit, which a fix copies
    verbatim (splitting costs more than all the rest of a fix).
    """
    units: list[Unit] = []
    k = 0
    for para, (start, end) in enumerate(_paragraphs(text)):
        if spans is not None:
            while k < len(spans) and spans[k][1] <= start:
                k += 1
        if spans is None or (k < len(spans) and spans[k][0] < end):
            _split(text, start, end, para, units)
        else:
            _add_whole(text, start, end, para, units)
    return units


def _add_whole(text: str, start: int, end: int, para: int, units: list[Unit]) -> None:
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        units.append(Unit(start, start, end, para, False))


def _split(text: str, start: int, end: int, para: int, units: list[Unit]) -> None:
    """Units of one paragraph: split at inline section labels, sentence ends, line-start headers
    and list items."""
    pos = start
    for m in _INLINE_LABEL.finditer(text, start, end):
        _split_piece(text, pos, m.start(), para, units)
        pos = m.end()
    _split_piece(text, pos, end, para, units)


def _split_piece(text: str, start: int, end: int, para: int, units: list[Unit]) -> None:
    pos = start
    for m in _GAP.finditer(text, start, end):
        gap_start, gap_end = m.span(m.lastgroup)  # type: ignore[arg-type]
        if m.lastgroup == "stop" and _ABBREVIATION.search(text, max(0, gap_start - 8), gap_start):
            continue
        _add_units(text, pos, gap_start, para, units)
        pos = gap_end
    _add_units(text, pos, end, para, units)


def _add_units(text: str, start: int, end: int, para: int, units: list[Unit]) -> None:
    """Add the piece ``text[start:end]``, splitting a leading header off its first sentence."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return
    head = _HEADER.match(text, start, end)
    if head is not None:
        stop = head.end()
        units.append(Unit(start, start, stop, para, True))
        start = stop
        while start < end and text[start].isspace():
            start += 1
        if start >= end:
            return
    item = _LIST_ITEM.match(text, start, end)
    body = item.end() if item is not None else start
    units.append(Unit(start, body, end, para, text[end - 1] == ":"))


class Segmenter:
    """Sentence units for a batch of reports: the rule-based splitter, or spaCy's ``sentencizer``.

    spaCy is imported on first use only, and only the reports that need repair are passed to
    ``nlp.pipe``. Its tokenizer knows more abbreviations than the rule-based splitter, at about a
    fifth of the speed; section headers and list numbers are split off the same way for both.
    """

    def __init__(self, kind: str = "rules") -> None:
        if kind not in ("rules", "spacy"):
            raise UsageError(f"unknown sentence segmenter {kind!r} (rules or spacy)")
        self.kind = kind
        self._nlp = None

    def units(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[Unit]]:
        """Units of each text; only paragraphs holding one of its ``spans`` are split."""
        if self.kind == "rules":
            return [sentence_units(t, s) for t, s in zip(texts, spans, strict=True)]
        plans = []
        todo: list[str] = []
        for text, where in zip(texts, spans, strict=True):
            paragraphs = _paragraphs(text)
            split = [any(s < e and t > b for s, t in where) for b, e in paragraphs]
            plans.append((text, paragraphs, split))
            todo.extend(text[b:e] for (b, e), yes in zip(paragraphs, split, strict=True) if yes)
        docs = iter(self._pipeline().pipe(todo, batch_size=256))
        out = []
        for text, paragraphs, split in plans:
            units: list[Unit] = []
            for para, ((start, end), yes) in enumerate(zip(paragraphs, split, strict=True)):
                if not yes:
                    _add_whole(text, start, end, para, units)
                    continue
                for sent in next(docs).sents:
                    a, b = start + sent.start_char, start + sent.end_char
                    pos = a
                    for m in _GAP.finditer(text, a, b):
                        if m.lastgroup == "line":
                            _add_units(text, pos, m.start(), para, units)
                            pos = m.end()
                    _add_units(text, pos, b, para, units)
            out.append(units)
        return out

    def _pipeline(self):  # type: ignore[no-untyped-def]
        if self._nlp is None:
            try:
                import spacy
            except ImportError:  # pragma: no cover - spaCy is a core dependency
                raise UsageError("the spacy segmenter needs spaCy installed") from None
            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer")
            self._nlp = nlp
        return self._nlp


# -- frames: how a sentence is repaired -----------------------------------------------------------

Replacement = str | Callable[[regex.Match[str]], str]

#: Times of which only part was scrubbed (``___:53 a.m.``, ``9.___ am``) become one time.
_TIME_CLUSTER = _compile(r"(?:\d{1,2}\s?[:.]\s?)?{T}(?:\s?[:.]\s?(?:{T}|\d{2}))*(?:\s*[ap]\.?\s?m\.?(?![a-z]))?")

_NOUN_OF_TITLE = {"mr": "man", "mrs": "woman", "ms": "woman", "miss": "woman"}


def _patient_noun(m: regex.Match[str]) -> str:
    return (m.group("noun") or _NOUN_OF_TITLE[m.group("title").lower()]) + " "


def _sex(m: regex.Match[str]) -> str:
    return "male" if m.group(1) == "M" else "female"


#: Modifiers whose noun a scrubber took inside a conjunction (``The heart and pulmonary XXXX are
#: normal``): the conjunct goes whole, and the verb agrees with what is left.
_SINGULAR_VERB = {"are": "is", "appear": "appears", "remain": "remains", "have": "has"}


def _conjunct_gone(m: regex.Match[str]) -> str:
    noun, verb = m.group("noun"), m.group("verb")
    if verb is None:
        return noun
    plural = noun.lower().endswith("s") and not noun.lower().endswith(("ss", "us", "is"))
    return f"{noun} {verb if plural else _SINGULAR_VERB[verb.lower()]}"


#: Rewrites for ``remove``, in order. Each deletes a trace together with the words that only
#: made sense with it; what is left is tidied by :func:`_tidy`.
_REMOVE_FRAMES: tuple[tuple[str, Replacement], ...] = (
    # ages: "___-year-old man with fever" -> "Man with fever"
    (r"\b(?P<title>Mr|Mrs|Ms|Miss)\.?\s+{N}(?:\s+{N})*\s+is\s+an?\s+{A}[ -]?(?:years?|yrs?)[ -]?old\b\s*"
     r"(?:(?P<noun>man|woman|male|female|patient|gentleman|lady)\b\s*)?", _patient_noun),
    (r"\ban?\s+{A}[ -]?(?:years?|yrs?)[ -]?old\s+(?=with\b)", "a patient "),
    (r"\b(is|was)\s+an?\s+{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b\s*", r"\1 a "),
    (r"(?<![\w ]\s)(?<!\w){A}[ -]?(?:years?|yrs?)[ -]?old\s+(?=with\b)", "patient "),
    (r"(?:\ban?\s+)?{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b[ -]?", ""),
    (r"{A}\s?(?:y/?o|yo|y\.o\.)(?![a-z])\s*", ""),
    (r"{A}\s?(M|F)\b", _sex),
    (r"\b(?:age[ds]?)\s*:?\s*{A}", ""),
    (r"(?:\b(?:Mr|Mrs|Ms|Miss)\.?\s+|^){N}(?:\s+{N})*(?=\s+(?:is|was|has|had|presents|presented|reports)\b)",
     "the patient"),
    # places
    (r"\s*\b(?:transferred|transfer)\s+from\s+(?:the\s+)?{P}", ""),
    (r"\b(?:from|at|in|to|of)\s+(?:the\s+)?{P}", ""),
    (r"\bthe\s+{P}\s+", "the "),
    # numbers: ids, pagers, phones, e-mail addresses
    (r"\s*\(\s*(?:pager|beeper|tel|phone|ext\.?)?\s*[#:]?\s*{I}\s*\)", ""),
    (r"\b(?:accession|clip|order|record|mrn|medical record|pager|beeper|phone|telephone|fax)"
     r"(?:\s+(?:number|no\.?|#))?\s*[#:]?\s*{I}", ""),
    (r"\b(?:at|on|to|via|or)\s+{I}", ""),
    # names
    (r"\b(?:Dr|Drs|Mr|Mrs|Ms|Miss|Prof|Nurse)\.?\s+{N}(?:\s+{N})*(?:\s*,\s*(?:RN|MD|NP|PA-C|DO)\b)?", ""),
    (r"{N}(?:\s+{N})*(?:\s*,\s*(?:RN|MD|NP|PA-C|DO)\b)?", ""),
    # dates: comparison openers go whole, never becoming a claim that no prior exists
    (r"^(?:(?:AP|PA|portable|frontal|upright)\s+chest\s+)?(?:as\s+)?(?:compared\s+(?:to|with)|comparison\s+"
     r"(?:to|with)|in\s+comparison\s+(?:to|with))\s+(?:(?:the\s+)?(?:study|studies|exam|examination|"
     r"radiographs?|films?)\s+(?:of|from|dated|on)\s+|(?:chest\s+)?(?:radiographs?|studies|films?)\s+)?"
     r"{WHEN}\s*[:,]?\s*", ""),
    # "unchanged compared to <date>": the comparison goes with its date, never "unchanged compared."
    (r"\s*,?\s*\b(?:as\s+)?(?:compared|in\s+comparison)\s+(?:to|with)\s+(?:(?:the\s+)?(?:prior\s+)?(?:study|studies|"
     r"exam|examination|radiographs?|films?)\s+(?:of|from|dated|on)\s+)?{WHEN}", ""),
    (r"\bthan\s+(?:on|in|at)\s+{WHEN}", "than previously"),
    (r"\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{WHEN}", ""),
    (r"\b(?:since|from|dated|on|of|through|to|until|before|after|prior\s+to|as\s+of|at)\s+(?:the\s+)?{WHEN}", ""),
    (r"{WHEN}", ""),
    # ordinary words that could not be restored
    (r"[A-Za-z][\w]*-{W}|{W}-[A-Za-z][\w-]*", ""),
    (rf"\b(?P<noun>[A-Za-z]+)(?:,?\s+(?:and|or)\s+|\s*,\s*){CONJUNCT_MODIFIERS}\s+{{W}}(?:\s+(?P<verb>are|appear|"
     r"remain|have)\b)?", _conjunct_gone),
    (r"{W}\s*(?:mm|cm)\b", ""),
    (r"\b(no)\s+{W}\s+of\s+(?:an?\s+|the\s+)?", r"\1 "),
    (r"\b(the|a|an)\s+{W}\s+of\s+(?:the\s+)?", r"\1 "),
    (r"{W}", ""),
    # markers whose kind stayed unknown
    (r"\b(?:at|from|on|of|to|by|with|in|for)\s+{U}", ""),
    (r"{X}", ""),
)


def _when_phrase(m: regex.Match[str], single: str, several: str) -> str:
    return several if m.group(0).count(_PH["date"]) > 1 else single


def _neutral_age(m: regex.Match[str]) -> str:
    return f"{m.group(1)}n adult" if m.group(1) else "adult"


#: Rewrites for ``neutral``: category words in place of the value; kinds without a sensible
#: category word (times, numbers, unresolved markers) then go through the remove frames.
_NEUTRAL_FRAMES: tuple[tuple[str, Replacement], ...] = (
    (r"\b(referring\s+(?:physician|clinician|provider)),?\s+{N}(?:\s+{N})*", r"\1"),
    (r"\bby\s+(?:(?:Dr|Drs|Prof)\.?\s+)?{N}(?:\s+{N})*(?:\s*,\s*(?:MD|DO)\b)?", "by the radiologist"),
    (r"\b(?:Dr|Drs|Prof)\.?\s+{N}(?:\s+{N})*(?:\s*,\s*(?:MD|DO)\b)?", "the referring clinician"),
    (r"\b(?:Mr|Mrs|Ms|Miss)\.?\s+{N}(?:\s+{N})*", "the patient"),
    (r"^{N}(?:\s+{N})*(?=\s+(?:is|was|has|had|presents|presented|reports)\b)", "the patient"),
    (r"{N}(?:\s+{N})*\s*,\s*(?:RN|NP)\b", "the nurse"),
    (r"{N}(?:\s+{N})*", "the referring clinician"),
    (r"(?:\b(a|A)n?\s+)?{A}\s?[ -]?(?:years?|yrs?)[ -]?old\b", _neutral_age),
    (r"{A}\s?(?:y/?o|yo|y\.o\.)(?![a-z])", "adult"),
    (r"{A}\s?(M|F)\b", lambda m: "adult " + _sex(m)),
    (r"\bthe\s+{P}", "the outside hospital"),
    (r"{P}", "an outside hospital"),
    (r"\s*,?\s*(?:and\s+)?most\s+recently\s+(?:on\s+)?{DATES}", ""),
    (r"\bthan\s+(?:on|in|at)\s+{DATES}", "than on the prior study"),
    (r"\b(?:the\s+)?(?:study|exam|examination|radiograph|film)\s+(?:of|from|dated|on)\s+{DATES}",
     lambda m: _when_phrase(m, "the prior study", "the prior studies")),
    (r"\bdated\s+{DATES}", lambda m: "from " + _when_phrase(m, "a prior study", "prior studies")),
    (r"\bon\s+{DATES}", "on an earlier date"),
    (r"\b(since|from|of|to|with|through)\s+(?:the\s+)?{DATES}",
     lambda m: f"{m.group(1)} " + _when_phrase(m, "a prior study", "prior studies")),
    (r"^\s*{DATES}", lambda m: _when_phrase(m, "a prior study", "prior studies")),
    (r"(?<=\w)\s+{DATES}", lambda m: " from " + _when_phrase(m, "a prior study", "prior studies")),
)

_PH_CHARS = frozenset(_PH.values())
Frame = tuple[frozenset[str], regex.Pattern[str], Replacement]


def _frames(table: Sequence[tuple[str, Replacement]]) -> tuple[Frame, ...]:
    """Compile a frame table; each frame notes the placeholders it needs, so others are skipped."""
    out = []
    for pattern, repl in table:
        compiled = _compile(pattern)
        needs = _PH_CHARS if _ANY_PH in compiled.pattern else frozenset(c for c in compiled.pattern if c in _PH_CHARS)
        out.append((needs, compiled, repl))
    return tuple(out)


_REMOVE = _frames(_REMOVE_FRAMES)
_NEUTRAL = _frames(_NEUTRAL_FRAMES)

#: Sentences about who was told what and when carry no image content once names, times and
#: dates go; with a trace in them, ``remove`` drops them (clause by clause where ``;`` splits).
_ADMIN = regex.compile(
    r"\b(?:discuss(?:ed|ion)|paged?|notified|notify|called|telephoned|phoned|communicated|conveyed|"
    r"e-?mailed|contact(?:ed)?|informed|relayed|spoke|spoken|faxed|read\s?back|reported\s+to|"
    r"made\s+aware|triage\s+nurse|by\s+(?:tele)?phone|pager)\b", regex.IGNORECASE)
#: Words that carry no finding on their own: a sentence left with only these goes.
_FRAME_WORDS = frozenset(
    "a an and as at by comparison compare compared comment date dated examination exam for from "
    "history in is no note of on prior previous previously record seen since study studies than "
    "the through to was were with accession number clip order mrn pager id time dictated signed "
    "electronically none made available approximately".split()
)
_WORD = regex.compile(r"[A-Za-z]+")

#: Clean-ups after deletions: (substrings that must be present for the rule to apply, pattern,
#: replacement). The trigger check is a cheap ``in`` test that skips most rules for most sentences.
_TIDY: tuple[tuple[tuple[str, ...], regex.Pattern[str], str], ...] = tuple(
    (triggers, regex.compile(p, regex.IGNORECASE), r) for triggers, p, r in (
        (("(", "["), r"\(\s*\)|\[\s*\]", ""),
        (("(",), r"\(\s+", "("),
        ((")",), r"\s+\)", ")"),
        ((" .", " ,", " ;", " :", " !", " ?", "\t"), r"[ \t]+(?=[.,;:!?])", ""),
        (("//",), r"\s*//\s*(?=[.,;:]|$)", ""),
        ((",",), r",\s*,", ","),
        ((",", ";"), r"[,;]\s*(?=[.;:!?]|$)", ""),
        ((":",), r":\s*(?=[.,;]|$)", ""),
        ((".",), r"(?<=\.)[ \t]*\.(?!\.)", ""),
        ((".",), r"(?<![ap]\.m|\.\w)\.[ \t]*,", "."),
        ((" ",), r"\b(?:with|of|to|from|by|at|on|in|since)\s+(?=(?:for|with|of|to|from|by|at|on|in|and|since)\b)", ""),
        (("adult", "outside", "earlier"), r"\b(a)(\s+)(?=(?:adult|outside|earlier)\b)", r"\1n\2"),
        (("  ", "\t"), r"[ \t]{2,}", " "),
        (("\n",), r"[ \t]*\n[ \t\n]*", "\n"),
    ))
#: Words that cannot end a clause: a deletion that leaves one before punctuation takes it too.
_CLAUSE_ENDERS = frozenset("to from of on since at with by and or the a an dated in through for than via per as".split())
_TITLES = frozenset("Dr. Drs. Mr. Mrs. Ms. Miss. Prof.".split())
_STOPS = regex.compile(r"[,.;:!?)]")
_LEADING_JUNK = regex.compile(r"[\s,;:./-]+")


def _tidy(sentence: str) -> str:
    """Remove what deletions leave behind: doubled spaces and punctuation, bare prepositions."""
    for _ in range(3):
        before = sentence
        if (junk := _LEADING_JUNK.match(sentence)) is not None:
            sentence = sentence[junk.end():]
        for triggers, pattern, repl in _TIDY:
            if any(t in sentence for t in triggers):
                sentence = pattern.sub(repl, sentence)
        sentence = _drop_clause_enders(sentence)
        if sentence == before:
            break
    return sentence.strip()


def _drop_clause_enders(sentence: str) -> str:
    """Drop prepositions, articles and titles left right before punctuation or the end."""
    stops = [m.start() for m in _STOPS.finditer(sentence) if not sentence[m.end():m.end() + 1].isalnum()]
    stops.append(len(sentence))
    for stop in reversed(stops):
        while True:
            head = sentence[:stop].rstrip()
            cut = max(head.rfind(" "), head.rfind("\n")) + 1
            word = head[cut:]
            if not word or (word.lower() not in _CLAUSE_ENDERS and word not in _TITLES):
                break
            sentence = head[:cut].rstrip() + sentence[stop:]
            stop = len(head[:cut].rstrip())
    return sentence


def _content_free(sentence: str) -> bool:
    return all(w.lower() in _FRAME_WORDS for w in _WORD.findall(sentence))


_LEAD_IN = regex.compile(r"((?:[A-Z][A-Za-z ]{0,20}:\s+)?)([a-z])")
_CLAUSES = regex.compile(r"\s*;\s*")


def _capitalize(sentence: str) -> str:
    """Upper-case the first letter, also after a lead-in such as ``History:``."""
    m = _LEAD_IN.match(sentence)
    if m is None:
        return sentence
    return m.group(1) + m.group(2).upper() + sentence[m.end():]


@lru_cache(maxsize=1 << 15)
def repair_sentence(sentence: str, neutral: bool = False) -> str:
    """Rewrite one sentence whose traces stand as placeholders; an empty result means drop it.

    A pure function of its arguments, and cached: reports repeat their sentences (that is
    why models memorize them), so the same placeholder sentence comes back again and again.
    On 50,000 generated reports, 84,000 repairs hold 15,000 distinct sentences; in the 3,835
    distinct Open-I reports, 6,781 repairs hold 4,039 (40% repeats).

    ``sentence`` is the original sentence with each removed or neutralised trace replaced by
    its kind's placeholder character. The result keeps the sentence's capitalisation and final
    punctuation; whether it may stand is for :func:`judge` to say.
    """
    original = sentence
    work = _TIME_CLUSTER.sub(_PH["time"], sentence)
    if not neutral and not _PH_CHARS.isdisjoint(work) and _ADMIN.search(work):
        kept = [c for c in _CLAUSES.split(work) if not (_ADMIN.search(c) or not c.strip())]
        if not kept:
            return ""
        work = "; ".join(kept)
    present = _PH_CHARS.intersection(work)
    for needs, pattern, repl in (_NEUTRAL + _REMOVE) if neutral else _REMOVE:
        if not present:
            break
        if needs.isdisjoint(present):
            continue
        work, n = pattern.subn(repl, work)
        if n:
            present = _PH_CHARS.intersection(work)
    work = _tidy(work)
    if not work or _content_free(work):
        return ""
    first = original.lstrip()[:1]
    if first.isupper() or first in _KIND_OF_PH or not first.isalpha():
        work = _capitalize(work)
    end = original.rstrip()[-1:]
    if end in ".!?" and work[-1] not in ".!?":
        work = work.rstrip(":;,") + end
    return work


# -- restore: over-scrubbed words learnt back from the corpus -----------------------------------------

#: A restore context: ("glue-left", stem) for ``Swan-___``, ("glue-right", stem) for ``___-Ganz``,
#: or ("free", n, left token, right token) for ``pulmonary XXXX are`` (n markers in a row).
ContextKey = tuple[str, ...]

_GLUE_LEFT = regex.compile(r"(?<![A-Za-z-])([A-Za-z]{1,20})-$")
_GLUE_RIGHT = regex.compile(r"^-([A-Za-z]{1,20})(?![A-Za-z-])")
#: A word that can fill a context, and two words glued by a hyphen (``Swan-Ganz``, ``x-ray``).
_FILLER = regex.compile(r"[A-Za-z][A-Za-z]+(?:-[A-Za-z]+)?")
_GLUED = regex.compile(r"(?<![A-Za-z-])([A-Za-z]{1,20})-([A-Za-z]{2,20})(?![A-Za-z-])")
_PUNCT = ".,;:"


_OPENERS = "([\"'"


def _side(token: str) -> str | None:
    """A context token as the model keys it: trailing punctuation, else the lower-cased word."""
    if token[-1:] in _PUNCT:
        return token[-1]
    core = token.lstrip(_OPENERS).lower()
    return core if core.isalpha() else None


#: Words no scrubber took for PHI: a corpus that shows one in a marker's context shows its own
#: wreckage (``sternotomy and.``), not the hidden word.
_NOT_FILLERS = frozenset("and or nor but the a an of with to in on at for by from is are was were".split())


class Synonyms(NamedTuple):
    """Words that say the same in a report: restore counts their support together (the corpus
    writes ``pulmonary vasculature`` and ``pulmonary vascularity`` for one thing) and writes the
    one the context shows most. ``example`` is (fillers seen in a context, the word restored)."""

    words: frozenset[str]
    example: tuple[dict[str, int], str]


SYNONYMS: tuple[Synonyms, ...] = (
    Synonyms(frozenset({"vasculature", "vascularity"}),
             ({"vasculature": 111, "vascularity": 62, "nodules": 3}, "vasculature")),
)
_SENSE = {word: min(group.words) for group in SYNONYMS for word in group.words}


def _outer(token: str | None, left: bool) -> str:
    """The word beyond a context token, as restore's both-sides check keys it: the lower-cased
    word without punctuation, ``<s>`` for a sentence end on the left, ``</s>`` for nothing."""
    if token is None:
        return "<s>" if left else "</s>"
    if left and token[-1:] in ".!?":
        return "<s>"
    core = token.strip(_OPENERS + _PUNCT + ")]\"'!?").lower()
    return core or ("<s>" if left else "</s>")


class RestoreModel:
    """Which word a scrubber took away, judged from the corpus's own unscrubbed sentences.

    For every restorable marker the model notes its context: the word it is glued to
    (``Swan-___``), or the tokens on either side (``pulmonary XXXX are``). It then counts,
    over the whole corpus, which words fill that context where nothing was scrubbed, and
    restores the most frequent one only when it has at least ``min_support`` occurrences and
    a share of at least ``threshold`` of all fillers. It is never asked about names, dates,
    ages or places (the fixer sees to that), and candidates that are themselves markers are
    ignored.
    """

    def __init__(self, threshold: float = 0.9, min_support: int = 3,
                 is_marker: Callable[[str], bool] | None = None) -> None:
        if not 0.0 < threshold <= 1.0:
            raise UsageError(f"restore threshold must lie in (0, 1], not {threshold}")
        self.threshold = threshold
        self.min_support = min_support
        self._is_marker = is_marker or (lambda word: False)
        self._counts: dict[ContextKey, Counter[str]] = {}
        self._compiled: tuple[dict[str, tuple[tuple[int, frozenset[str]], ...]], bool] | None = None

    @staticmethod
    def context(text: str, start: int, end: int, n: int = 1) -> ContextKey | None:
        """The context of ``n`` adjacent markers spanning ``text[start:end]``; None if it has none.

        Tokens are whitespace-separated, as in :meth:`learn`: the token before the markers and
        the one after them (or the punctuation glued to the last marker).
        """
        left = text[max(0, start - 24):start]
        right = text[end:end + 24]
        if n == 1:
            if m := _GLUE_LEFT.search(left):
                return ("glue-left", m.group(1).lower())
            if m := _GLUE_RIGHT.search(right):
                return ("glue-right", m.group(1).lower())
        if not left[-1:].isspace() and left:
            return None
        before = left.split()
        if right[:1] in tuple(_PUNCT):
            after: str | None = right[0]
        elif right[:1].isspace() or not right:
            following = right.split(None, 1)
            after = _side(following[0]) if following else None
        else:
            return None
        first = _side(before[-1]) if before else None
        if first is None or after is None or first in _PUNCT:
            return None
        return ("free", str(n), first, after)

    @staticmethod
    def outer(text: str, start: int, end: int) -> tuple[str, str | None]:
        """The words beyond a free context's two tokens (left, right): a restore must be seen with
        them too, so that every word trigram it makes occurs in the corpus. The right one is None
        (not checked) where the context's right side is punctuation."""
        before = text[max(0, start - 48):start].split()
        following = text[end:end + 48].split()
        if not following or following[0][-1:] in _PUNCT or not following[0][:1].isalpha():
            right = None
        else:
            right = _outer(following[1] if len(following) > 1 else None, False)
        return _outer(before[-2] if len(before) > 1 else None, True), right

    @property
    def needed(self) -> bool:
        """Whether any context is waiting to be learnt."""
        return bool(self._counts)

    def need(self, key: ContextKey) -> None:
        """Ask the model to count fillers for ``key`` in the next :meth:`learn`."""
        if key not in self._counts:
            self._counts[key] = Counter()
            self._compiled = None

    def learn(self, texts: Iterable[str]) -> None:
        """Count the fillers of every needed context in ``texts`` (call per batch, after the survey)."""
        self.merge(self.count(texts))

    def merge(self, counts: Mapping[ContextKey, Counter[str]]) -> None:
        """Add counts made by :meth:`count` (in another process, say) to the model's.

        Merged in corpus order, the result is identical to counting serially, ties included:
        a Counter breaks ties in ``most_common`` by first insertion.
        """
        for key, found in counts.items():
            self._counts[key].update(found)

    def count(self, texts: Iterable[str]) -> dict[ContextKey, Counter[str]]:
        """Fillers of every needed context in ``texts``, counted apart from the model's own counts.

        Each text is split on whitespace once; only tokens that are a needed left context (or
        end in needed punctuation) are looked at further, so learning stays a linear scan.
        Glued words (``Swan-Ganz``) are found by one pattern over the whole text.
        """
        if not self._counts:
            return {}
        counts: dict[ContextKey, Counter[str]] = {key: Counter() for key in self._counts}
        if self._compiled is None:
            self._compiled = self._index()
        runs, glued = self._compiled
        for text in texts:
            if glued and "-" in text:
                for stem, word in _GLUED.findall(text):
                    if (bucket := counts.get(("glue-left", stem.lower()))) is not None:
                        bucket[word] += 1
                    if (bucket := counts.get(("glue-right", word.lower()))) is not None:
                        bucket[stem] += 1
            if not runs:
                continue
            tokens = text.split()
            lows = text.lower().split()
            last = len(tokens) - 1
            for i in [i for i, w in enumerate(lows) if w in runs]:
                first = lows[i]
                for n, afters in runs[first]:
                    if i + n > last:
                        break
                    # The right-hand side, as context() keys it, found cheaply: most candidates
                    # are dismissed here without building the filler.
                    tail = lows[i + n]
                    if tail[-1:] in _PUNCT:
                        after = tail[-1]
                    elif i + n == last:
                        continue
                    elif (nxt := lows[i + n + 1]) in afters:
                        after = nxt
                    elif nxt[-1:] in _PUNCT:
                        after = nxt[-1]
                    elif nxt[:1] in _OPENERS:
                        after = _side(nxt)  # type: ignore[assignment]
                    else:
                        continue  # a plain word that no context asks for
                    if after not in afters:
                        continue
                    words = tokens[i + 1:i + 1 + n]
                    glued_stop = tail[-1:] in _PUNCT
                    if glued_stop:
                        words[-1] = words[-1][:-1]
                    if all(_FILLER.fullmatch(w) for w in words):
                        bucket = counts[("free", str(n), first, after)]
                        filler = " ".join(words)
                        bucket[filler] += 1
                        # The words beyond the context, under keys no filler can have (see predict).
                        filler = filler.lower()
                        bucket[f"{filler}\0<{_outer(lows[i - 1] if i else None, True)}"] += 1
                        if not glued_stop and after == nxt:
                            far = lows[i + n + 2] if i + n + 2 <= last else None
                            bucket[f"{filler}\0>{_outer(far, False)}"] += 1
        return {key: found for key, found in counts.items() if found}

    def _index(self) -> tuple[dict[str, tuple[tuple[int, frozenset[str]], ...]], bool]:
        """For each needed left word, the run lengths needed after it with the right-hand sides
        needed for each; and whether glued contexts are needed."""
        runs: defaultdict[str, defaultdict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        glued = False
        for key in self._counts:
            if key[0] == "free":
                runs[key[2]][int(key[1])].add(key[3])
            else:
                glued = True
        return {word: tuple((n, frozenset(a)) for n, a in sorted(by_n.items())) for word, by_n in runs.items()}, glued

    def fillers(self, key: ContextKey) -> Counter[str]:
        """The words counted in ``key``'s context, and how often (the words beyond it left out)."""
        return Counter({w: n for w, n in self._counts.get(key, Counter()).items() if "\0" not in w})

    def predict(self, key: ContextKey | None, outer: tuple[str, str | None] | None = None) -> tuple[str | None, float]:
        """The restored word for ``key`` and its share among fillers; (None, share) below threshold.

        With ``outer`` (the words beyond a free context, :meth:`outer`), the word must also have
        been seen between them and the context: ``The XXXX are intact`` has ``lungs`` as the
        filler of ``the _ are``, but ``lungs are intact`` never occurs, so nothing is restored.
        """
        if key is None:
            return None, 0.0
        bucket = self._counts.get(key)
        if not bucket:
            return None, 0.0
        by_word: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = defaultdict(Counter)
        for word, n in self.fillers(key).items():
            low = word.lower()
            if low in _NOT_FILLERS or self._is_marker(word):
                continue
            by_word[low] += n
            surface[low][word] += n
        if not by_word:
            return None, 0.0
        # Words that mean the same share their support; the commonest of them is written.
        by_sense: Counter[str] = Counter()
        for word, n in by_word.items():
            by_sense[_SENSE.get(word, word)] += n
        sense, count = by_sense.most_common(1)[0]
        share = count / sum(by_word.values())
        if count < self.min_support or share < self.threshold:
            return None, share
        best = max((w for w in by_word if _SENSE.get(w, w) == sense), key=lambda w: by_word[w])
        if outer is not None and key[0] == "free":
            left, right = outer
            if not bucket.get(f"{best}\0<{left}") or (right is not None and not bucket.get(f"{best}\0>{right}")):
                return None, share
        return surface[best].most_common(1)[0][0], share


# -- surrogates: fake values hidden in plain sight ------------------------------------------------------
#
# The vocabulary is deliberately disjoint from the synthetic generator's, so an evaluation can
# tell a surrogate from a leaked original. Places are invented; phone numbers use the 555-01xx
# range reserved for fiction.

_SURNAMES = (
    "Ashford", "Bellamy", "Calloway", "Dunmore", "Ellison", "Fairbanks", "Galloway", "Hartwell",
    "Ingram", "Jessup", "Kingsley", "Lockhart", "Merriman", "Northcott", "Oakley", "Pemberton",
    "Quinlan", "Radcliffe", "Sherwood", "Thornton", "Underhill", "Vance", "Whitfield", "Yardley",
    "Abernathy", "Blackwood", "Cromwell", "Delacroix", "Easton", "Fenwick", "Gresham", "Holloway",
)
_GIVEN_NAMES = (
    "Alden", "Beatrix", "Corin", "Delia", "Emmett", "Fiona", "Gideon", "Harriet", "Isadora",
    "Jasper", "Leona", "Milo", "Nora", "Otis", "Phoebe", "Rufus", "Sylvie", "Tobias", "Vera", "Wesley",
)
_HOSPITALS = (
    "Ridgecrest Memorial Hospital", "Bayview Regional Medical Center", "Silverlake Community Hospital",
    "Granite Falls Clinic", "Meadowbrook General Hospital", "Foxhollow Medical Center",
    "Larkspur Valley Hospital", "Copperfield Health Center",
)
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
#: Shapes of a date marker that fix the surrogate's format: a PhysioNet year, month-day or
#: full date, or philter's ``****-**-**``.
_DATE_SHAPE = regex.compile(r"(?P<year>\d{4})|(?P<md>\d{1,2}-\d{1,2})|(?P<ymd>\d{4}-\d{1,2}-\d{1,2}|\*{4}-\*\*-\*\*)")
_DATE_STYLES = ("{m:02d}/{d:02d}/{y}", "{m}/{d}/{y}", "{y}-{m:02d}-{d:02d}", "{month} {d}, {y}")


class _Surrogates:
    """Fake values for one report: drawn from a generator seeded by (seed, report text).

    The same seed gives the same values; different reports get different ones. Within a
    report, one age serves every age marker, dates rise in the order they appear (as in
    ``___ through ___``), one date style is used throughout, and a marker that names its value
    (``[**Known lastname 8334**]``, ``{{NAME-0}}``) gets the same surrogate every time.
    """

    def __init__(self, seed: int, text: str) -> None:
        self.r = random.Random(f"{seed}\x00{text}")
        self.style = self.r.choice(_DATE_STYLES)
        self.day = self.r.randrange(730_000, 737_000)  # proleptic ordinal: 1999-2018
        self.age = str(self.r.randrange(24, 90))
        self.same: dict[tuple[str, str], str] = {}
        self.used: set[str] = set()

    def value(self, kind: str, marker: str, text: str, start: int, end: int) -> str:
        specific = any(c.isdigit() for c in marker) or "-" in marker.strip("{}[]<>*_X")
        if specific and (kind, marker) in self.same:
            return self.same[(kind, marker)]
        value = self._draw(kind, marker, text, start, end)
        if specific:
            self.same[(kind, marker)] = value
        return value

    def _draw(self, kind: str, marker: str, text: str, start: int, end: int) -> str:
        from datetime import date

        r = self.r
        left, right = text[max(0, start - 3):start], text[end:end + 3]
        if kind == "time":
            if left[-1:] == ":" or (left[-1:] == "." and left[-2:-1].isdigit()):
                return f"{r.randrange(60):02d}"
            if right[:1] in (":", "."):
                return str(r.randrange(1, 13))
            return f"{r.randrange(1, 13)}:{r.randrange(0, 60, 5):02d} {r.choice(('a.m.', 'p.m.'))}"
        if kind == "date":
            self.day += r.randrange(20, 400)
            d = date.fromordinal(self.day)
            body = marker.strip("[]* ")
            shape = _DATE_SHAPE.fullmatch(body) or _DATE_SHAPE.fullmatch(marker)
            if shape is not None and shape.lastgroup == "year":
                return str(d.year)
            if shape is not None and shape.lastgroup == "md":
                return f"{d.month}-{d.day}"
            if shape is not None:
                return f"{d.year}-{d.month:02d}-{d.day:02d}"
            return self.style.format(y=d.year, m=d.month, d=d.day, month=_MONTH_NAMES[d.month - 1])
        if kind == "age":
            return self.age
        if kind == "name":
            pool = _GIVEN_NAMES if "FIRST" in marker.upper() or "GIVEN" in marker.upper() else _SURNAMES
            fresh = [n for n in pool if n not in self.used] or list(pool)
            name = r.choice(fresh)
            self.used.add(name)
            return name
        if kind == "place":
            return r.choice(_HOSPITALS)
        if kind == "phone":
            return f"({r.randrange(201, 990)}) 555-01{r.randrange(100):02d}"
        if "MAIL" in marker.upper():
            return f"{r.choice(_GIVEN_NAMES).lower()}.{r.choice(_SURNAMES).lower()}@example.org"
        digits = sum(c.isdigit() for c in marker) or 7
        return str(r.randrange(10 ** (digits - 1), 10 ** digits))


# -- the fixer --------------------------------------------------------------------------------------


class Drop(NamedTuple):
    """A sentence a fix could not repair soundly, or dropped as administrative; never its text.

    ``record`` is the text's index in its batch (the run names the record); ``start``/``end`` are
    offsets of the sentence in the text as the repair saw it (the input, unless an earlier round
    exposed a new marker); ``action`` is ``dropped``, ``kept`` or ``masked``.
    """

    record: int
    start: int
    end: int
    reason: str
    clinical: bool
    action: str


@dataclass(slots=True)
class FixStats:
    """What a fix did, summed over records: printed as the summary and written by ``--stats-json``."""

    records: int = 0
    records_changed: int = 0
    traces: int = 0
    #: (rule code, action actually applied) -> count; actions are the strategy names.
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)
    restored: int = 0
    restore_fallbacks: int = 0
    #: (action, clinical, reason) -> sentences: what the unresolved and administrative sentences became.
    sentences: Counter[tuple[str, bool, str]] = field(default_factory=Counter)
    #: The sentences themselves, for ``--report-drops``; a run moves them out batch by batch.
    drops: list[Drop] = field(default_factory=list)
    #: Findings still in the output, by rule: report-only rules, or traces no strategy could fix.
    remaining: Counter[str] = field(default_factory=Counter)

    def count(self, action: str, clinical: bool) -> int:
        return sum(n for (a, c, _), n in self.sentences.items() if a == action and c == clinical)

    def summary(self, dry_run: bool = False) -> str:
        """The human summary: per rule and action, restore's outcome, sentences, what remains."""
        verb = "would fix" if dry_run else "fixed"
        lines = [f"{verb} {self.traces} trace(s) in {self.records_changed} of {self.records} record(s)"]
        per_rule: dict[str, list[str]] = defaultdict(list)
        for (code, action), n in sorted(self.by_rule.items()):
            per_rule[code].append(f"{action} {n}")
        lines += [f"  {code}  {', '.join(actions)}" for code, actions in per_rule.items()]
        if self.restored or self.restore_fallbacks:
            lines.append(f"restored {self.restored} over-scrubbed word(s); {self.restore_fallbacks} without "
                         "support in the corpus")
        if n := self.count("dropped", False):
            lines.append(f"dropped {n} administrative or comparison-only sentence(s)")
        for action, what in (("dropped", "dropped"), ("kept", "kept for review, markers left in"),
                             ("masked", "masked")):
            if n := self.count(action, True):
                why = Counter({r: k for (a, c, r), k in self.sentences.items() if a == action and c})
                lines.append(f"{what} {n} sentence(s) with clinical content that no repair kept sound "
                             f"({', '.join(f'{r} {k}' for r, k in why.most_common())})")
        remaining = sum(self.remaining.values())
        lines.append(f"{remaining} finding(s) remain" + (
            f": {', '.join(f'{c} {n}' for c, n in sorted(self.remaining.items()))}" if remaining else ""))
        return "\n".join(lines)

    def add(self, other: FixStats) -> None:
        """Add another batch's statistics (from a worker process, say) to these; not its drops."""
        self.records += other.records
        self.records_changed += other.records_changed
        self.traces += other.traces
        self.by_rule.update(other.by_rule)
        self.restored += other.restored
        self.restore_fallbacks += other.restore_fallbacks
        self.sentences.update(other.sentences)
        self.remaining.update(other.remaining)

    def as_dict(self) -> dict[str, object]:
        by_rule: dict[str, dict[str, int]] = defaultdict(dict)
        for (code, action), n in sorted(self.by_rule.items()):
            by_rule[code][action] = n
        sentences: dict[str, dict[str, int]] = defaultdict(dict)
        for (action, clinical, reason), n in sorted(self.sentences.items()):
            sentences[f"{action} {'clinical' if clinical else 'administrative'}"][reason] = n
        return {
            "records": self.records, "records_changed": self.records_changed, "traces": self.traces,
            "by_rule": dict(by_rule), "restored": self.restored, "restore_fallbacks": self.restore_fallbacks,
            "sentences_dropped": self.count("dropped", False) + self.count("dropped", True),
            "clinical_sentences_dropped": self.count("dropped", True),
            "sentences_kept_for_review": self.count("kept", True), "sentences_masked": self.count("masked", True),
            "sentences": dict(sentences), "remaining": sum(self.remaining.values()),
            "remaining_by_rule": dict(sorted(self.remaining.items())),
        }


@dataclass(slots=True)
class _Step:
    """One trace (or a run of adjacent over-scrubbed words) and what to do with it."""

    start: int
    end: int
    rules: tuple[Rule, ...]
    kind: str
    action: str
    key: ContextKey | None = None
    outer: tuple[str, str | None] | None = None
    replacement: str | None = None


class Fixer:
    """Applies strategies to reports; one instance per run (it holds the restore statistics).

    ``strategy`` applies to every rule not named in ``strategies`` (selectors as in config:
    code prefix, rule name or pack). Under ``remove``, ``neutral`` and ``surrogate``, markers
    that hide ordinary words (kind ``word``, by rule or by context) are restored when the corpus
    is confident and removed otherwise: they are not identifiers, and neither a category word
    nor a fake value exists for ``vasculature``. A per-rule entry in ``strategies`` is applied
    literally. ``restore`` itself restores words and unresolved markers and removes identifiers.
    """

    def __init__(self, scanner: Scanner, strategy: str | None = None, strategies: Mapping[str, str] | None = None,
                 *, seed: int = 0, mask_token: str = "[PHI]", restore_threshold: float = 0.9,
                 segmenter: str = "rules", unresolved: str = "drop") -> None:
        for s in (*([] if strategy is None else [strategy]), *(strategies or {}).values()):
            if s not in STRATEGIES:
                raise UsageError(f"unknown strategy {s!r} (one of {', '.join(STRATEGIES)})")
        for selector in strategies or {}:
            if not any(r.selected_by(selector) for r in scanner.rules):
                raise UsageError(f"strategies: unknown rule selector {selector!r}")
        if not mask_token.strip() or "\n" in mask_token:
            raise UsageError("the mask token must be a non-empty single line")
        self.scanner = scanner
        self.strategy = strategy
        self.strategies = dict(strategies or {})
        self.seed = seed
        self.mask_token = mask_token
        if unresolved not in UNRESOLVED:
            raise UsageError(f"unknown --unresolved {unresolved!r} (one of {', '.join(UNRESOLVED)})")
        self.unresolved = unresolved
        self._held: dict[int, list[str]] = {}
        self.segmenter = Segmenter(segmenter)
        self.model = RestoreModel(restore_threshold, is_marker=self._is_marker)
        self.stats = FixStats()
        self._by_rule: dict[str, tuple[str, bool]] = {}

    @lru_cache(maxsize=4096)  # noqa: B019 - one Fixer per run; the cache dies with it
    def _is_marker(self, word: str) -> bool:
        return bool(self.scanner.scan(word))

    def strategy_for(self, rule: Rule) -> tuple[str, bool]:
        """The rule's strategy, and whether a per-rule entry set it (then it applies literally).

        A per-rule entry in ``strategies`` wins; else ``strategy`` (``--strategy`` or config
        ``strategy``), when one was given; else the rule's own ``fix``, which is what its pack's
        author judged right for that marker. When several entries select a rule, the most
        specific wins: its code or name, then the longest code prefix, then its pack.
        """
        cached = self._by_rule.get(rule.code)
        if cached is None:
            best, score = None, -1
            for selector, strategy in self.strategies.items():
                if not rule.selected_by(selector):
                    continue
                s = 1000 if selector in (rule.code, rule.name) else len(selector) if rule.code.startswith(selector) else 0
                if s > score:
                    best, score = strategy, s
            cached = (best, True) if best is not None else (self.strategy or rule.fix, False)
            self._by_rule[rule.code] = cached
        return cached

    # -- planning --------------------------------------------------------------------------

    def _plan(self, text: str, matches: Sequence[Match]) -> list[_Step]:
        """Decide each trace's action; adjacent restorable words form one step."""
        kinds = _kinds(text, matches)
        steps: list[_Step] = []
        for match, kind in zip(matches, kinds, strict=True):
            strategy, explicit = self.strategy_for(match.rule)
            if strategy == "mask":
                action = "mask"
            elif kind in _RESTORABLE and (not explicit or strategy == "restore"):
                action = "restore"
            elif strategy == "surrogate" and kind in PHI_KINDS:
                action = "surrogate"
            elif strategy == "neutral":
                action = "neutral"
            else:
                action = "remove"
            prev = steps[-1] if steps else None
            if (action == "restore" and prev is not None and prev.action == "restore"
                    and len(prev.rules) < 3 and text[prev.end:match.start] == " "):
                prev.end = match.end
                prev.rules += (match.rule,)
                continue
            steps.append(_Step(match.start, match.end, (match.rule,), kind, action))
        for step in steps:
            if step.action == "restore":
                step.key = RestoreModel.context(text, step.start, step.end, len(step.rules))
                step.outer = RestoreModel.outer(text, step.start, step.end)
        return steps

    def _fixable(self, text: str, matches: Sequence[Match]) -> list[Match]:
        """Matches a fix acts on: trace rules only, and not the user's own mask tokens."""
        token = self.mask_token
        return [m for m in matches if m.rule.fixable and not (
            (self.unresolved == "mask" or self.strategy_for(m.rule)[0] == "mask") and text[m.start:m.end] == token)]

    @property
    def may_restore(self) -> bool:
        """Whether any rule can be restored, so that the corpus passes of ``restore`` are needed."""
        return any(s == "restore" or (s != "mask" and not explicit)
                   for s, explicit in (self.strategy_for(r) for r in self.scanner.rules if r.fixable))

    def survey(self, texts: Sequence[str]) -> None:
        """First pass over a corpus: note the contexts of markers that restore will ask about."""
        for key in self.contexts(texts):
            self.model.need(key)

    def contexts(self, texts: Sequence[str]) -> list[ContextKey]:
        """The restore contexts of a batch's markers, in order of appearance (duplicates kept)."""
        by_index: defaultdict[int, list[Match]] = defaultdict(list)
        for i, m in self.scanner.scan_many(texts):
            by_index[i].append(m)
        # Only a marker of a generic kind (a word, or unknown until its context is read) can be
        # restored: a report without one has no context to survey.
        return [step.key for i, matches in by_index.items() if any(m.rule.kind in _RESTORABLE for m in matches)
                for step in self._plan(texts[i], self._fixable(texts[i], matches)) if step.key is not None]

    def learn(self, texts: Iterable[str]) -> None:
        """Second pass: count the fillers of the surveyed contexts in the corpus."""
        self.model.learn(texts)

    # -- fixing ----------------------------------------------------------------------------

    def fix_batch(self, texts: Sequence[str], ignored: frozenset[str] = frozenset()) -> list[str]:
        """Fixed texts for a batch, in order (an unchanged text is returned as the same object)."""
        out = list(texts)
        self.stats.records += len(texts)
        found = self._scan(texts, range(len(texts)), ignored)
        todo = sorted(found)
        self._fix_rounds(out, found, ignored)
        self.stats.records_changed += sum(out[i] != texts[i] for i in todo)
        return out

    def fix_text(self, text: str, matches: Sequence[Match] | None = None,
                 ignored: frozenset[str] = frozenset()) -> str:
        """One report fixed; ``matches`` are the scanner's (scanned here when None)."""
        out = [text]
        found = self._scan(out, [0], ignored) if matches is None else {0: list(matches)} if matches else {}
        self._fix_rounds(out, found, ignored)
        return out[0]

    def _scan(self, texts: Sequence[str], indices: Iterable[int], ignored: frozenset[str]) -> dict[int, list[Match]]:
        """Matches per text for ``texts[i]``, i in ``indices``, batched through one scan."""
        indices = list(indices)
        found: defaultdict[int, list[Match]] = defaultdict(list)
        for j, m in self.scanner.scan_many([texts[i] for i in indices]):
            if m.rule.code not in ignored:
                found[indices[j]].append(m)
        return found

    def _fix_rounds(self, texts: list[str], found: dict[int, list[Match]], ignored: frozenset[str]) -> None:
        """Fix ``texts`` in place. Results are rescanned in one batch; a repair that exposed a new
        marker is fixed in turn (twice at most), and whatever is left counts as remaining. A
        sentence kept for review (``unresolved="keep"``) is held: later rounds leave its markers."""
        self._held = {}
        for _ in range(3):
            work = {i: f for i, m in found.items() if (f := self._unheld(i, texts[i], self._fixable(texts[i], m)))}
            if not work:
                break
            repair: dict[int, list[_Step]] = {}
            for i, fixable in work.items():
                steps = self._plan(texts[i], fixable)
                if self._resolve(texts[i], steps):
                    repair[i] = steps
                else:
                    texts[i] = _splice(texts[i], steps, 0, len(texts[i]))
            units = self.segmenter.units([texts[i] for i in repair],
                                         [[(s.start, s.end) for s in steps] for steps in repair.values()])
            for (i, steps), found_units in zip(repair.items(), units, strict=True):
                texts[i] = self._rebuild(i, texts[i], _merge_units(found_units, steps), steps)
            again = self._scan(texts, work, ignored)
            found = {**{i: m for i, m in found.items() if i not in work}, **again}
        for i, matches in found.items():
            fixable = self._fixable(texts[i], matches)
            for m in matches:
                if m in fixable or not m.rule.fixable:
                    self.stats.remaining[m.rule.code] += 1

    def _unheld(self, record: int, text: str, matches: list[Match]) -> list[Match]:
        held = self._held.get(record)
        if not held:
            return matches
        spans = [(at, at + len(s)) for s in held if (at := text.find(s)) >= 0]
        return [m for m in matches if not any(a <= m.start and m.end <= b for a, b in spans)]

    def _resolve(self, text: str, steps: list[_Step]) -> bool:
        """Fill in replacements (restored words, masks, surrogates); True if sentences need repair."""
        stats = self.stats
        surrogates: _Surrogates | None = None
        sentence_level = False
        for step in steps:
            stats.traces += len(step.rules)
            if step.action == "restore" and (slot := hedge_slot(text, step.start, step.end)) and slot.fill:
                step.action = "hedge"
                step.replacement = slot.fill.capitalize() if _sentence_start(text, step.start) else slot.fill
            elif step.action == "restore":
                word, _ = self.model.predict(step.key, step.outer)
                if word is not None:
                    if _sentence_start(text, step.start) and word[0].islower():
                        word = word[0].upper() + word[1:]
                    step.replacement = word
                    stats.restored += 1
                else:
                    step.action = "remove"
                    stats.restore_fallbacks += 1
            elif step.action == "mask":
                step.replacement = self.mask_token
            elif step.action == "surrogate":
                surrogates = surrogates or _Surrogates(self.seed, text)
                step.replacement = surrogates.value(step.kind, text[step.start:step.end], text, step.start, step.end)
            if step.action in ("remove", "neutral", "restore", "hedge"):
                sentence_level = True  # judged sentence by sentence (a restore can leave residue too)
            for rule in step.rules:
                stats.by_rule[(rule.code, step.action)] += 1
        return sentence_level

    def _rebuild(self, record: int, text: str, units: list[Unit], steps: list[_Step]) -> str:
        """Reassemble the report: untouched units verbatim, repaired ones rewritten when the guard
        accepts the repair, the others as ``unresolved`` says."""
        new: dict[int, str] = {}
        j = 0
        for i, unit in enumerate(units):
            inside = []
            while j < len(steps) and steps[j].start < unit.end:
                inside.append(steps[j])
                j += 1
            if not inside:
                continue
            original = text[unit.body:unit.end]
            spliced = _splice(text, inside, unit.body, unit.end)
            body, why = self._repair(text, unit, inside)
            if why is not None and any(s.action == "restore" for s in inside):
                # A restore the sentence cannot take (the corpus's own wreckage, ``female with.``)
                # goes the remove way before the sentence counts as unresolved.
                removed = [replace(s, action="remove", replacement=None) if s.action == "restore" else s
                           for s in inside]
                body, why = self._repair(text, unit, removed)
            if why is None:
                new[i] = text[unit.start:unit.body] + body if body else ""
                if not body:
                    self._note(Drop(record, unit.start, unit.end, "administrative", False, "dropped"))
                continue
            clinical = _clinical(original, spliced)
            if self.unresolved == "drop" or not clinical:
                new[i] = ""
                self._note(Drop(record, unit.start, unit.end, why if clinical else "administrative", clinical,
                                "dropped"))
            elif self.unresolved == "keep":
                new[i] = text[unit.start:unit.end]
                self._held.setdefault(record, []).append(new[i])
                self._note(Drop(record, unit.start, unit.end, why, True, "kept"))
            else:
                masked = [replace(step, replacement=self.mask_token, action="mask")
                          if step.action in ("remove", "neutral") else step for step in inside]
                new[i] = text[unit.start:unit.body] + _splice(text, masked, unit.body, unit.end)
                self._note(Drop(record, unit.start, unit.end, why, True, "masked"))
        _drop_orphan_headers(units, new)
        return _join(text, units, new)

    @staticmethod
    def _repair(text: str, unit: Unit, inside: list[_Step]) -> tuple[str, str | None]:
        """The repaired body of one unit, and why the guard rejects it (None when it accepts)."""
        body = _splice(text, inside, unit.body, unit.end)
        if any(s.action in ("remove", "neutral") for s in inside):
            body = repair_sentence(body, neutral=any(s.action == "neutral" for s in inside))
        reading = _splice(text, [s for s in inside if s.action in ("restore", "hedge")], unit.body, unit.end)
        why = next((f"slot: {slot.name}" for s in inside if s.action == "remove" and s.kind in _RESTORABLE
                    and (slot := hedge_slot(text, s.start, s.end))), None)
        return body, why or judge(text[unit.body:unit.end], reading, body)

    def _note(self, drop: Drop) -> None:
        self.stats.sentences[(drop.action, drop.clinical, drop.reason)] += 1
        self.stats.drops.append(drop)


def _clinical(sentence: str, spliced: str) -> bool:
    """Whether a sentence says something clinical: a finding, or words beyond a comparison's or an
    administrative note's (``spliced`` is the sentence with its markers as placeholders)."""
    if meaning.mentions(sentence):
        return True
    return not (_ADMIN.search(spliced) or _content_free(spliced))


def _sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 4):pos].rstrip()
    return not before or before[-1] in ".!?:"


def _splice(text: str, steps: Sequence[_Step], start: int, end: int) -> str:
    """``text[start:end]`` with each step's replacement or placeholder. Adjacent masks stay apart,
    separators kept (``XXXX, XXXX`` -> ``[PHI], [PHI]``): a mask shows where each trace was."""
    out: list[str] = []
    pos = start
    for step in steps:
        out.append(text[pos:step.start])
        out.append(step.replacement if step.replacement is not None else _PH[step.kind])
        pos = step.end
    out.append(text[pos:end])
    return "".join(out)


def _merge_units(units: list[Unit], steps: Sequence[_Step]) -> list[Unit]:
    """Join units that a trace straddles (a tag broken across a sentence split)."""
    if not units:
        return units
    out = [units[0]]
    k = 0
    for unit in units[1:]:
        last = out[-1]
        while k < len(steps) and steps[k].end <= last.end:
            k += 1
        if k < len(steps) and steps[k].start < last.end < steps[k].end:
            out[-1] = Unit(last.start, last.body, unit.end, last.para, unit.header)
            continue
        out.append(unit)
    return out


def _drop_orphan_headers(units: list[Unit], new: dict[int, str]) -> None:
    """A header (``COMPARISON:``) whose every following unit went, goes too."""
    for i, unit in enumerate(units):
        if not unit.header:
            continue
        scope = []
        for k in range(i + 1, len(units)):
            if units[k].para != unit.para or units[k].header:
                break
            scope.append(k)
        if scope and all(new.get(k) == "" for k in scope):
            new[i] = ""


def _join(text: str, units: list[Unit], new: dict[int, str]) -> str:
    """Kept units with the whitespace that originally followed them; lists renumbered."""
    if not units:
        return text
    kept = [i for i in range(len(units)) if new.get(i) != ""]
    _renumber(text, units, kept, new)
    out = [text[:units[0].start]]
    for n, i in enumerate(kept):
        unit = units[i]
        out.append(new.get(i, text[unit.start:unit.end]))
        if n + 1 < len(kept):
            nxt = units[kept[n + 1]]
            if nxt.para == unit.para:
                out.append(text[unit.end:units[i + 1].start])
            else:
                first = next(k for k in range(kept[n + 1] + 1) if units[k].para == nxt.para)
                out.append(text[units[first - 1].end:units[first].start])
    out.append(text[units[-1].end:])
    return "".join(out)


def _renumber(text: str, units: list[Unit], kept: list[int], new: dict[int, str]) -> None:
    """Renumber a numbered list (``1. 2. 3.``) some of whose items were dropped."""
    by_para: defaultdict[int, list[int]] = defaultdict(list)
    for i, unit in enumerate(units):
        if unit.body > unit.start:
            by_para[unit.para].append(i)
    keep = set(kept)
    for items in by_para.values():
        numbers = [int(_LIST_ITEM.match(text, units[i].start).group(1)) for i in items]
        if numbers != list(range(numbers[0], numbers[0] + len(numbers))) or all(i in keep for i in items):
            continue
        number = numbers[0]
        for i in items:
            if i not in keep:
                continue
            unit = units[i]
            m = _LIST_ITEM.match(text, unit.start)
            current = new.get(i, text[unit.start:unit.end])
            new[i] = f"{number}{m.group(2)}{current[len(m.group(1)) + 1:]}"
            number += 1


# -- public helpers -----------------------------------------------------------------------------------


def fix_text(text: str, strategy: str = "remove", *, seed: int = 0, mask_token: str = "[PHI]",
             fixer: Fixer | None = None) -> str:
    """One report fixed with the built-in rules (or with ``fixer``'s rules and statistics).

    Without a fixer, ``restore`` has only this one text to learn from; use :func:`fix_texts`
    for a corpus.
    """
    return fix_texts([text], strategy, seed=seed, mask_token=mask_token, fixer=fixer)[0]


def fix_texts(texts: Sequence[str], strategy: str, *, seed: int = 0, mask_token: str = "[PHI]",
              fixer: Fixer | None = None) -> list[str]:
    """Clean a list of prompts with the built-in rules; ``restore`` learns from ``texts`` themselves.

    This is the entry point for code that holds reports in memory (the ``verify`` extra cleans
    training prompts with it). Output order matches input order; unchanged texts come back as
    they were.
    """
    if fixer is None:
        from deidlint.api import scanner

        fixer = Fixer(scanner(), strategy, seed=seed, mask_token=mask_token)
    texts = list(texts)
    fixer.survey(texts)
    fixer.learn(texts)
    return fixer.fix_batch(texts)
