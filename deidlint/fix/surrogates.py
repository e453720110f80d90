"""Surrogates: fake values of the right kind, hidden in plain sight."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import NamedTuple

import regex

from deidlint.fix.kinds import PLACE_NOUN

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
#: Invented places of care: a name and the noun of its kind (the noun is left out where the text
#: keeps its own: ``___ Hospital``).
_HOSPITALS = (
    ("Ridgecrest Memorial", "Hospital"), ("Bayview Regional", "Medical Center"), ("Silverlake Community", "Hospital"),
    ("Granite Falls", "Clinic"), ("Meadowbrook General", "Hospital"), ("Foxhollow", "Medical Center"),
    ("Larkspur Valley", "Hospital"), ("Copperfield", "Health Center"),
)
#: A place of care's noun after the marker: the text keeps it, so the value is a name only.
_PLACE_NOUN_AFTER = regex.compile(r"\s+" + PLACE_NOUN)
#: A meridiem (``p.m.``, ``PM``) or ``hours`` the text keeps after a time marker.
_MERIDIEM_AFTER = regex.compile(r"\s?(?i:[ap]\.?\s?m)(?![a-z])")
_HOURS_AFTER = regex.compile(r"\s?(?i:hours?|hrs?|h)\b")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
#: Shapes of a date marker that fix the surrogate's format: a PhysioNet year, month-day or
#: full date, or philter's ``****-**-**``.
_DATE_SHAPE = regex.compile(r"(?P<year>\d{4})|(?P<md>\d{1,2}-\d{1,2})|(?P<ymd>\d{4}-\d{1,2}-\d{1,2}|\*{4}-\*\*-\*\*)")
_DATE_STYLES = ("{m:02d}/{d:02d}/{y}", "{m}/{d}/{y}", "{y}-{m:02d}-{d:02d}", "{month} {d}, {y}")


class Form(NamedTuple):
    """The form a surrogate takes, chosen by its kind and the marker's shape and context: what it
    writes, why, and examples (a report and, as a regular expression, what ``fix --strategy
    surrogate`` writes for it)."""

    name: str
    kind: str
    does: str
    why: str
    examples: tuple[tuple[str, str], ...]
    make: Callable[[Surrogates, str], str]


def _minutes(s: Surrogates, marker: str) -> str:
    return f"{s.r.randrange(60):02d}"


def _hour(s: Surrogates, marker: str) -> str:
    return str(s.r.randrange(1, 13))


def _clock(s: Surrogates, marker: str) -> str:
    return f"{_bare_clock(s, marker)} {s.r.choice(('a.m.', 'p.m.'))}"


def _bare_clock(s: Surrogates, marker: str) -> str:
    return f"{s.r.randrange(1, 13)}:{s.r.randrange(0, 60, 5):02d}"


def _24_hour(s: Surrogates, marker: str) -> str:
    return f"{s.r.randrange(24):02d}{s.r.randrange(0, 60, 5):02d}"


def _year(s: Surrogates, marker: str) -> str:
    return str(s.next_day().year)


def _month_day(s: Surrogates, marker: str) -> str:
    d = s.next_day()
    return f"{d.month}-{d.day}"


def _full_date(s: Surrogates, marker: str) -> str:
    d = s.next_day()
    return f"{d.year}-{d.month:02d}-{d.day:02d}"


def _styled_date(s: Surrogates, marker: str) -> str:
    d = s.next_day()
    return s.style.format(y=d.year, m=d.month, d=d.day, month=_MONTH_NAMES[d.month - 1])


def _name(s: Surrogates, marker: str) -> str:
    pool = _GIVEN_NAMES if "FIRST" in marker.upper() or "GIVEN" in marker.upper() else _SURNAMES
    fresh = [n for n in pool if n not in s.used] or list(pool)
    name = s.r.choice(fresh)
    s.used.add(name)
    return name


def _age(s: Surrogates, marker: str) -> str:
    return s.age


def _place(s: Surrogates, marker: str) -> str:
    return " ".join(s.r.choice(_HOSPITALS))


def _place_name(s: Surrogates, marker: str) -> str:
    return s.r.choice(_HOSPITALS)[0]


def _phone(s: Surrogates, marker: str) -> str:
    return f"({s.r.randrange(201, 990)}) 555-01{s.r.randrange(100):02d}"


def _email(s: Surrogates, marker: str) -> str:
    return f"{s.r.choice(_GIVEN_NAMES).lower()}.{s.r.choice(_SURNAMES).lower()}@example.org"


def _digits(s: Surrogates, marker: str) -> str:
    digits = sum(c.isdigit() for c in marker) or 7
    return str(s.r.randrange(10 ** (digits - 1), 10 ** digits))


_TIME = r"\d{1,2}:\d{2} [ap]\.m\."
FORMS: tuple[Form, ...] = (
    Form("minutes", "time", "two digits", "the hour before the marker was kept: `9:___`",
         (("Paged at 9:___ a.m. today.", r"Paged at 9:\d{2} a\.m\. today\."),), _minutes),
    Form("hour", "time", "an hour, 1 to 12", "the minutes after the marker were kept: `___:45`",
         (("Paged at ___:45 today.", r"Paged at \d{1,2}:45 today\."),), _hour),
    Form("clock before a meridiem", "time", "a bare `4:25`", "the text keeps its `p.m.`: never `4:25 a.m. p.m.`",
         (("Paged at ___ p.m. today.", r"Paged at \d{1,2}:\d{2} p\.m\. today\."),
          ("Film taken at [REDACTED]PM today.", r"Film taken at \d{1,2}:\d{2}PM today\.")), _bare_clock),
    Form("24-hour clock", "time", "`1425`", "`___ hours` asks for a 24-hour clock, never `4:25 p.m. hours`",
         (("Tube placed at ___ hours today.", r"Tube placed at (?:[01]\d|2[0-3])[0-5]\d hours today\."),), _24_hour),
    Form("clock time", "time", "`4:25 p.m.`", "the whole time was scrubbed; a bare clock time, never `a.m. p.m.`",
         (("Findings at {{TIME}} today.", rf"Findings at {_TIME} today\."),), _clock),
    Form("year", "date", "a year", "a PhysioNet year tag (`[**2554**]`) held a year",
         (("Surgery in [**2554**].", r"Surgery in \d{4}\."),), _year),
    Form("month and day", "date", "`8-5`", "a PhysioNet partial date tag (`[**6-25**]`) held a month and day",
         (("Seen on [**6-25**] today.", r"Seen on \d{1,2}-\d{1,2} today\."),), _month_day),
    Form("full date", "date", "`2151-08-05`", "a PhysioNet full date or philter's `****-**-**` held one",
         (("Seen on [**2151-8-5**] today.", r"Seen on \d{4}-\d{2}-\d{2} today\."),), _full_date),
    Form("styled date", "date", "a date in the report's one style", "a marker that says nothing of its shape",
         (("Unchanged since ___.", r"Unchanged since (?:\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}|[A-Z][a-z]+ \d{1,2}, "
           r"\d{4})\."),), _styled_date),
    Form("age", "age", "one age per report, 24 to 89", "every age marker of a report is the patient's",
         (("A ___-year-old man with cough.", r"A \d{2}-year-old man with cough\."),), _age),
    Form("name", "name", "a surname, or a given name where the tag says so", "names not yet used in the report",
         (("Dr. ___ agreed.", r"Dr\. [A-Z][a-z]+ agreed\."),), _name),
    Form("place before its noun", "place", "an invented place's name", "the text keeps `Hospital`: never `Hospital Hospital`",
         (("Transferred from ___ Hospital today.", r"Transferred from [A-Z][a-z]+(?: [A-Z][a-z]+)? Hospital today\."),),
         _place_name),
    Form("place", "place", "an invented hospital", "a place of care is what reports name",
         (("Transferred from ___ today.", r"Transferred from [A-Z][a-z]+ [A-Z][\w ]+ today\."),),
         _place),
    Form("phone", "phone", "a 555-01xx number", "the range reserved for fiction",
         (("Reached by phone ___ today.", r"Reached by phone \(\d{3}\) 555-01\d{2} today\."),),
         _phone),
    Form("e-mail", "id", "an address at example.org", "a tag that names an e-mail address",
         (("Sent to <EMAIL_ADDRESS> today.", r"Sent to [a-z]+\.[a-z]+@example\.org today\."),), _email),
    Form("number", "id", "as many digits as the tag shows, else 7", "an identifier keeps its length",
         (("Accession ___ was reviewed.", r"Accession \d{7} was reviewed\."),), _digits),
)
_FORM = {form.name: form for form in FORMS}
#: The form of each kind whose marker says nothing more.
_PLAIN = {"date": _FORM["styled date"], "time": _FORM["clock time"], "age": _FORM["age"], "name": _FORM["name"],
          "place": _FORM["place"], "phone": _FORM["phone"]}


def form_of(kind: str, marker: str, left: str, right: str) -> Form:
    """The form of a surrogate for a *kind* of marker with ``left`` its three characters of context
    before and ``right`` some twenty after: the form is what the context leaves (a bare clock time
    before a kept ``p.m.``, a name before a kept ``Hospital``)."""
    if kind == "time":
        if left[-1:] == ":" or (left[-1:] == "." and left[-2:-1].isdigit()):
            return _FORM["minutes"]
        if right[:1] in (":", "."):
            return _FORM["hour"]
        if _MERIDIEM_AFTER.match(right):
            return _FORM["clock before a meridiem"]
        if _HOURS_AFTER.match(right):
            return _FORM["24-hour clock"]
    elif kind == "place" and _PLACE_NOUN_AFTER.match(right):
        return _FORM["place before its noun"]
    elif kind == "date":
        shape = _DATE_SHAPE.fullmatch(marker.strip("[]* ")) or _DATE_SHAPE.fullmatch(marker)
        if shape is not None:
            return _FORM[{"year": "year", "md": "month and day"}.get(shape.lastgroup or "", "full date")]
    elif kind not in _PLAIN:
        return _FORM["e-mail"] if "MAIL" in marker.upper() else _FORM["number"]
    return _PLAIN[kind]


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

    def next_day(self) -> date:
        """A date later than the report's last one: dates rise in the order they appear."""
        self.day += self.r.randrange(20, 400)
        return date.fromordinal(self.day)

    def value(self, kind: str, marker: str, text: str, start: int, end: int) -> str:
        specific = any(c.isdigit() for c in marker) or "-" in marker.strip("{}[]<>*_X")
        if specific and (kind, marker) in self.same:
            return self.same[(kind, marker)]
        form = form_of(kind, marker, text[max(0, start - 3):start], text[end:end + 24])
        value = form.make(self, marker)
        if specific:
            self.same[(kind, marker)] = value
        return value
