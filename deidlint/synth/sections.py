"""A report's sections, each drawn by its own function, in report order.

Every function draws from the one random stream in a fixed order, so the order of the calls
in :func:`build` is part of the output: moving a draw changes every report after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from deidlint.synth.builder import Builder, Section
from deidlint.synth.sentences import (
    COMMUNICATION,
    COMMUNICATION_MODERN_T,
    COMMUNICATION_T,
    COMPARISON,
    COMPARISON_T,
    DEVICES,
    EFFUSION,
    EXAMINATION,
    FINDINGS_TOPICS,
    FORCED_COMPARISON_T,
    IMPRESSION_EXTRA_NORMAL,
    IMPRESSION_EXTRA_PNEUMONIA,
    IMPRESSION_NORMAL,
    IMPRESSION_PNEUMONIA,
    INDICATION,
    INDICATION_T,
    LUNGS_NORMAL,
    OPENER_T,
    PNEUMONIA,
    RECORD_DATE_T,
    SIGNATURE,
    TECHNIQUE,
    TECHNIQUE_T,
    TIMEREF_T,
)


def _headers(bold: bool) -> dict[str, str]:
    """Section headers, keyed by name; a trailing newline in the key puts the body below."""
    heads = {}
    for name in ("EXAMINATION", "INDICATION", "TECHNIQUE", "COMPARISON", "FINDINGS", "IMPRESSION"):
        head = f"**{name}:**" if bold else f"{name}:"
        heads[name] = head + " "
        heads[name + "\n"] = head + "\n"
    return heads


#: Plain headers, and the markdown-bold ones some exports use (``**IMPRESSION:**``).
_HEADERS = _headers(False)
_BOLD_HEADERS = _headers(True)


@dataclass(frozen=True, slots=True)
class _Report:
    """What every section of one report needs: drawn once, before the first section."""

    b: Builder
    label: int
    traced: bool
    #: Open-I's layout: COMPARISON first, no EXAMINATION, TECHNIQUE or FINAL REPORT line.
    openi_layout: bool
    heads: dict[str, str]


def build(b: Builder, label: int, traced: bool) -> list[Section]:
    """Draw a report's sections, in order.

    Trace sites are only used when ``traced``; a traced report that drew none gets a dated
    comparison, so every traced report carries at least one marker.
    """
    r = b.r
    layout = b.family.openi_layout
    openi_layout = layout >= 1.0 or (layout > 0.0 and r() < layout)
    heads = _BOLD_HEADERS if r() < 0.06 else _HEADERS
    rep = _Report(b, label, traced, openi_layout, heads)
    sections = _opening(rep)
    indication = _indication(rep)
    comparison = _comparison(rep)
    if openi_layout:
        sections += [comparison, indication]
    else:
        sections += [_examination(rep), indication, *_technique(rep), comparison]
    own_line = not openi_layout and r() < 0.35  # bodies below their headers
    sections += _findings(rep, own_line)
    sections.append(_impression(rep, own_line))
    sections += _signature(rep)
    if traced and b.n_traces == 0:
        b.draw(FORCED_COMPARISON_T)
        at = next(i for i, section in enumerate(sections) if section is comparison)
        sections[at] = b.section(comparison[0])
    return sections


def _opening(rep: _Report) -> list[Section]:
    """A record-date line some scrubbers keep above the report, and MIMIC's FINAL REPORT line."""
    b, r = rep.b, rep.b.r
    sections: list[Section] = []
    if rep.traced and r() < b.family.record_date:
        b.draw(RECORD_DATE_T)
        sections.append(b.section(""))
    if not rep.openi_layout and r() < 0.4:
        sections.append(("", ["FINAL REPORT"], []))
    return sections


def _indication(rep: _Report) -> Section:
    """Why the study was ordered; ages and places are trace sites."""
    b = rep.b
    b.draw(INDICATION_T if rep.traced and b.r() < 0.55 else INDICATION)
    return b.section(rep.heads["INDICATION"])


