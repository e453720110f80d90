"""The template language of the sentence pools, and the non-identifying fillers it inserts.

Every template is expanded and parsed once, at import, so that a report is assembled from
ready-made strings with one random draw per choice.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# # ``{a|b|c}`` is an alternation, expanded into separate templates at import time (an option may
# be empty: ``{|very }``). ``{lobe}``, ``{complaint}`` and the other keys of FILLERS insert a
# non-identifying filler. Any other ``{slot}`` (``{date}``, ``{name}``, ``{age}`` ...) or
# ``{w:word}`` is a trace site: the report's scrubber family decides what marker, if any,
# replaces the true value there.


@dataclass(frozen=True, slots=True)
class Slot:
    """A trace site in a template: which value to draw (``value``) and the span kind it gets."""

    value: str
    kind: str
    word: str = ""  # the fixed original of an over-scrubbed word slot ("w")


SLOT_KINDS = {
    "name": "name", "first": "name",
    "date": "date", "md": "date", "year": "date", "iso": "date",
    "time": "time", "hh": "time", "mm": "time",
    "age": "age", "place": "place", "id": "id", "email": "id", "phone": "phone",
    "lang": "word", "size": "word", "w": "word",
}

#: A compiled template: a plain string, or literal strings, filler pools and slots in order.
Template = str | tuple[str | tuple[str, ...] | Slot, ...]
#: Templates grouped by source template, so a richly varied template is no likelier to be drawn
#: than a terse one: a draw picks a group, then a variant.
Pool = tuple[tuple[Template, ...], ...]

_ALTERNATION = re.compile(r"\{([^{}]*\|[^{}]*)\}")
_PLACEHOLDER = re.compile(r"\{([^{}|]+)\}")
#: Fillers with at most this many values are expanded at import like alternations, so most
#: sentences become plain strings; larger ones (complaints, clock times) are drawn at run time.
_INLINE_FILLER_MAX = 20


def expand(template: str) -> tuple[str, ...]:
    """Every combination of a template's alternations, in order, without duplicates."""
    pieces = _ALTERNATION.split(template)
    options = [p.split("|") if i % 2 else [p] for i, p in enumerate(pieces)]
    return tuple(dict.fromkeys("".join(combo) for combo in itertools.product(*options)))


def _inline_fillers(template: str) -> str:
    """Rewrite references to small fillers as alternations."""

    def alternation(m: re.Match[str]) -> str:
        values = FILLERS.get(m.group(1), ())
        return "{" + "|".join(values) + "}" if 1 < len(values) <= _INLINE_FILLER_MAX else m.group(0)

    return _PLACEHOLDER.sub(alternation, template)


def _compile(template: str) -> Template:
    """Split an expanded template into literals, filler pools and slots (a bare str if none)."""
    parts: list[str | tuple[str, ...] | Slot] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        key, _, word = m.group(1).partition(":")
        if key in FILLERS:
            parts.append(FILLERS[key])
        elif key in SLOT_KINDS:
            parts.append(Slot(key, SLOT_KINDS[key], word))
        else:
            raise ValueError(f"unknown placeholder {m.group(0)!r} in template {template!r}")
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return tuple(parts)


def pool(*templates: str) -> Pool:
    """Expand and compile templates into a pool, one group of variants per template."""
    return tuple(tuple(_compile(t) for t in expand(_inline_fillers(template))) for template in templates)


def fill(*templates: str) -> tuple[str, ...]:
    """Expand filler values (alternations only; fillers do not nest)."""
    return tuple(dict.fromkeys(v for template in templates for v in expand(template)))



_COMPLAINTS = fill(
    "cough", "fever", "fever and cough", "productive cough", "shortness of breath",
    "dyspnea on exertion", "chest pain", "pleuritic chest pain", "hypoxia", "tachypnea",
    "leukocytosis", "sepsis", "altered mental status", "weakness", "syncope", "hemoptysis",
    "wheezing", "new oxygen requirement", "{|recent }fall", "congestive heart failure",
    "COPD exacerbation", "asthma exacerbation", "chest tightness", "abdominal pain",
    "history of lung cancer", "{|status post }CABG", "pneumonia on antibiotics",
    "cirrhosis and new onset ascites", "end-stage renal disease on dialysis",
    "recent intubation", "aspiration event", "fevers and chills", "night sweats",
)

FILLERS: dict[str, tuple[str, ...]] = {
    "lobe": ("right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe",
             "lingula", "left lower lobe"),
    "zone": fill("{left|right} {base|lung base|mid lung|upper lung|perihilar region}",
                  "bilateral bases", "retrocardiac region", "lingula", "right infrahilar region"),
    "complaint": _COMPLAINTS,
    "Complaint": tuple(c[0].upper() + c[1:] for c in _COMPLAINTS),
    "question": fill("evaluate for pneumonia", "eval for infiltrate", "r/o pneumonia", "?PNA",
                      "assess for effusion", "interval change?", "eval for edema",
                      "please assess line placement", "any acute process?",
                      "evaluate for consolidation"),
    "clock": tuple(f"{h}:{m:02d} {ap}" for h in range(1, 13) for m in range(0, 60, 5)
                   for ap in ("a.m.", "p.m.")),
    "clock24": tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (2, 11, 20, 34, 42, 57)),
    "minute": tuple(f"{m:02d}" for m in range(1, 60, 3)),
    "hour": tuple(str(h) for h in range(1, 13)),
    "cm": ("2", "2.5", "3", "3.5", "4", "4.2", "5", "5.5", "6"),
    "level": ("C5-C6", "C6-C7", "C4-C5", "T11-T12", "T12-L1", "L1-L2"),
    "cervical": ("C4-C5", "C5-C6", "C6-C7", "C5-C7"),
    "role": ("Attending Radiologist", "Radiology Resident", "Staff Radiologist",
             "Reading Physician", "Radiology Fellow"),
    "order": tuple(f"ORD_{y}_{n:04d}" for y in range(2015, 2025) for n in range(7, 2000, 97)),
}
