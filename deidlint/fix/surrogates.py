"""Surrogates: fake values of the right kind, hidden in plain sight."""

from __future__ import annotations

import random

import regex

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


class Surrogates:
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