def _comparison(rep: _Report) -> Section:
    """The prior studies, where most dates are."""
    b, r = rep.b, rep.b.r
    if rep.traced and r() < 0.7:
        own = b.family.comparison
        b.draw(own.pool if own is not None and r() < own.share else COMPARISON_T)
    else:
        b.draw(COMPARISON)
    return b.section(rep.heads["COMPARISON"])


def _examination(rep: _Report) -> Section:
    """The exam's name, in MIMIC's layout."""
    rep.b.draw(EXAMINATION)
    return rep.b.section(rep.heads["EXAMINATION"])


def _technique(rep: _Report) -> list[Section]:
    """How the images were taken, in three reports of four in MIMIC's layout."""
    b, r = rep.b, rep.b.r
    if r() >= 0.75:
        return []
    b.draw(TECHNIQUE_T if rep.traced and r() < 0.08 else TECHNIQUE)
    return [b.section(rep.heads["TECHNIQUE"])]


def _findings(rep: _Report, own_line: bool) -> list[Section]:
    """Devices, lungs (by label), over-scrubbed words, the other topics, then dated changes."""
    b, r, family = rep.b, rep.b.r, rep.b.family
    partial, overscrubbed = family.partial_times, family.overscrubbed
    if r() >= (0.85 if rep.openi_layout else 0.88):
        return []
    if rep.traced and not rep.openi_layout and r() < 0.25:
        b.draw(OPENER_T)
    if r() < 0.22:
        for _ in range(1 + int(r() * 3)):
            b.draw(DEVICES)
    if rep.traced and partial is not None and r() < partial.share:
        b.draw(partial.pool)
    _lungs(rep)
    if rep.traced and r() < overscrubbed.share:
        b.draw(overscrubbed.pool)
    for pool, share in FINDINGS_TOPICS:
        if r() < share:
            b.draw(pool)
    if rep.traced and r() < 0.3:
        b.draw(TIMEREF_T)
    return [b.section(rep.heads["FINDINGS\n" if own_line else "FINDINGS"])]


def _lungs(rep: _Report) -> None:
    """What the label is about: pneumonia (with an effusion now and then), or clear lungs."""
    b, r = rep.b, rep.b.r
    if rep.label:
        for _ in range(1 + int(r() * 2)):
            b.draw(PNEUMONIA)
        if r() < 0.3:
            b.draw(EFFUSION)
    else:
        b.draw(LUNGS_NORMAL)


def _impression(rep: _Report, own_line: bool) -> Section:
    """The conclusion, with a communication sentence now and then; numbered ("1. ...\n2. ...")
    in some reports that have several sentences."""
    b, r = rep.b, rep.b.r
    pools = [IMPRESSION_PNEUMONIA if rep.label else IMPRESSION_NORMAL]
    if r() < 0.25:
        pools.append(IMPRESSION_EXTRA_PNEUMONIA if rep.label else IMPRESSION_EXTRA_NORMAL)
    if rep.traced and r() < 0.35:
        modern = b.family.emails > 0.0 and r() < b.family.emails
        pools.append(COMMUNICATION_MODERN_T if modern else COMMUNICATION_T)
    elif r() < 0.12:
        pools.append(COMMUNICATION)
    numbered = len(pools) > 1 and r() < 0.35
    if numbered:
        b.items.append("1. ")
    for k, pool in enumerate(pools, 1):
        b.draw(pool, (f"\n{k}. " if k > 1 else "") if numbered else " ")
    return b.section(rep.heads["IMPRESSION\n" if own_line or numbered else "IMPRESSION"])


def _signature(rep: _Report) -> list[Section]:
    """A signature block under a line of underscores, which is not a marker."""
    b, r = rep.b, rep.b.r
    if r() >= 0.12:
        return []
    b.items.append("_" * (10 + int(r() * 31)))
    b.draw(SIGNATURE, "\n")
    return [b.section("")]
