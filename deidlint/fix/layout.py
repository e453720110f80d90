"""The lines of hard-wrapped text through a repair: which line breaks a sentence keeps, and where.

A repair rewrites a sentence as one string, and its frames and tidy rules see a line break as
white space like any other; MIMIC-CXR's reports are wrapped with every continuation line
indented by a space. The rule here is the one a reader of the original expects: lines are not
re-wrapped, and **only a line that empties goes**. Each original line that keeps a word keeps its
break, with its own indent and line end (``\\r\\n`` too), right before the first of its words
that the repaired sentence still holds. A line whose words all went loses its break; when that
line is the sentence's last and the line goes on with the next sentence, the break moves after
the repaired sentence (``improved compared to\\n ___.  No effusion.`` -> ``improved.\\n No
effusion.``); when the sentence's first line emptied, the break moves before it.

Words are matched by :class:`difflib.SequenceMatcher` on the two word sequences (case folded,
punctuation stripped), so a word the repair rewrote in its place (a marker that became ``a
prior study``) counts as the word it replaced.
"""

from __future__ import annotations

import bisect
import re
from difflib import SequenceMatcher
from typing import NamedTuple

#: A line break with the spaces that end the line before it and the indent that opens the next.
_BREAK = re.compile(r"[ \t]*(\r?\n[ \t]*)")
_CHUNK = re.compile(r"\S+")
#: What a chunk loses to become the word it is compared by (``Dr.`` is ``dr``, ``(left)`` is ``left``).
_PUNCTUATION = ".,;:!?()[]{}\"'"


class Lines(NamedTuple):
    """A repaired sentence laid out on its original lines, and the breaks that move out of it:
    ``before`` goes in front of it when its first line emptied, ``after`` behind it when its last
    line did (each ``""`` when none; the caller puts them where the sentence meets its neighbours)."""

    text: str
    before: str = ""
    after: str = ""


def keep_lines(original: str, repaired: str) -> Lines:
    """``repaired`` with the line breaks of ``original`` that survive, each before its line's first
    surviving word; any other line break in it becomes a space (or nothing, before punctuation)."""
    if "\n" not in original:
        return Lines(repaired)
    breaks = [(m.end(), m.group(1)) for m in _BREAK.finditer(original)]
    line_starts = [start for start, _ in breaks]
    old = [(bisect.bisect_right(line_starts, m.start()), word) for m in _CHUNK.finditer(original)
           if (word := _word(m.group()))]
    chunks = list(_CHUNK.finditer(repaired))
    new_words = [(c, word) for c, m in enumerate(chunks) if (word := _word(m.group()))]
    matcher = SequenceMatcher(None, [w for _, w in old], [w for _, w in new_words], autojunk=False)
    first: dict[int, int] = {}  # line -> the chunk its first surviving word became
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for i in range(i1, i2):
                first.setdefault(old[i][0], new_words[j1 + i - i1][0])
        elif tag == "replace":
            first.setdefault(old[i1][0], new_words[j1][0])
    target = {chunk: breaks[line - 1][1] for line, chunk in first.items() if line}
    before = target.pop(0, "")
    after = breaks[-1][1] if len(breaks) not in first else ""
    out = []
    for c, m in enumerate(chunks):
        if c:
            gap = repaired[chunks[c - 1].end():m.start()]
            if c in target:
                gap = target[c]
            elif "\n" in gap:
                gap = "" if not _word(m.group()) else " "
            out.append(gap)
        out.append(m.group())
    return Lines("".join(out), before, after)


def _word(chunk: str) -> str:
    return chunk.strip(_PUNCTUATION).lower()
