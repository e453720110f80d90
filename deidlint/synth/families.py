"""Scrubber families as data: one record per family, read from ``rules/families/<name>.toml``.

A record says everything the generator needs to write a family's traces and the tests need
to check them, so adding a family means adding its pack (``rules/<name>.toml``) and its record,
and no code. Records are data, never code, like the packs: parsed with :mod:`tomllib`, every
field checked, and any problem a one-line :class:`~deidlint.errors.UsageError` naming the file.

``[family]`` fields:

``name``
    The family, its pack's name and its ``--style``.
``weight``, ``mix_order``
    Its share of a "mixed" dataset, and its place in the mixed draw: each report's family is
    drawn from the unit interval cut in ``mix_order``, so a seeded dataset depends on the order
    and a new family takes the next free number.
``openi_layout``
    The share of its reports laid out as Open-I's are (COMPARISON first, no EXAMINATION,
    TECHNIQUE or FINAL REPORT line); the rest follow MIMIC-CXR's.
``record_date``, ``emails``
    The shares of traced reports that open with a ``Record date:`` line, and of communication
    sentences that give an e-mail address (tools that scrub free text today meet those).
``shapes``
    Regular expressions its synthetic reports must contain, each around a marker its pack finds.
``[family.markers]``
    What it writes in place of a value, by ``scheme``: ``replace`` (a marker per slot, from one
    of the ``dialects`` drawn per report; a slot not listed keeps its value), ``tokens`` (each
    whitespace token masked on its own, by a fixed ``token`` or a ``mask`` character per letter
    and digit; slots in ``keep`` stay) or ``tags`` (a ``tag`` around a shifted date, an age from
    ``age_from`` on, or a category from ``tags`` with a surrogate number ``{n}``).
``[family.overscrubbed]``, optional ``[family.comparison]`` and ``[family.partial_times]``
    Its own sentences (``share`` of traced reports, then ``sentences`` in the template language
    of :mod:`deidlint.synth.templates`): ordinary words its scrubber took for identifiers, the
    comparison lines it left, and times of which it scrubbed only a part.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deidlint.errors import UsageError
from deidlint.rules import builtin_rules_dir
from deidlint.synth.templates import SLOT_KINDS, Pool, Slot, pool

if TYPE_CHECKING:
    from deidlint.synth.builder import Builder

PROTECTED_SPACE = "\x00"  # stands for a space inside a marker until wrapping is done

#: Trailing punctuation that token-masking scrubbers leave after a masked token.
TOKEN_TRAIL = ",.;:"
_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Highest surrogate number in a tag (``[**Hospital1 18**]``).
_SURROGATES = 20000


class _Record:
    """Reads one record's fields, so that every problem names the file and the field."""

    def __init__(self, path: Path, table: object, where: str = "[family]") -> None:
        if not isinstance(table, dict):
            raise UsageError(f"family record {path}: needs a {where} table")
        self.path, self.table, self.where = path, table, where
        self.used: set[str] = set()

    def fail(self, what: str) -> UsageError:
        return UsageError(f"family record {self.path}: {self.where}: {what}")

    def get(self, key: str, kind: type | tuple[type, ...], default: object = ...) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is ...:
                raise self.fail(f"needs '{key}'")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"'{key}' has the wrong type")
        return value

    def share(self, key: str, default: object = ...) -> float:
        value = float(self.get(key, (int, float), default))
        if not 0.0 <= value <= 1.0:
            raise self.fail(f"'{key}' must lie in [0, 1]")
        return value

    def strings(self, key: str, default: object = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"'{key}' must be a list of strings")
        return tuple(value)

    def slots(self, table: Mapping[str, object]) -> None:
        if unknown := set(table) - set(SLOT_KINDS):
            raise self.fail(f"unknown slot(s) {', '.join(sorted(unknown))} (slots: {', '.join(SLOT_KINDS)})")

    def sub(self, key: str) -> _Record:
        self.used.add(key)
        return _Record(self.path, self.table.get(key), f"{self.where[:-1]}.{key}]")

    def done(self) -> None:
        if unknown := set(self.table) - self.used:
            raise self.fail(f"unknown key(s) {', '.join(sorted(unknown))}")


# -- marker schemes: how a family leaves a slot's value ----------------------------------------


class _Replace:
    """A fixed marker per slot, from one dialect per report; a slot not listed keeps its value."""

    def __init__(self, rec: _Record) -> None:
        dialects = rec.get("dialects", list)
        if not dialects or not all(isinstance(d, dict) and all(isinstance(v, str) for v in d.values())
                                   for d in dialects):
            raise rec.fail("'dialects' must be a list of tables of slot = marker")
        for dialect in dialects:
            rec.slots(dialect)
        self.dialects = tuple({slot: m.replace(" ", PROTECTED_SPACE) for slot, m in d.items()} for d in dialects)

    def start(self, r: Callable[[], float]) -> Mapping[str, str]:
        """This report's dialect (a draw only where there is a choice)."""
        return self.dialects[int(r() * len(self.dialects))] if len(self.dialects) > 1 else self.dialects[0]

    def trace(self, b: Builder, slot: Slot, original: str) -> None:
        marker = b.dialect.get(slot.value)
        if marker is None:
            b.items.append(original)
        else:
            b.mark(marker, original, slot.kind)


