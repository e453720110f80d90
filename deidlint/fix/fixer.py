"""The fixer: plan each trace's action, resolve replacements, rebuild each report sentence by sentence."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from deidlint import meaning
from deidlint.engine import Match, Scanner
from deidlint.errors import UsageError
from deidlint.fix.frames import ADMINISTRATIVE, Repair, content_free, repair
from deidlint.fix.guard import Slot, cue_slot, hedge_slot, judge, prime_residue
from deidlint.fix.kinds import PHI_KINDS, PLACEHOLDER, RESTORABLE, kinds_of
from deidlint.fix.rebuild import drop_orphan_headers, join_units
from deidlint.fix.remove_frames import CONJUNCT_REWRITES
from deidlint.fix.restore import ContextKey, RestoreModel
from deidlint.fix.sentences import Segmenter, Unit
from deidlint.fix.stats import Drop, FixStats
from deidlint.fix.surrogates import Surrogates
from deidlint.rules import STRATEGIES, UNRESOLVED, Rule


@dataclass(slots=True)
class _Step:
    """One trace (or a run of adjacent over-scrubbed words) and what to do with it."""

    start: int
    end: int
    rules: tuple[Rule, ...]
    kind: str
    action: str
    key: ContextKey | None = None
    outer: tuple[str, str | None] | None = None
    #: The hedge or negation slot a marker of a generic kind sits in (:func:`hedge_slot`).
    slot: Slot | None = None
    replacement: str | None = None


class Fixer:
    """Applies strategies to reports; one instance per run (it holds the restore statistics).

    ``strategy`` applies to every rule not named in ``strategies`` (selectors as in config:
    code prefix, rule name or pack). Under ``remove``, ``neutral`` and ``surrogate``, markers
    that hide ordinary words (kind ``word``, by rule or by context) are restored when the corpus
    is confident and removed otherwise: they are not identifiers, and neither a category word
    nor a fake value exists for ``vasculature``. A per-rule entry in ``strategies`` is applied
    literally. ``restore`` itself restores words and unresolved markers and removes identifiers.
    """

    def __init__(self, scanner: Scanner, strategy: str | None = None, strategies: Mapping[str, str] | None = None,
                 *, seed: int = 0, mask_token: str = "[PHI]", restore_threshold: float = 0.9,
                 segmenter: str = "rules", unresolved: str = "drop") -> None:
        for s in (*([] if strategy is None else [strategy]), *(strategies or {}).values()):
            if s not in STRATEGIES:
                raise UsageError(f"unknown strategy {s!r} (one of {', '.join(STRATEGIES)})")
        for selector in strategies or {}:
            if not any(r.selected_by(selector) for r in scanner.rules):
                raise UsageError(f"strategies: unknown rule selector {selector!r}")
        if not mask_token.strip() or "\n" in mask_token:
            raise UsageError("the mask token must be a non-empty single line")
        self.scanner = scanner
        self.strategy = strategy
        self.strategies = dict(strategies or {})
        self.seed = seed
        self.mask_token = mask_token
        if unresolved not in UNRESOLVED:
            raise UsageError(f"unknown --unresolved {unresolved!r} (one of {', '.join(UNRESOLVED)})")
        self.unresolved = unresolved
        self._held: dict[int, list[str]] = {}
        self.segmenter = Segmenter(segmenter)
        self.model = RestoreModel(restore_threshold, is_marker=self._is_marker)
        self.stats = FixStats()
        self._by_rule: dict[str, tuple[str, bool]] = {}

    @lru_cache(maxsize=4096)  # noqa: B019 - one Fixer per run; the cache dies with it
    def _is_marker(self, word: str) -> bool:
        return bool(self.scanner.scan(word))

    def strategy_for(self, rule: Rule) -> tuple[str, bool]:
        """The rule's strategy, and whether a per-rule entry set it (then it applies literally).

        A per-rule entry in ``strategies`` wins; else ``strategy`` (``--strategy`` or config
        ``strategy``), when one was given; else the rule's own ``fix``, which is what its pack's
        author judged right for that marker. When several entries select a rule, the most
        specific wins: its code or name, then the longest code prefix, then its pack.
        """
        cached = self._by_rule.get(rule.code)
        if cached is None:
            best, score = None, -1
            for selector, strategy in self.strategies.items():
                if not rule.selected_by(selector):
                    continue
                s = 1000 if selector in (rule.code, rule.name) else len(selector) if rule.code.startswith(selector) else 0
                if s > score:
                    best, score = strategy, s
            cached = (best, True) if best is not None else (self.strategy or rule.fix, False)
            self._by_rule[rule.code] = cached
        return cached

    # -- planning --------------------------------------------------------------------------

    def _plan(self, text: str, matches: Sequence[Match]) -> list[_Step]:
        """Decide each trace's action; adjacent restorable words form one step."""
        kinds = kinds_of(text, matches)
        steps: list[_Step] = []
        for match, kind in zip(matches, kinds, strict=True):
            strategy, explicit = self.strategy_for(match.rule)
            if strategy == "mask":
                action = "mask"
            elif kind in RESTORABLE and (not explicit or strategy == "restore"):
                action = "restore"
            elif strategy == "surrogate" and kind in PHI_KINDS:
                action = "surrogate"
            elif strategy == "neutral":
                action = "neutral"
            else:
                action = "remove"
            prev = steps[-1] if steps else None
            gap = text[prev.end:match.start] if prev is not None else ""
            if prev is not None and prev.action == action and _one_step(action, kind, prev, gap):
                prev.end = match.end
                prev.rules += (match.rule,)
                if gap in ("/", "-") and action == "restore":
                    prev.action = "remove"  # a value or a word in two parts: nothing to learn it from
                continue
            steps.append(_Step(match.start, match.end, (match.rule,), kind, action))
        for k, step in enumerate(steps):
            if step.action == "restore":
                key = RestoreModel.context(text, step.start, step.end, len(step.rules))
                # A restore is judged by the words around it; another marker among them will be
                # replaced by a word not known yet (``XXXX-year-old female XXXX.``: ``adult``
                # under neutral), so the restore cannot be judged and goes the remove way.
                if key is not None and not RestoreModel.judged_alone(
                        text, step.start, step.end, key, steps[k - 1].end if k else None,
                        steps[k + 1].start if k + 1 < len(steps) else None):
                    key = None
                step.key = key
                step.outer = RestoreModel.outer(text, step.start, step.end, key)
        return steps

    def _fixable(self, text: str, matches: Sequence[Match]) -> list[Match]:
        """Matches a fix acts on: trace rules only, and not the user's own mask tokens."""
        token = self.mask_token
        return [m for m in matches if m.rule.fixable and not (
            (self.unresolved == "mask" or self.strategy_for(m.rule)[0] == "mask") and text[m.start:m.end] == token)]

    @property
    def may_restore(self) -> bool:
        """Whether any rule can be restored, so that the corpus passes of ``restore`` are needed."""
        return any(s == "restore" or (s != "mask" and not explicit)
                   for s, explicit in (self.strategy_for(r) for r in self.scanner.rules if r.fixable))

    def survey(self, texts: Sequence[str]) -> None:
        """First pass over a corpus: note the contexts of markers that restore will ask about."""
        for key in self.contexts(texts):
            self.model.need(key)

    def contexts(self, texts: Sequence[str]) -> list[ContextKey]:
        """The restore contexts of a batch's markers, in order of appearance (duplicates kept)."""
        by_index: defaultdict[int, list[Match]] = defaultdict(list)
        for i, m in self.scanner.scan_many(texts):
            by_index[i].append(m)
        # Only a marker of a generic kind (a word, or unknown until its context is read) can be
        # restored: a report without one has no context to survey.
        return [step.key for i, matches in by_index.items() if any(m.rule.kind in RESTORABLE for m in matches)
                for step in self._plan(texts[i], self._fixable(texts[i], matches)) if step.key is not None]

    def learn(self, texts: Iterable[str]) -> None:
        """Second pass: count the fillers of the surveyed contexts in the corpus."""
        self.model.learn(texts)

    # -- fixing ----------------------------------------------------------------------------

    def fix_batch(self, texts: Sequence[str], ignored: frozenset[str] = frozenset()) -> list[str]:
        """Fixed texts for a batch, in order (an unchanged text is returned as the same object)."""
        out = list(texts)
        self.stats.records += len(texts)
        found = self._scan(texts, range(len(texts)), ignored)
        todo = sorted(found)
        self._fix_rounds(out, found, ignored)
        self.stats.records_changed += sum(out[i] != texts[i] for i in todo)
        return out

    def fix_text(self, text: str, matches: Sequence[Match] | None = None,
                 ignored: frozenset[str] = frozenset()) -> str:
        """One report fixed; ``matches`` are the scanner's (scanned here when None)."""
        out = [text]
        found = self._scan(out, [0], ignored) if matches is None else {0: list(matches)} if matches else {}
        self._fix_rounds(out, found, ignored)
        return out[0]

    def _scan(self, texts: Sequence[str], indices: Iterable[int], ignored: frozenset[str]) -> dict[int, list[Match]]:
        """Matches per text for ``texts[i]``, i in ``indices``, batched through one scan."""
        indices = list(indices)
        found: defaultdict[int, list[Match]] = defaultdict(list)
        for j, m in self.scanner.scan_many([texts[i] for i in indices]):
            if m.rule.code not in ignored:
                found[indices[j]].append(m)
        return found

    def _fix_rounds(self, texts: list[str], found: dict[int, list[Match]], ignored: frozenset[str]) -> None:
        """Fix ``texts`` in place. Results are rescanned in one batch; a repair that exposed a new
        marker is fixed in turn (twice at most), and whatever is left counts as remaining. A
        sentence kept for review (``unresolved="keep"``) is held: later rounds leave its markers."""
        self._held = {}
        for _ in range(3):
            work = {i: f for i, m in found.items() if (f := self._unheld(i, texts[i], self._fixable(texts[i], m)))}
            if not work:
                break
            repair: dict[int, list[_Step]] = {}
            for i, fixable in work.items():
                steps = self._plan(texts[i], fixable)
                if self._resolve(texts[i], steps):
                    repair[i] = steps
                else:
                    texts[i] = _splice(texts[i], steps, 0, len(texts[i]))
            units = self.segmenter.units([texts[i] for i in repair],
                                         [[(s.start, s.end) for s in steps] for steps in repair.values()])
            plans = [(i, steps, _merge_units(found_units, steps))
                     for (i, steps), found_units in zip(repair.items(), units, strict=True)]
            # The residue pack scans every sentence the guard will judge in one batch: one scan
            # per sentence would cost more than the whole rest of the fix.
            bodies = [{k: self._candidate(texts[i], unit, inside) for k, unit, inside in _by_unit(merged, steps)}
                      for i, steps, merged in plans]
            prime_residue([piece for (i, _, merged), made in zip(plans, bodies, strict=True) for k, body in made.items()
                           for piece in (texts[i][merged[k].body:merged[k].end], body.text)])
            for (i, steps, merged), made in zip(plans, bodies, strict=True):
                texts[i] = self._rebuild(i, texts[i], merged, steps, made)
            again = self._scan(texts, work, ignored)
            found = {**{i: m for i, m in found.items() if i not in work}, **again}
        for i, matches in found.items():
            fixable = self._fixable(texts[i], matches)
            for m in matches:
                if m in fixable or not m.rule.fixable:
                    self.stats.remaining[m.rule.code] += 1

    def _unheld(self, record: int, text: str, matches: list[Match]) -> list[Match]:
        held = self._held.get(record)
        if not held:
            return matches
        spans = [(at, at + len(s)) for s in held if (at := text.find(s)) >= 0]
        return [m for m in matches if not any(a <= m.start and m.end <= b for a, b in spans)]

    def _resolve(self, text: str, steps: list[_Step]) -> bool:
        """Fill in replacements (restored words, masks, surrogates); True if sentences need repair."""
        stats = self.stats
        surrogates: Surrogates | None = None
        sentence_level = False
        for step in steps:
            stats.traces += len(step.rules)
            # Here, not in _plan: the survey pass needs no slots. A value in two parts
            # (``XXXX/XXXX``) is no ordinary word: neither a hedge nor a head noun.
            if step.kind in RESTORABLE and "/" not in text[step.start:step.end]:
                step.slot = hedge_slot(text, step.start, step.end)
            # A slot's word fills one marker: a run of them hid more than a hedge (``Follow-up XXXX
            # XXXX XXXX to be arranged``), and its sentence goes the unresolved way.
            if step.action == "restore" and step.slot is not None and step.slot.fill and len(step.rules) == 1:
                step.action = "hedge"
                step.replacement = _cased(step.slot.fill, text, step.start, step.end)
            elif step.action == "restore":
                word, _ = self.model.predict(step.key, step.outer)
                if word is not None:
                    step.replacement = _cased(word, text, step.start, step.end)
                    stats.restored += 1
                else:
                    step.action = "remove"
                    stats.restore_fallbacks += 1
            elif step.action == "mask":
                step.replacement = self.mask_token
            elif step.action == "surrogate":
                surrogates = surrogates or Surrogates(self.seed, text)
                step.replacement = surrogates.value(step.kind, text[step.start:step.end], text, step.start, step.end)
            if step.action in ("remove", "neutral", "restore", "hedge"):
                sentence_level = True  # judged sentence by sentence (a restore can leave residue too)
            for rule in step.rules:
                stats.by_rule[(rule.code, step.action)] += 1
        return sentence_level

    def _rebuild(self, record: int, text: str, units: list[Unit], steps: list[_Step],
                 bodies: dict[int, Repair]) -> str:
        """Reassemble the report: untouched units verbatim, repaired ones rewritten when the guard
        accepts the repair, the others as ``unresolved`` says. ``bodies`` are the repaired
        bodies by unit index, made before the round's one residue scan."""
        new: dict[int, str] = {}
        moved: dict[int, tuple[str, str]] = {}
        for i, unit, inside in _by_unit(units, steps):
            original = text[unit.body:unit.end]
            made, why = self._repair(text, unit, inside, bodies[i])
            if why is not None and any(s.action == "restore" for s in inside):
                # A restore the sentence cannot take (the corpus's own wreckage, ``female with.``)
                # goes the remove way before the sentence counts as unresolved.
                removed = [replace(s, action="remove", replacement=None) if s.action == "restore" else s
                           for s in inside]
                made, why = self._repair(text, unit, removed)
            if why is None:
                body = made.text
                new[i] = text[unit.start:unit.body] + body if body else ""
                if body and (made.before or made.after):
                    # A break before a list number would part the number from its sentence.
                    moved[i] = (made.before if unit.body == unit.start else "", made.after)
                if not body:
                    self._note(Drop(record, unit.start, unit.end, "administrative", False, "dropped"))
                elif not CONJUNCT_REWRITES.isdisjoint(made.fired):
                    self._note(Drop(record, unit.start, unit.end, "conjunct without its noun",
                                    _clinical(original, _splice(text, inside, unit.body, unit.end)), "shortened"))
                continue
            clinical = _clinical(original, _splice(text, inside, unit.body, unit.end))
            if self.unresolved == "drop" or not clinical:
                new[i] = ""
                self._note(Drop(record, unit.start, unit.end, why if clinical else "administrative", clinical,
                                "dropped"))
            elif self.unresolved == "keep":
                new[i] = text[unit.start:unit.end]
                self._held.setdefault(record, []).append(new[i])
                self._note(Drop(record, unit.start, unit.end, why, True, "kept"))
            else:
                masked = [replace(step, replacement=self.mask_token, action="mask")
                          if step.action in ("remove", "neutral") else step for step in inside]
                new[i] = text[unit.start:unit.body] + _splice(text, masked, unit.body, unit.end)
                self._note(Drop(record, unit.start, unit.end, why, True, "masked"))
        drop_orphan_headers(text, units, new)
        return join_units(text, units, new, moved)

    def _candidate(self, text: str, unit: Unit, inside: list[_Step]) -> Repair:
        """The repaired body of one unit, before the guard has judged it (spliced alone when no
        step removes or neutralises: a restore, mask or surrogate leaves the layout as it was).

        A sentence is repaired the ``neutral`` way when one of its traces is under ``neutral`` or
        ``surrogate``, also where that trace itself goes the remove way (a marker of unknown
        kind): those strategies keep who was told and what was compared, which ``remove`` drops."""
        body = _splice(text, inside, unit.body, unit.end)
        if any(s.action in ("remove", "neutral") for s in inside):
            keeps = any(s.action == "neutral" or self.strategy_for(rule)[0] in ("neutral", "surrogate")
                        for s in inside for rule in s.rules)
            return repair(body, neutral=keeps)
        return Repair(body, ())

    def _repair(self, text: str, unit: Unit, inside: list[_Step],
                made: Repair | None = None) -> tuple[Repair, str | None]:
        """The repaired body of one unit (``made`` when already made), and why the guard rejects it
        (None when it accepts)."""
        if made is None:
            made = self._candidate(text, unit, inside)
        reading = _splice(text, [s for s in inside if s.action in ("restore", "hedge")], unit.body, unit.end)
        removed = [s for s in inside if s.action == "remove" and s.kind in RESTORABLE]
        why = next((f"slot: {s.slot.name}" for s in removed if s.slot is not None and not s.slot.deletable), None)
        # The cue check reads offsets in the reading, which equal the original's only up to the
        # first restored or hedge word; a marker after one is not checked.
        if why is None and any(cue_slot(reading, s.start - unit.body, s.end - unit.body) for s in removed
                               if not any(r.start < s.start for r in inside if r.action in ("restore", "hedge"))):
            why = "slot: a finding's negation or hedge"
        return made, why or judge(text[unit.body:unit.end], reading, made.text)

    def _note(self, drop: Drop) -> None:
        self.stats.sentences[(drop.action, drop.clinical, drop.reason)] += 1
        self.stats.drops.append(drop)


