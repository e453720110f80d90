"""Sentences and section labels of a report: the units a repair works on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from deidlint.errors import UsageError

if TYPE_CHECKING:  # spaCy is imported on first use only
    from spacy.language import Language


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
#: A list item's number; hard-wrapped text may end a line with it (``atelectasis. 3.`` then the
#: item's words on the next line).
LIST_ITEM = re.compile(r"(\d{1,2})([.)])(?:[ \t]+|[ \t]*\r?\n[ \t]*)")
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
#: Words in capitals that open a label of several words (``CLINICAL HISTORY:``, ``REASON FOR
#: EXAM:``). Any other word in capitals before a label ends the sentence before it: an Open-I
#: indication often closes with an acronym (``... and COPD FINDINGS:``), which is no label word.
_LABEL_OPENERS = ("CLINICAL", "FINAL", "WET", "REASON", "FOR", "BRIEF", "ADDITIONAL", "PRIOR", "PA", "AP", "AND",
                  "CHEST", "LATERAL", "PORTABLE")
_OPENERS = "|".join(_LABEL_OPENERS)
#: The white space before a section label inside a line (a one-line export: ``COMPARISON: None
#: INDICATION: cough FINDINGS: ...``): a label heads the sentences after it, as at a line start.
#: Not after a label's opening word (the standard library's look-behinds are of fixed width: one
#: per word, each behind the first blank, so that the engine skips ahead to a blank in C before
#: it tries them: 6x faster than the look-behinds before the blank). (Open-I's marker ``XXXX`` is
#: no label word: ``chills and XXXX IMPRESSION:``.)
_INLINE_LABEL = re.compile(r"[ \t](?<=\S[ \t])" + "".join(rf"(?<!\b{w}[ \t])" for w in _LABEL_OPENERS) + r"[ \t]*"
                           rf"(?=(?:\*\*)?(?:(?:{_OPENERS}) ){{0,3}}(?!XXXX\b)[A-Z][A-Z/&()'-]{{2,}}:(?:\*\*)?(?:\s|$))")


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
    if end > start:  # a paragraph that is a header alone (``IMPRESSION:``) heads the next ones
        units.append(Unit(start, start, end, para, _HEADER.fullmatch(text, start, end) is not None))


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
        gap_start, gap_end = m.span(m.lastgroup)  # type: ignore[arg-type]  # both alternatives are named groups
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
    item = LIST_ITEM.match(text, start, end)
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
        self._nlp: Language | None = None

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

    def _pipeline(self) -> Language:
        """The blank English pipeline with a sentencizer, built once: spaCy loads slowly."""
        if self._nlp is None:
            try:
                import spacy
            except ImportError:  # the optional extra
                raise UsageError("--segmenter spacy needs spaCy: pip install 'deidlint[spacy]'") from None
            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer")
            self._nlp = nlp
        return self._nlp
