"""Reassembling a report from its units: kept units with the white space that followed them,
section labels whose every sentence went dropped, numbered lists renumbered."""

from __future__ import annotations

import re

from deidlint.fix.sentences import LIST_ITEM, Unit

#: A letter or a digit: a unit without one is punctuation alone.
_WORDY = re.compile(r"[^\W_]")


#: A separator line (``______``, ``=====``): it parts a report's blocks (an addendum above the final
#: report), so no header's section runs across it.
_SEPARATOR = re.compile(r"[ \t]*[_=-]{10,}")


def drop_orphan_headers(text: str, units: list[Unit], new: dict[int, str]) -> None:
    """A header (``COMPARISON:``) whose every following unit went, goes too; so does what is left
    of its body when that is punctuation alone (Open-I's doubled stops: ``opacity. .`` loses its
    sentence, and ``IMPRESSION: .`` is no section).

    A header's section is the rest of its paragraph; a header alone in its paragraph
    (``IMPRESSION:`` over a blank line, as MIMIC-CXR writes it) heads the paragraphs after it, up
    to the next header or separator line."""
    for i, unit in enumerate(units):
        if not unit.header:
            continue
        alone = i + 1 == len(units) or units[i + 1].para != unit.para
        scope = []
        for k in range(i + 1, len(units)):
            if units[k].header or (units[k].para != unit.para and not alone) or _SEPARATOR.match(
                    text, units[k].start, units[k].end):
                break
            scope.append(k)
        gone = [k for k in scope if new.get(k) == ""]
        if gone and all(k in gone or not _WORDY.search(text, units[k].start, units[k].end) for k in scope):
            new[i] = ""
            new.update(dict.fromkeys(scope, ""))


def join_units(text: str, units: list[Unit], new: dict[int, str],
               moved: dict[int, tuple[str, str]] | None = None) -> str:
    """Kept units with the whitespace that originally followed them; lists renumbered. ``moved``
    holds, by unit, the line breaks a repair moved out of the unit (before it, after it): such a
    break takes the place of the spaces between two sentences of one line."""
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
                gap = text[unit.end:units[i + 1].start]
                if kept[n + 1] != i + 1:
                    gap = _line_kept(text, unit.end, nxt.start, gap)
                if moved and "\n" not in gap:
                    gap = moved.get(kept[n + 1], ("", ""))[0] or moved.get(i, ("", ""))[1] or gap
                out.append(gap)
            else:
                first = next(k for k in range(kept[n + 1] + 1) if units[k].para == nxt.para)
                out.append(text[units[first - 1].end:units[first].start])
    out.append(text[units[-1].end:])
    return "".join(out)


def _line_kept(text: str, end: int, start: int, gap: str) -> str:
    """The white space between two kept units with dropped ones between them (``text[end:start]``).

    A line break inside what went stays, because only a line that empties goes: in hard-wrapped
    text, ``tortuous. XXXX catheter ... right\natrium. There is no`` keeps its two lines
    (``tortuous.\nThere is no``), the second with its own indent, and no trailing space."""
    if "\n" in gap:
        return gap
    last = text.rfind("\n", end, start)
    if last < 0:
        return gap
    line = text[last + 1:start]
    return "\n" + line[:len(line) - len(line.lstrip(" \t"))]


def _renumber(text: str, units: list[Unit], kept: list[int], new: dict[int, str]) -> None:
    """Renumber each numbered list (``1. 2. 3.``) that lost a sentence.

    An item is a numbered unit and the unnumbered ones after it (``1. Widened mediastinum.
    Recommend CT. 2. ...``). An item whose numbered sentence went while another of its sentences
    stayed keeps its number, on the first that stayed, so no sentence loses its place in the list
    and no later item changes; an item that went whole (or left punctuation alone) moves the
    items after it up, so a list never reads 1, 3. A list whose next number sits inside its last
    item (``... scarring 3. Low lung volumes``, no stop before it) is not all seen: left as written."""
    keep = set(kept)
    for items in _lists(units):
        numbers = [int(_list_item(text, units[head].start).group(1)) for head, _ in items]
        if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
            continue  # not a list counted from its first number (``2. 5.``): left as written
        last = items[-1][1]
        if re.search(rf"(?<!\d){numbers[-1] + 1}[.)][ \t]", text[units[last[0]].body:units[last[-1]].end]):
            continue  # its next number hides inside a sentence (``scarring 3. Low volumes``): not all seen
        number = numbers[0]
        for head, members in items:
            stayed = [(i, new.get(i, text[units[i].start:units[i].end])) for i in members if i in keep]
            worded = [(i, current) for i, current in stayed if _WORDY.search(current)]
            if not worded:
                continue  # gone whole, or nothing left but Open-I's doubled stop (``. .``)
            m = _list_item(text, units[head].start)
            first, current = worded[0]
            if first != head:
                new[first] = f"{number}{m.group(0)[len(m.group(1)):]}{current}"
            elif int(m.group(1)) != number:
                new[first] = f"{number}{current[len(m.group(1)):]}"
            number += 1


def _lists(units: list[Unit]) -> list[list[tuple[int, list[int]]]]:
    """The numbered lists of a report: per section (a paragraph up to its next label, so a one-line
    export's FINDINGS and IMPRESSION lists are two), its items as (numbered unit, the item's units)."""
    lists: list[list[tuple[int, list[int]]]] = []
    items: list[tuple[int, list[int]]] = []
    para = -1
    for i, unit in enumerate(units):
        if unit.para != para or unit.header:
            if items:
                lists.append(items)
            items, para = [], unit.para
            if unit.header:
                continue
        if unit.body > unit.start:
            items.append((i, [i]))
        elif items:
            items[-1][1].append(i)
    if items:
        lists.append(items)
    return lists


def _list_item(text: str, start: int) -> re.Match[str]:
    """The list number opening the unit at *start*, which has one: its body starts after it."""
    item = LIST_ITEM.match(text, start)
    assert item is not None, "a unit whose body starts late starts with a list number"
    return item
