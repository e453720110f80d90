"""Restore: over-scrubbed ordinary words learnt back from the corpus's own unscrubbed text."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import regex

from deidlint.errors import UsageError

#: A restore context: ("glue-left", stem) for ``Swan-___``, ("glue-right", stem) for ``___-Ganz``,
#: or ("free", n, left token, right token) for ``pulmonary XXXX are`` (n markers in a row); the
#: left token of one marker opening a sentence is :data:`SENTENCE_START` (``___ rods are``).
ContextKey = tuple[str, ...]
#: The left "token" of a sentence's first word: with a space in it, no whitespace-split token is it.
SENTENCE_START = "<sentence start>"

#: A glued context's stem may itself be two parts (``Port-A-___``: the stem is ``Port-A``).
_GLUE_LEFT = regex.compile(r"(?<![A-Za-z-])([A-Za-z]{1,20}(?:-[A-Za-z]{1,20})?)-$")
_GLUE_RIGHT = regex.compile(r"^-([A-Za-z]{1,20})(?![A-Za-z-])")
#: A word that can fill a context, and two words glued by a hyphen (``Swan-Ganz``, ``x-ray``).
_FILLER_WORD = r"[A-Za-z][A-Za-z]+(?:-[A-Za-z]+)?"
_FILLER = regex.compile(_FILLER_WORD)
_GLUED = regex.compile(r"(?<![A-Za-z-])([A-Za-z]{1,20}(?:-[A-Za-z]{1,20})?)-([A-Za-z]{2,20})(?![A-Za-z-])")
_PUNCT = ".,;:"


_OPENERS = "([\"'"
_CLOSERS = ")]\"'"
#: What a word loses at its end before a context keys it (:func:`_word`, :func:`_outer`).
_TRIMMED = _CLOSERS + _PUNCT + "!?"


def _left(token: str) -> str | None:
    """The token before a marker as a context keys it: the lower-cased word; None where there is
    none, or where punctuation parts it from the marker (``effusion, XXXX``: no context)."""
    core = token.lstrip(_OPENERS).lower()
    return core if core.isalpha() else None


#: Words no scrubber took for PHI: a corpus that shows one in a marker's context shows its own
#: wreckage (``sternotomy and.``), not the hidden word.
_NOT_FILLERS = frozenset("and or nor but the a an of with to in on at for by from is are was were".split())
#: Words that set a finding's status or deny a prior study. A sentence's clean text opens with them
#: most (``No pneumothorax.``), but a scrubber's marker there hid something else: of the first six
#: restores at Open-I's sentence starts, all four that wrote ``No`` or ``None`` stood where a
#: comparison's date or a finding's own modifier had been, so a sentence's first word is never one.
_STATUS_WORDS = frozenset("no not without none negative possible possibly probable probably likely "
                          "questionable suspected may".split())


class Synonyms(NamedTuple):
    """Words that say the same in a report: restore counts their support together (the corpus
    writes ``pulmonary vasculature`` and ``pulmonary vascularity`` for one thing) and writes the
    one the context shows most. ``example`` is (fillers seen in a context, the word restored)."""

    words: frozenset[str]
    example: tuple[dict[str, int], str]


SYNONYMS: tuple[Synonyms, ...] = (
    Synonyms(frozenset({"vasculature", "vascularity"}),
             ({"vasculature": 111, "vascularity": 62, "nodules": 3}, "vasculature")),
)
_SENSE = {word: min(group.words) for group in SYNONYMS for word in group.words}


def _outer(token: str | None, left: bool) -> str:
    """The word beyond a context token, as restore's both-sides check keys it: the lower-cased
    word without punctuation, ``<s>`` for a sentence end on the left, ``</s>`` for nothing."""
    if token is None:
        return "<s>" if left else "</s>"
    if left and token[-1:] in ".!?":
        return "<s>"
    core = token.strip(_OPENERS + _TRIMMED).lower()
    return core or ("<s>" if left else "</s>")


def _word(token: str) -> str | None:
    """A lower-cased token as a context's right-hand word: without brackets, quotes or the stop
    after it (``bilaterally.`` is the word ``bilaterally``); None if no plain word is left."""
    core = token.lstrip(_OPENERS).rstrip(_TRIMMED)
    return core if core.isalpha() else None


def _ends_sentence(token: str) -> bool:
    """Whether *token* ends a sentence: a stop, or a section label (``FINDINGS:``) on one line."""
    return token.rstrip(_CLOSERS)[-1:] in ".!?" or (token[-1:] == ":" and token[:-1].isupper())


def _right(glued: str, following: Sequence[str]) -> tuple[str | None, str | None]:
    """A free context's right-hand side as the model keys it, and the words beyond it that a
    restore must also have been seen with; *glued* is the punctuation glued to the last filler
    (``XXXX,``), *following* the tokens after it, as written (a label's capitals end a sentence).

    Learning and predicting both key a context here, so the two cannot disagree. A glued stop
    ends the sentence (nothing beyond to check); a glued comma is checked with the two words after
    it (``heart XXXX, mediastinum, bony``: ``size`` must have been seen before ``, mediastinum
    bony``); a word is the right-hand side even with its stop glued to it (``lymph XXXX
    bilaterally.`` is not ``lymph XXXX.``), checked with the word after it or the sentence end."""
    if glued:
        if glued == ".":
            return glued, None
        return glued, _beyond(following, 2)
    if not following:
        return None, None
    word = _word(following[0].lower())
    if word is None:
        return None, None
    return word, "</s>" if _ends_sentence(following[0]) else _beyond(following[1:], 1)


def _beyond(following: Sequence[str], count: int) -> str:
    """The next *count* words as the checks key them; a sentence end on the way reads ``</s>``."""
    words: list[str] = []
    for token in following[:count]:
        words.append(_outer(token, False))
        if _ends_sentence(token):
            break
    words += ["</s>"] * (count - len(words))
    return " ".join(words)


def _glued_neighbours(text: str, start: int, end: int) -> str:
    """The words either side of the glued word ``text[start:end]`` (``Left-sided dual-lumen
    catheter``: ``left-sided catheter``); a glued word is restored only where the corpus shows
    it between the same two, which a hyphen's stem alone does not say (``dual-`` is ``dual-lumen``
    before a catheter, ``dual-chamber`` before a pacemaker)."""
    before = text[max(0, start - 48):start].rstrip(_OPENERS).split()
    left = "<s>" if not before or text[start - 1:start].strip(_OPENERS) else _outer(before[-1], True)
    after = text[end:end + 48]
    if after[:1] in tuple(".!?"):
        return f"{left} </s>"
    rest = after.lstrip(_CLOSERS + _PUNCT).split()
    return f"{left} {_outer(rest[0], False) if rest else '</s>'}"


def _clear(pieces: list[str], glued: bool, need: int) -> bool:
    """Whether the *need* tokens nearest a restore (*pieces*, nearest first, up to another marker;
    *glued*: the farthest is part of that marker's token) hold no marker, or a sentence ends first."""
    for n in range(need):
        if n >= len(pieces):
            return False
        if n == len(pieces) - 1 and glued:
            # only a stop glued to that marker (``XXXX. The``): the sentence starts after it
            return _ends_sentence(pieces[n]) and not any(c.isalnum() for c in pieces[n])
        if _ends_sentence(pieces[n]):
            return True
    return True


#: For each needed left word, the run lengths needed after it, each with the right-hand sides needed.
_Runs = dict[str, tuple[tuple[int, frozenset[str]], ...]]


def _count_glued(text: str, counts: dict[ContextKey, Counter[str]]) -> None:
    """Count the glued words of *text* (``Swan-Ganz``) under the glued contexts that are needed.

    Apart from the free contexts because one pattern over the whole text finds them all."""
    for m in _GLUED.finditer(text):
        stem, word = m.groups()
        for bucket, filler in ((counts.get(("glue-left", stem.lower())), word),
                               (counts.get(("glue-right", word.lower())), stem)):
            if bucket is not None:
                bucket[filler] += 1
                bucket[f"{filler.lower()}\0={_glued_neighbours(text, m.start(), m.end())}"] += 1


def _count_free(text: str, runs: _Runs, counts: dict[ContextKey, Counter[str]]) -> None:
    """Count the fillers of the needed free contexts in *text*.

    The text is split on whitespace once; only tokens that are a needed left word are looked at
    further, and most of those are dismissed on their right-hand side before a filler is built,
    so learning stays a linear scan.
    """
    tokens = text.split()
    lows = text.lower().split()
    last = len(tokens) - 1
    for i in [i for i, w in enumerate(lows) if w in runs]:
        for n, afters in runs[lows[i]]:
            if i + n > last:
                break
            # The right-hand side, as _right() keys it, found cheaply.
            tail = lows[i + n]
            if tail[-1:] in _PUNCT:
                after: str | None = tail[-1]
            elif i + n == last:
                continue
            elif (nxt := lows[i + n + 1]) in afters:
                after = nxt
            elif nxt[-1:] in _TRIMMED or nxt[:1] in _OPENERS:
                after = _word(nxt)
            else:
                continue  # a plain word that no context asks for
            if after in afters:
                _count_filler(tokens, lows, i, n, counts)


#: A sentence's first word, after a stop (closers after it allowed) or a colon, and the token after
#: it, looked at and not consumed (it may end the sentence before the next one). The standard
#: library's engine scans for those few characters, so the Python work is per sentence, not per
#: token (on 50,000 generated reports 0.77 s against 0.83 s for a look at every token, and
#: 1.39 s for ``regex`` with look-behinds; counts identical); a colon counts after a label in
#: capitals alone (:func:`_ends_sentence`).
_AFTER_STOP = re.compile(rf"[.!?:][)\]\"']*\s+({_FILLER_WORD})(?=\s+(\S+))")
_TEXT_START = re.compile(rf"\s*({_FILLER_WORD})(?=\s+(\S+))")


def _count_starts(text: str, afters: frozenset[str], counts: dict[ContextKey, Counter[str]]) -> None:
    """Count the first words of *text*'s sentences before a needed right-hand side (``Harrington``
    in ``... intact. Harrington rods are ...``), with the words beyond, as :func:`_count_filler`."""
    first = _TEXT_START.match(text)
    for m in ([first] if first else []) + list(_AFTER_STOP.finditer(text)):
        nxt = m.group(2).lower()
        if nxt not in afters and _word(nxt) not in afters:
            continue
        if text[m.start()] == ":" and m.re is _AFTER_STOP and not _ends_sentence(
                text[max(0, m.start() - 40):m.start() + 1].split()[-1]):
            continue  # a colon after a word in lower case (``Comparison:``) ends no sentence
        after, beyond = _right("", text[m.start(2):m.start(2) + 72].split()[:3])
        bucket = counts.get(("free", "1", SENTENCE_START, after or ""))
        if bucket is not None:
            _tally(bucket, m.group(1), "<s>", beyond)


def _tally(bucket: Counter[str], filler: str, left: str, beyond: str | None) -> None:
    """Count *filler* in a context's *bucket*, and under keys no filler can have (see predict) the
    word beyond the context on its left and the words beyond it on its right (None: none to check)."""
    bucket[filler] += 1
    low = filler.lower()
    bucket[f"{low}\0<{left}"] += 1
    if beyond is not None:
        bucket[f"{low}\0>{beyond}"] += 1


def _count_filler(tokens: list[str], lows: list[str], i: int, n: int, counts: dict[ContextKey, Counter[str]]) -> None:
    """Count the *n* words after token *i*, a needed free context, if they are fillers; and,
    under keys no filler can have (see predict), the words beyond the context on either side.

    Apart from :func:`_count_free` because only the few candidates that context asks for get here.
    """
    words = tokens[i + 1:i + 1 + n]
    glued = lows[i + n][-1] if lows[i + n][-1:] in _PUNCT else ""
    if glued:
        words[-1] = words[-1][:-1]
    if not all(_FILLER.fullmatch(w) for w in words):
        return
    after, beyond = _right(glued, tokens[i + n + 1:i + n + 4])
    bucket = counts.get(("free", str(n), lows[i], after or ""))
    if bucket is None:
        return  # the cheap look in _count_free let through a side that _right keys otherwise
    _tally(bucket, " ".join(words), _outer(lows[i - 1] if i else None, True), beyond)


class RestoreModel:
    """Which word a scrubber took away, judged from the corpus's own unscrubbed sentences.

    For every restorable marker the model notes its context: the word it is glued to
    (``Swan-___``), or the tokens on either side (``pulmonary XXXX are``). It then counts,
    over the whole corpus, which words fill that context where nothing was scrubbed, and
    restores the most frequent one only when it has at least ``min_support`` occurrences and
    a share of at least ``threshold`` of all fillers. It is never asked about names, dates,
    ages or places (the fixer sees to that), and candidates that are themselves markers are
    ignored.
    """

    def __init__(self, threshold: float = 0.9, min_support: int = 3,
                 is_marker: Callable[[str], bool] | None = None) -> None:
        if not 0.0 < threshold <= 1.0:
            raise UsageError(f"restore threshold must lie in (0, 1], not {threshold}")
        self.threshold = threshold
        self.min_support = min_support
        self._is_marker = is_marker or (lambda word: False)
        self._counts: dict[ContextKey, Counter[str]] = {}
        self._compiled: tuple[_Runs, bool, frozenset[str]] | None = None

    @staticmethod
    def context(text: str, start: int, end: int, n: int = 1) -> ContextKey | None:
        """The context of ``n`` adjacent markers spanning ``text[start:end]``; None if it has none.

        Tokens are whitespace-separated, as in :meth:`learn`: the token before the markers and
        the one after them (or the punctuation glued to the last marker).
        """
        left = text[max(0, start - 24):start]
        right = text[end:end + 24]
        if n == 1:
            if m := _GLUE_LEFT.search(left):
                return ("glue-left", m.group(1).lower())
            if m := _GLUE_RIGHT.search(right):
                return ("glue-right", m.group(1).lower())
        if not left[-1:].isspace() and left:
            return None
        before = left.split()
        if right[:1] in tuple(_PUNCT):
            after: str | None = right[0]
        elif right[:1].isspace() or not right:
            after = _right("", right.split(None, 1)[:1])[0]
        else:
            return None
        if before and not _ends_sentence(before[-1]):
            first = _left(before[-1])
        elif n == 1 and after is not None and after not in _PUNCT and (before or not text[:start].strip()):
            first = SENTENCE_START  # a one-word sentence (``XXXX.``) has no context to speak of
        else:
            first = None
        if first is None or after is None:
            return None
        return ("free", str(n), first, after)

    @staticmethod
    def outer(text: str, start: int, end: int, key: ContextKey | None) -> tuple[str, str | None]:
        """What a restore in *key*'s context must also have been seen with. For a free context,
        the words beyond its two tokens (left, right; the right one None where a stop glued to the
        marker ends the sentence, see :func:`_right`), so that every word trigram the restore
        makes occurs in the corpus; for a glued one, ``"="`` and the words either side of the
        glued word, so that the word occurs between the same two."""
        if key is not None and key[0] != "free":
            stem = len(key[1]) + 1
            word = (start - stem, end) if key[0] == "glue-left" else (start, end + stem)
            return "=", _glued_neighbours(text, *word)
        before = text[max(0, start - 48):start].split()
        tail = text[end:end + 72]
        glued = tail[0] if tail[:1] in tuple(_PUNCT) else ""
        right = _right(glued, tail[len(glued):].split())[1]
        if key is not None and key[2] == SENTENCE_START:
            return "<s>", right
        return _outer(before[-2] if len(before) > 1 else None, True), right

    @staticmethod
    def judged_alone(text: str, start: int, end: int, key: ContextKey, before: int | None,
                     after: int | None) -> bool:
        """Whether no other marker (one ending at *before*, one starting at *after*) stands among
        the words a restore in *key*'s context is checked with: two each side of a free context
        (three on the right after a glued comma, :func:`_right`), the neighbour of a glued word."""
        glued_comma = key[0] == "free" and text[end:end + 1] in tuple(",;:")
        left = {"glue-left": 2, "glue-right": 1}.get(key[0], 0 if key[2:3] == (SENTENCE_START,) else 2)
        right = {"glue-left": 1, "glue-right": 2}.get(key[0], 3 if glued_comma else 2)
        return ((before is None or _clear(text[before:start].split()[::-1], not text[before:before + 1].isspace(), left))
                and (after is None or _clear(text[end:after].split(), not text[after - 1:after].isspace(), right)))

    @property
    def needed(self) -> bool:
        """Whether any context is waiting to be learnt."""
        return bool(self._counts)

    def need(self, key: ContextKey) -> None:
        """Ask the model to count fillers for ``key`` in the next :meth:`learn`."""
        if key not in self._counts:
            self._counts[key] = Counter()
            self._compiled = None

    def learn(self, texts: Iterable[str]) -> None:
        """Count the fillers of every needed context in ``texts`` (call per batch, after the survey)."""
        self.merge(self.count(texts))

    def merge(self, counts: Mapping[ContextKey, Counter[str]]) -> None:
        """Add counts made by :meth:`count` (in another process, say) to the model's.

        Merged in corpus order, the result is identical to counting serially, ties included:
        a Counter breaks ties in ``most_common`` by first insertion.
        """
        for key, found in counts.items():
            self._counts[key].update(found)

    def count(self, texts: Iterable[str]) -> dict[ContextKey, Counter[str]]:
        """Fillers of every needed context in ``texts``, counted apart from the model's own counts.

        A text is looked at for glued contexts only if some are needed and it has a hyphen, and
        for free contexts only if some are needed.
        """
        if not self._counts:
            return {}
        counts: dict[ContextKey, Counter[str]] = {key: Counter() for key in self._counts}
        if self._compiled is None:
            self._compiled = self._index()
        runs, glued, starts = self._compiled
        for text in texts:
            if glued and "-" in text:
                _count_glued(text, counts)
            if runs:
                _count_free(text, runs, counts)
            if starts:
                _count_starts(text, starts, counts)
        return {key: found for key, found in counts.items() if found}

    def _index(self) -> tuple[_Runs, bool, frozenset[str]]:
        """For each needed left word, the run lengths needed after it with the right-hand sides
        needed for each; whether glued contexts are needed; the right-hand sides needed after a
        sentence's first word."""
        runs: defaultdict[str, defaultdict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        glued = False
        starts = set()
        for key in self._counts:
            if key[0] != "free":
                glued = True
            elif key[2] == SENTENCE_START:
                starts.add(key[3])
            else:
                runs[key[2]][int(key[1])].add(key[3])
        return ({word: tuple((n, frozenset(a)) for n, a in sorted(by_n.items())) for word, by_n in runs.items()},
                glued, frozenset(starts))

    def fillers(self, key: ContextKey) -> Counter[str]:
        """The words counted in ``key``'s context, and how often (the words beyond it left out)."""
        return Counter({w: n for w, n in self._counts.get(key, Counter()).items() if "\0" not in w})

    def _outnumbered(self, bucket: Counter[str], markers: set[str], word: str, left: str, right: str | None) -> bool:
        """Whether the marker fills *word*'s context, with the words beyond it on either side, more
        often than *word* does (and at least ``min_support`` times).

        A dictionary scrubber takes a word wherever it stands: Open-I never spells ``likely``,
        ``nodes``, ``bones``, ``arch``, ``signs``, ``vessels`` or ``hila``, so what a marker hid is
        a word the corpus never shows, and a restore is right only in sense. A context whose
        commonest fill is the marker is one whose usual word was taken, and the spelled word is its
        rarer rival, of another sense as often as not: a template's closing ``The XXXX are ...``
        comes after its lungs were described (``the lungs`` there would say of an opacity's lungs
        that they are normal), and ``pulmonary XXXX are normal``, 55 times against one
        ``vasculature`` there, was the vessels or the hila (Open-I writes ``pulmonary XXXX and
        vasculature`` 16 times). *markers*: the context's fillers that are markers, lower-cased."""
        for side, beyond in (("<", left), (">", right)):
            if beyond is None:
                continue
            taken = sum(bucket.get(f"{m}\0{side}{beyond}", 0) for m in markers)
            if taken >= self.min_support and taken > bucket.get(f"{word}\0{side}{beyond}", 0):
                return True
        return False

    def predict(self, key: ContextKey | None, outer: tuple[str, str | None] | None = None) -> tuple[str | None, float]:
        """The restored word for ``key`` and its share among fillers; (None, share) below threshold.

        With ``outer`` (the words beyond a free context, :meth:`outer`), the word must also have
        been seen between them and the context: ``The XXXX are intact`` has ``lungs`` as the
        filler of ``the _ are``, but ``lungs are intact`` never occurs, so nothing is restored.
        """
        if key is None:
            return None, 0.0
        bucket = self._counts.get(key)
        if not bucket:
            return None, 0.0
        by_word: Counter[str] = Counter()
        surface: dict[str, Counter[str]] = defaultdict(Counter)
        markers: set[str] = set()
        for word, n in self.fillers(key).items():
            low = word.lower()
            if self._is_marker(word):
                markers.add(low)
                continue
            if low in _NOT_FILLERS:
                continue
            by_word[low] += n
            surface[low][word] += n
        if not by_word:
            return None, 0.0
        # Words that mean the same share their support; the commonest of them is written.
        by_sense: Counter[str] = Counter()
        for word, n in by_word.items():
            by_sense[_SENSE.get(word, word)] += n
        sense, count = by_sense.most_common(1)[0]
        share = count / sum(by_word.values())
        if count < self.min_support or share < self.threshold:
            return None, share
        best = max((w for w in by_word if _SENSE.get(w, w) == sense), key=lambda w: by_word[w])
        if key[2:3] == (SENTENCE_START,) and best in _STATUS_WORDS:
            return None, share
        if outer is not None:
            left, right = outer
            if left == "=":
                if not bucket.get(f"{best}\0={right}"):
                    return None, share
            elif not bucket.get(f"{best}\0<{left}") or (right is not None and not bucket.get(f"{best}\0>{right}")):
                return None, share
            elif self._outnumbered(bucket, markers, best, left, right):
                return None, share
        return surface[best].most_common(1)[0][0], share
