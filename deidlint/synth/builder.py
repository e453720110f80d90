"""Builds one report section by section, drawing values and leaving each family's markers."""

from __future__ import annotations

import random
from collections.abc import Callable

from deidlint.synth.families import Family
from deidlint.synth.templates import FILLERS, Pool, Slot
from deidlint.synth.vocabulary import DATE_FORMATS, FIRST_NAMES, LANGUAGES, MONTHS, PLACES, SURNAMES

#: A report section: header, body pieces, and its markers as (piece index, original, kind).
Section = tuple[str, list[str], list[tuple[int, str, str]]]


class Builder:
    """Builds one report section by section, as lists of text pieces.

    A marker is a piece of its own, recorded with the value it replaced; positions are only
    assigned when the report is assembled (:mod:`deidlint.synth.report`), once it is all known.
    """

    __slots__ = ("r", "family", "dialect", "date_format", "year_shift", "items", "marks", "n_traces",
                 "ymd")

    def __init__(self, rng: random.Random, family: Family) -> None:
        r = self.r = rng.random
        self.family = family
        self.dialect = family.markers.start(r)
        self.date_format = DATE_FORMATS[int(r() * len(DATE_FORMATS))]
        # Drawn for every report, so that a family's scheme does not move the draws after it:
        # the tags scheme shifts years into the 2100s-2300s, as PhysioNet's deid does.
        self.year_shift = 100 + int(r() * 120)
        self.items: list[str] = []
        self.marks: list[tuple[int, str, str]] = []
        self.n_traces = 0
        self.ymd = (2000, 1, 1)

    def draw(self, pool: Pool, sep: str = " ") -> None:
        """Append one sentence from ``pool``, preceded by ``sep`` unless it opens the section."""
        r = self.r
        group = pool[int(r() * len(pool))]
        template = group[int(r() * len(group))]
        items = self.items
        if items:
            items.append(sep)
        if template.__class__ is str:
            items.append(template)
            return
        for part in template:
            if part.__class__ is str:
                items.append(part)
            elif part.__class__ is tuple:
                items.append(part[int(r() * len(part))])
            else:
                self._trace(part)  # type: ignore[arg-type]  # a Slot: tested by class above, for speed

    def section(self, head: str) -> Section:
        """Close the section under construction under ``head`` and start a new one."""
        section = (head, self.items, self.marks)
        self.items = []
        self.marks = []
        return section

    # -- markers -----------------------------------------------------------------------------

    def _trace(self, slot: Slot) -> None:
        """Append a slot's value as this family would leave it: masked, or kept as is."""
        self.family.markers.trace(self, slot, _VALUES[slot.value](self, slot))

    def mark(self, marker: str, original: str, kind: str) -> None:
        """Append a marker as a piece of its own and remember what it replaced."""
        self.marks.append((len(self.items), original, kind))
        self.items.append(marker)
        self.n_traces += 1


# -- values: the true value of a slot, as this report's author writes it ----------------------

#: How each date slot writes a date; "date" itself uses the report's own format.
_DATE_SHAPES = {"md": "{m}/{d}", "year": "{y}", "iso": "{y}-{m:02d}-{d:02d}"}


def _date(b: Builder, slot: Slot) -> str:
    """A date, remembered so that a PhysioNet tag can shift the same one."""
    r = b.r
    y, m, d = 2008 + int(r() * 16), 1 + int(r() * 12), 1 + int(r() * 28)
    b.ymd = (y, m, d)
    shape = b.date_format if slot.value == "date" else _DATE_SHAPES[slot.value]
    return shape.format(y=y, m=m, d=d, yy=y % 100, month=MONTHS[m - 1])


def _one_of(values: tuple[str, ...]) -> Callable[[Builder, Slot], str]:
    return lambda b, slot: values[int(b.r() * len(values))]


def _email(b: Builder, slot: Slot) -> str:
    r = b.r
    return (f"{FIRST_NAMES[int(r() * len(FIRST_NAMES))]}."
            f"{SURNAMES[int(r() * len(SURNAMES))]}@example.org").lower()


#: One drawer per slot: a table rather than a chain of ifs, one lookup per trace site.
_VALUES: dict[str, Callable[[Builder, Slot], str]] = {
    "name": _one_of(SURNAMES),
    "first": _one_of(FIRST_NAMES),
    **dict.fromkeys(("date", "md", "year", "iso"), _date),
    "time": _one_of(FILLERS["clock"]),
    "hh": lambda b, slot: f"{1 + int(b.r() * 12)}",
    "mm": lambda b, slot: f"{int(b.r() * 60):02d}",
    "age": lambda b, slot: str(18 + int(b.r() * 78)),
    "place": _one_of(PLACES),
    "id": lambda b, slot: str(10000 + int(b.r() * 9990000)),
    "phone": lambda b, slot: f"{200 + int(b.r() * 800)}-555-{int(b.r() * 10000):04d}",
    "email": _email,
    "lang": _one_of(LANGUAGES),
    "size": lambda b, slot: str(3 + int(b.r() * 7)),
    "w": lambda b, slot: slot.word,
}
