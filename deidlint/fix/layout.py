"""The lines of hard-wrapped text through a repair: which line breaks a sentence keeps, and where;
and the white space between words that a repair left neighbours, which stays as it was.

A repair rewrites a sentence as one string, and its frames and tidy rules see a line break as
white space like any other; MIMIC-CXR's reports are wrapped with every continuation line
indented by a space. The rule here is the one a reader of the original expects: lines are not
re-wrapped, and **only a line that empties goes**. Each original line that keeps a word keeps its
break, with its own indent and line end (``\\r\\n`` too), right before the first of its words
that the repaired sentence still holds. A line whose words all went loses its break; when that
line is the sentence's last and the line goes on with the next sentence, the break moves after
the repaired sentence (``improved compared to\\n ___.  No effusion.`` -> ``improved.\\n No
effusion.``); when the sentence's first line emptied, the break moves before it.

Chunks (runs of non-space) are matched by :class:`difflib.SequenceMatcher` on the two chunk
sequences (case folded, punctuation stripped), so a chunk the repair rewrote in its place (a
marker that became ``a prior study``) counts as the one it replaced. The repair is cached, and so
is this: it runs once per distinct sentence, and only for one whose white space is more than
single spaces.
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
#: White space that a repair's tidy-up would not have written itself (it writes single spaces).
_LAID_OUT = re.compile(r"\n|\t|  ")


class Lines(NamedTuple):
    """A repaired sentence laid out on its original lines, and the breaks that move out of it:
    ``before`` goes in front of it when its first line emptied, ``after`` behind it when its last
    line did (each ``""`` when none; the caller puts them where the sentence meets its neighbours)."""

    text: str
    before: str = ""
    after: str = ""


def keep_lines(original: str, repaired: str) -> Lines:
    """``repaired`` laid out as ``original`` was: between two chunks that were neighbours there,
    the white space they had (``sepsis  // eval`` keeps its two spaces); each surviving line's
    break before its first surviving chunk; any other line break a space (nothing before
    punctuation)."""
    if _LAID_OUT.search(original) is None:
        return Lines(repaired)
    breaks = [(m.end(), m.group(1)) for m in _BREAK.finditer(original)]
    line_starts = [start for start, _ in breaks]
    old = list(_CHUNK.finditer(original))
    new = list(_CHUNK.finditer(repaired))
    old_lines = [bisect.bisect_right(line_starts, m.start()) for m in old]
    matcher = SequenceMatcher(None, [_norm(m.group()) for m in old], [_norm(m.group()) for m in new], autojunk=False)
    same: dict[int, int] = {}  # new chunk -> the old chunk it is, unchanged
    first: dict[int, int] = {}  # line -> the new chunk its first surviving chunk became
    worded: set[int] = set()  # lines that keep a word
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        pairs = [(i, j1 + i - i1) for i in range(i1, i2)] if tag == "equal" else [(i1, j1)] if tag == "replace" else []
        for i, j in pairs:
            if tag == "equal":
                same[j] = i
            if _word(old[i].group()):
                worded.add(old_lines[i])
            if old[i].group()[0] not in _CLOSERS:
                first.setdefault(old_lines[i], j)
    target = {j: breaks[line - 1][1] for line, j in first.items() if line and line in worded}
    before = target.pop(0, "")
    after = breaks[-1][1] if breaks and len(breaks) not in worded else ""
    out = []
    for j, m in enumerate(new):
        if j:
            if j in target:
                gap = target[j]
            elif j in same and same.get(j - 1) == same[j] - 1 and "\n" not in (
                    kept := original[old[same[j] - 1].end():old[same[j]].start()]):
                gap = kept
            else:
                gap = repaired[new[j - 1].end():m.start()]
                if "\n" in gap:
                    gap = "" if m.group()[0] in _CLOSERS else " "
            out.append(gap)
        out.append(m.group())
    return Lines("".join(out), before, after)


#: What no line, and no chunk after a space left by a line break, starts with.
_CLOSERS = ".,;:!?)]}"


def _word(chunk: str) -> str:
    return chunk.strip(_PUNCTUATION).lower()


def _norm(chunk: str) -> str:
    """A chunk as it is compared: its word, or itself when it is punctuation alone (``//``)."""
    return _word(chunk) or chunk