class _Tokens:
    """Each whitespace token masked on its own, trailing punctuation kept (Open-I, Philter)."""

    def __init__(self, rec: _Record) -> None:
        self.token: str = rec.get("token", str, "")
        mask: str = rec.get("mask", str, "")
        if bool(self.token) == bool(mask) or len(mask) > 1:
            raise rec.fail("needs either a 'token' or a one-character 'mask'")
        self.mask = str.maketrans(dict.fromkeys(_ALNUM, mask))
        self.keep = frozenset(rec.strings("keep", []))
        rec.slots(dict.fromkeys(self.keep))

    def start(self, r: Callable[[], float]) -> Mapping[str, str]:
        return {}

    def trace(self, b: Builder, slot: Slot, original: str) -> None:
        if slot.value in self.keep:
            b.items.append(original)
            return
        for i, token in enumerate(original.split(" ")):
            if i:
                b.items.append(" ")
            core = token.rstrip(TOKEN_TRAIL)
            b.mark(self.token or core.translate(self.mask), core, slot.kind)
            if len(core) < len(token):
                b.items.append(token[len(core) :])


class _Tags:
    """A tag around a shifted date, an old age, or a category and a surrogate number (PhysioNet)."""

    def __init__(self, rec: _Record) -> None:
        self.tag: str = rec.get("tag", str)
        self.dates: dict[str, str] = rec.get("dates", dict, {})
        self.age: str = rec.get("age", str, "")
        self.age_from: int = rec.get("age_from", int, 0)
        tags: dict[str, list[str]] = rec.get("tags", dict, {})
        for table in (self.dates, tags):
            rec.slots(table)
        if "{}" not in self.tag or not all(isinstance(v, list) and v for v in tags.values()):
            raise rec.fail("'tag' needs a {} for the body, and every entry of 'tags' a list of tags")
        self.tags = {slot: tuple(v) for slot, v in tags.items()}

    def start(self, r: Callable[[], float]) -> Mapping[str, str]:
        return {}

    def trace(self, b: Builder, slot: Slot, original: str) -> None:
        body = self._body(b, slot.value, original)
        if body is None:
            b.items.append(original)
        else:
            b.mark(self.tag.format(body).replace(" ", PROTECTED_SPACE), original, slot.kind)

    def _body(self, b: Builder, slot: str, original: str) -> str | None:
        if slot in self.dates:
            y, m, d = b.ymd
            return self.dates[slot].format(y=y + b.year_shift, m=m, d=d)
        if slot == "age":
            return self.age if self.age and int(original) >= self.age_from else None
        tags = self.tags.get(slot)
        if tags is None:
            return None
        return tags[int(b.r() * len(tags))].format(n=1 + int(b.r() * _SURROGATES))


_SCHEMES: dict[str, type[_Replace | _Tokens | _Tags]] = {"replace": _Replace, "tokens": _Tokens, "tags": _Tags}


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sentences:
    """A family's own sentences, used in ``share`` of its traced reports."""

    share: float
    pool: Pool


@dataclass(frozen=True, slots=True)
class Family:
    """One scrubber family, as its record describes it (see the module docstring)."""

    name: str
    weight: float
    mix_order: int
    openi_layout: float
    record_date: float
    emails: float
    shapes: tuple[str, ...]
    markers: _Replace | _Tokens | _Tags
    overscrubbed: Sentences
    comparison: Sentences | None
    partial_times: Sentences | None
    path: Path


def _sentences(rec: _Record, key: str) -> Sentences:
    sub = rec.sub(key)
    templates = sub.strings("sentences")
    try:
        compiled = pool(*templates)
    except ValueError as exc:
        raise sub.fail(str(exc)) from None
    found = Sentences(sub.share("share"), compiled)
    sub.done()
    return found


def load_family(path: Path) -> Family:
    """Read and check one record."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read family record {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if set(data) != {"family"}:
        raise UsageError(f"family record {path}: needs one [family] table and nothing else")
    rec = _Record(path, data["family"])
    markers = rec.sub("markers")
    scheme = _SCHEMES.get(markers.get("scheme", str))
    if scheme is None:
        raise markers.fail(f"'scheme' must be one of {', '.join(_SCHEMES)}")
    family = Family(
        name=rec.get("name", str), weight=rec.share("weight"), mix_order=rec.get("mix_order", int),
        openi_layout=rec.share("openi_layout"), record_date=rec.share("record_date"), emails=rec.share("emails", 0.0),
        shapes=rec.strings("shapes", []), markers=scheme(markers),
        overscrubbed=_sentences(rec, "overscrubbed"),
        comparison=_sentences(rec, "comparison") if "comparison" in rec.table else None,
        partial_times=_sentences(rec, "partial_times") if "partial_times" in rec.table else None,
        path=path,
    )
    markers.done()
    rec.done()
    return family


def load_families(folder: str | Path) -> dict[str, Family]:
    """Every record in *folder* (``*.toml``), by name, in mix order; names and orders unique."""
    families = sorted((load_family(p) for p in sorted(Path(folder).glob("*.toml"))), key=lambda f: f.mix_order)
    if not families:
        raise UsageError(f"no family records in {folder}")
    for a, b in itertools.pairwise(families):
        if a.mix_order == b.mix_order:
            raise UsageError(f"family records {a.path} and {b.path} share mix_order {a.mix_order}")
    by_name = {f.name: f for f in families}
    if len(by_name) < len(families):
        raise UsageError(f"two family records in {folder} have the same name")
    return by_name


#: The built-in families, beside the built-in packs.
BUILTIN = load_families(builtin_rules_dir() / "families")
#: Scrubber families whose marker shapes the generator reproduces, in mix order.
FAMILIES = tuple(BUILTIN)


def mixer(families: Mapping[str, Family]) -> Callable[[float], Family]:
    """Draws a family for a "mixed" report, weighted like the sources a real mix would contain."""
    chosen = tuple(families.values())
    total = sum(f.weight for f in chosen)
    bounds = tuple(bound / total for bound in itertools.accumulate(f.weight for f in chosen))

    def draw(r: float) -> Family:
        for family, bound in zip(chosen, bounds, strict=True):
            if r < bound:
                return family
        return chosen[-1]

    return draw
