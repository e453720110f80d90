"""Real report corpora as curators export them, and a plain sentence splitter for judging fixes.

The Open-I (Indiana University) chest X-ray reports ship as NLM XML, one file per report, with
sections in ``<AbstractText Label="...">``. Curators rarely train on the XML: they export each
report as one line with inline section labels (``COMPARISON: XXXX. INDICATION: ... FINDINGS:
...``) or as hard-wrapped text with one section per paragraph, and a trace sits differently in
each (inline labels, line edges). Tests and benchmarks read the archive from ``../shared`` and
build both exports here, so nobody keeps a copy of the text (its licence forbids derivatives).

:func:`sentences` is deliberately naive and independent of ``fix``'s own segmenter: an
instrument that judges the fixer must not share its blind spots.
"""

from __future__ import annotations

import re
import tarfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deidlint.engine import Scanner

#: Open-I's sections, in the order a report prints them.
OPENI_SECTIONS = ("COMPARISON", "INDICATION", "FINDINGS", "IMPRESSION")
#: The column a hard-wrapped export breaks at.
WRAP_WIDTH = 70


@dataclass(frozen=True, slots=True)
class Report:
    """One report: its file name in the archive and its non-empty sections, in print order."""

    name: str
    sections: tuple[tuple[str, str], ...]

    def single_line(self) -> str:
        """``COMPARISON: ... INDICATION: ... FINDINGS: ... IMPRESSION: ...`` on one line."""
        return " ".join(f"{label}: {text}" for label, text in self.sections)

    def wrapped(self, width: int = WRAP_WIDTH) -> str:
        """One paragraph per section, its label first, hard-wrapped at *width* columns."""
        return "\n\n".join(textwrap.fill(f"{label}: {text}", width, break_long_words=False, break_on_hyphens=False)
                           for label, text in self.sections)


def read_openi(archive: str | Path) -> list[Report]:
    """Every report of the NLM archive (``NLMCXR_reports.tgz``) with at least one non-empty section,
    sorted by file name so that samples drawn from it are reproducible."""
    reports = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.name.endswith(".xml"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            root = ET.parse(handle).getroot()
            found = {node.get("Label") or "": node.text.strip()
                     for node in root.iter("AbstractText") if node.text and node.text.strip()}
            sections = tuple((label, found[label]) for label in OPENI_SECTIONS if label in found)
            if sections:
                reports.append(Report(member.name.rsplit("/", 1)[-1], sections))
    return sorted(reports, key=lambda r: r.name)


# A sentence ends at ., ! or ? followed by white space and a capital, a digit or a marker, except
# after a title or a common abbreviation (``Dr. XXXX``); a bare list number (``1.``) is not a
# sentence of its own.
_END = re.compile(r"(?<!\bDr\.|\bMr\.|\bMs\.|\bSt\.|\bvs\.|\bNo\.|\bPt\.)(?<!\bMrs\.|\bDrs\.)"
                  r"(?<=[.!?])\s+(?=[A-Z0-9(\"\[<{_*])")
_LIST_NUMBER = re.compile(r"\d{1,2}\.")
# A label is one to four capitalised words and a colon; a marker (``XXXX``) is never part of one.
_LABEL = re.compile(r"\b(?!XXXX\b)[A-Z][A-Z&/-]{2,}(?: (?!XXXX\b)[A-Z][A-Z&/-]{2,}){0,3}:(?=\s|$)")


def sentences(text: str) -> list[str]:
    """The sentences of *text*, white space folded to single spaces, section labels split off.

    Labels (``FINDINGS:``) are returned as their own items, so a sentence never spans one.
    """
    out: list[str] = []
    flat = " ".join(text.split())
    pieces: list[str] = []
    pos = 0
    for m in _LABEL.finditer(flat):
        pieces.extend((flat[pos:m.start()], m.group()))
        pos = m.end()
    pieces.append(flat[pos:])
    for piece in pieces:
        pending = ""
        for part in _END.split(piece.strip()):
            part = part.strip()
            if not part:
                continue
            if _LIST_NUMBER.fullmatch(part):
                pending = part + " "
                continue
            out.append(pending + part)
            pending = ""
        if pending:
            out.append(pending.strip())
    return out


def is_label(item: str) -> bool:
    """Whether an item of :func:`sentences` is a section label (``FINDINGS:``), not a sentence."""
    return _LABEL.fullmatch(item) is not None


def sentence_ids(reports: list[Report]) -> Iterator[tuple[str, str]]:
    """``(id, sentence)`` for every sentence of every section; the id (``file:SECTION:k``) names a
    sentence without its text, so labels can be committed and the text stays in ../shared."""
    for report in reports:
        for label, text in report.sections:
            for k, sentence in enumerate(sentences(text)):
                yield f"{report.name}:{label}:{k}", sentence


def naive_deletion(texts: Sequence[str], scanner: Scanner) -> list[str]:
    """Every match of *scanner* deleted where it stands, as a one-line ``re.sub`` would: the
    wreckage baseline that the residue pack and the fix-quality benchmark are judged against."""
    out = list(texts)
    by_cell: dict[int, list[tuple[int, int]]] = {}
    for i, start, end, _ in scanner.spans(texts):
        by_cell.setdefault(i, []).append((start, end))
    for i, spans in by_cell.items():
        pieces, pos = [], 0
        for start, end in spans:
            pieces.append(texts[i][pos:start])
            pos = end
        out[i] = "".join(pieces) + texts[i][pos:]
    return out