def _by_unit(units: list[Unit], steps: Sequence[_Step]) -> Iterator[tuple[int, Unit, list[_Step]]]:
    """Each unit that holds steps, with its index and those steps (units and steps sorted by position)."""
    j = 0
    for i, unit in enumerate(units):
        inside = []
        while j < len(steps) and steps[j].start < unit.end:
            inside.append(steps[j])
            j += 1
        if inside:
            yield i, unit, inside


def _one_step(action: str, kind: str, prev: _Step, gap: str) -> bool:
    """Whether a trace continues the step before it: over-scrubbed words in a row (``XXXX XXXX``,
    restored as one phrase, three at most), or two markers of one kind joined by a slash, which is
    how Open-I writes a month and a day (``XXXX/XXXX``: one date, one surrogate, `a prior study`,
    and no slash left behind; a mask keeps both, as it keeps every separator); and two ordinary
    words joined by a hyphen, one hyphenated word (``an elevated XXXX-XXXX.``: never ``-`` left)."""
    if gap == "/":
        return action != "mask" and kind == prev.kind
    if gap == "-":
        return action == "restore" and kind == prev.kind
    return action == "restore" and len(prev.rules) < 3 and gap == " "


def _clinical(sentence: str, spliced: str) -> bool:
    """Whether a sentence says something clinical: a finding, or words beyond a comparison's or an
    administrative note's (``spliced`` is the sentence with its markers as placeholders)."""
    if meaning.mentions(sentence):
        return True
    return not (ADMINISTRATIVE.search(spliced) or content_free(spliced))


