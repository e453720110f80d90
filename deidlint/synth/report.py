"""Reports: the types, wrapping, and assembling sections into text, clean twin and spans."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from deidlint.synth.builder import Builder, Section
from deidlint.synth.families import BUILTIN, FAMILIES, PROTECTED_SPACE, Family, mixer
from deidlint.synth.sections import build

#: Accepted ``style`` values: one family for every report, or a per-report draw ("mixed").
STYLES = FAMILIES + ("mixed",)
#: What a span hid; "word" is an ordinary clinical word a scrubber removed by mistake.
KINDS = ("name", "date", "time", "age", "place", "id", "phone", "word")


@dataclass(frozen=True, slots=True)
class Span:
    """One trace: ``text[start:end]`` is the marker, ``original`` what the clean text has there."""

    start: int
    end: int
    family: str
    kind: str
    original: str


@dataclass(frozen=True, slots=True)
class SyntheticReport:
    """A scrubbed report, its clean twin and the ground truth linking the two.

    ``clean`` is ``text`` with every span replaced by its original, substituted *after* wrapping,
    so both versions break lines at the same places and a diff shows only the traces. (Clean
    lines can therefore run a few characters past the wrap width.)
    """

    id: str
    text: str
    clean: str
    spans: tuple[Span, ...]
    label: int



def wrap(text: str, width: int) -> str:
    """Greedy hard wrap that turns chosen spaces into newlines, so no offset moves.

    A word longer than ``width`` stays whole on its own line. Spaces inside markers have been
    replaced by ``PROTECTED_SPACE`` beforehand, so a marker is never broken.
    """
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width + 1)
            if cut <= 0:
                cut = line.find(" ", width + 1)
                if cut < 0:
                    break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def _assemble(report_id: str, family: str, sections: list[Section], width: int,
              label: int) -> SyntheticReport:
    """Lay the sections out, wrap them, and derive spans and the clean text."""
    texts: list[str] = []
    found: list[tuple[int, int, str, str]] = []  # start, end, kind, original
    offset = 0
    for head, items, marks in sections:
        body = head + "".join(items)
        if len(body) > width:
            body = wrap(body, width)
        if marks:
            starts = list(itertools.accumulate(map(len, items), initial=offset + len(head)))
            found += [(starts[i], starts[i + 1], kind, original) for i, original, kind in marks]
        texts.append(body)
        offset += len(body) + 2
    text = "\n\n".join(texts)
    if not found:
        return SyntheticReport(report_id, text, text, (), label)
    if PROTECTED_SPACE in text:
        text = text.replace(PROTECTED_SPACE, " ")
    clean: list[str] = []
    last = 0
    for start, end, _, original in found:
        clean.append(text[last:start])
        clean.append(original)
        last = end
    clean.append(text[last:])
    spans = tuple(Span(start, end, family, kind, original) for start, end, kind, original in found)
    return SyntheticReport(report_id, text, "".join(clean), spans, label)


def generate(n: int, seed: int = 0, style: str = "mixed", labels: Sequence[int] | None = None,
             trace_rate: float = 0.7, families: Mapping[str, Family] = BUILTIN) -> Iterator[SyntheticReport]:
    """Yield ``n`` synthetic reports, identical for identical arguments.

    All randomness comes from one ``random.Random(seed)``, so output does not depend on hash
    randomisation or on anything but the arguments. ``labels[i]`` fixes report ``i``'s label
    (0 normal, 1 pneumonia); otherwise about 30% are pneumonia. ``trace_rate`` is the share of
    reports carrying at least one trace; the rest read as if never scrubbed. ``families`` are
    the records to draw from (:func:`~deidlint.synth.families.load_families`), the built-in
    ones unless a site generates its own scrubber's traces.
    """
    styles = (*families, "mixed")
    if style not in styles:
        raise ValueError(f"style must be one of {styles}, not {style!r}")
    if not 0.0 <= trace_rate <= 1.0:
        raise ValueError(f"trace_rate must lie in [0, 1], not {trace_rate!r}")
    if labels is not None and len(labels) < n:
        raise ValueError(f"labels has {len(labels)} entries, fewer than n={n}")
    rng = random.Random(seed)
    r = rng.random
    draw = mixer(families)
    for i in range(n):
        family = draw(r()) if style == "mixed" else families[style]
        label = int(labels[i]) if labels is not None else int(r() < 0.3)
        traced = r() < trace_rate
        width = 60 + int(r() * 21)
        sections = build(Builder(rng, family), label, traced)
        yield _assemble(f"s{50000000 + i}", family.name, sections, width, label)