def _sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 4):pos].rstrip()
    return not before or before[-1] in ".!?:"


#: The words either side of a marker, to tell a phrase written in capitals (``XXXX LOSS``) from
#: a section label after it (``productive XXXX FINDINGS:``).
_NEXT_WORD = re.compile(r"\s+([A-Za-z]{2,})\b(?!:)")
_LAST_WORD = re.compile(r"([A-Za-z]+)[^A-Za-z]*$")


def _cased(word: str, text: str, start: int, end: int) -> str:
    """*word* as it stands in the marker's place ``text[start:end]``: in capitals in a phrase in
    capitals (``WEIGHT LOSS``, never ``Weight LOSS``), capitalised at a sentence's start."""
    after = _NEXT_WORD.match(text, end)
    before = _LAST_WORD.search(text, max(0, start - 30), start)
    if (after is not None and after.group(1).isupper() and word.islower()
            and (before is None or not any(c.islower() for c in before.group(1)))):
        return word.upper()
    if _sentence_start(text, start) and word[:1].islower():
        return word[0].upper() + word[1:]
    return word


def _splice(text: str, steps: Sequence[_Step], start: int, end: int) -> str:
    """``text[start:end]`` with each step's replacement or placeholder. Adjacent masks stay apart,
    separators kept (``XXXX, XXXX`` -> ``[PHI], [PHI]``): a mask shows where each trace was."""
    out: list[str] = []
    pos = start
    for step in steps:
        out.append(text[pos:step.start])
        out.append(step.replacement if step.replacement is not None else PLACEHOLDER[step.kind])
        pos = step.end
    out.append(text[pos:end])
    return "".join(out)


def _merge_units(units: list[Unit], steps: Sequence[_Step]) -> list[Unit]:
    """Join units that a trace straddles (a tag broken across a sentence split)."""
    if not units:
        return units
    out = [units[0]]
    k = 0
    for unit in units[1:]:
        last = out[-1]
        while k < len(steps) and steps[k].end <= last.end:
            k += 1
        if k < len(steps) and steps[k].start < last.end < steps[k].end:
            out[-1] = Unit(last.start, last.body, unit.end, last.para, unit.header)
            continue
        out.append(unit)
    return out


# -- public helpers -----------------------------------------------------------------------------------


def fix_text(text: str, strategy: str = "remove", *, seed: int = 0, mask_token: str = "[PHI]",
             fixer: Fixer | None = None) -> str:
    """One report fixed with the built-in rules (or with ``fixer``'s rules and statistics).

    Without a fixer, ``restore`` has only this one text to learn from; use :func:`fix_texts`
    for a corpus.
    """
    return fix_texts([text], strategy, seed=seed, mask_token=mask_token, fixer=fixer)[0]


def fix_texts(texts: Sequence[str], strategy: str, *, seed: int = 0, mask_token: str = "[PHI]",
              fixer: Fixer | None = None) -> list[str]:
    """Clean a list of prompts with the built-in rules; ``restore`` learns from ``texts`` themselves.

    This is the entry point for code that holds reports in memory (the ``verify`` extra cleans
    training prompts with it). Output order matches input order; unchanged texts come back as
    they were.
    """
    if fixer is None:
        from deidlint.api import scanner

        fixer = Fixer(scanner(), strategy, seed=seed, mask_token=mask_token)
    texts = list(texts)
    fixer.survey(texts)
    fixer.learn(texts)
    return fixer.fix_batch(texts)
