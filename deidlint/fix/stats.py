"""What a fix did: the summary, ``--stats-json`` and the sentences ``--report-drops`` lists."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple


class Drop(NamedTuple):
    """A sentence a fix could not repair soundly, or dropped as administrative; never its text.

    ``record`` is the text's index in its batch (the run names the record); ``start``/``end`` are
    offsets of the sentence in the text as the repair saw it (the input, unless an earlier round
    exposed a new marker); ``action`` is ``dropped``, ``kept``, ``masked``, or ``shortened`` (the
    sentence stays without a conjunct whose noun the scrubber took: ``The aorta and osseous XXXX
    are normal`` -> ``The aorta is normal``)."""

    record: int
    start: int
    end: int
    reason: str
    clinical: bool
    action: str


@dataclass(slots=True)
class FixStats:
    """What a fix did, summed over records: printed as the summary and written by ``--stats-json``."""

    records: int = 0
    records_changed: int = 0
    traces: int = 0
    #: (rule code, action actually applied) -> count; actions are the strategy names, and ``hedge``
    #: (a hedge slot filled with its word).
    by_rule: Counter[tuple[str, str]] = field(default_factory=Counter)
    restored: int = 0
    restore_fallbacks: int = 0
    #: (action, clinical, reason) -> sentences: what the unresolved and administrative sentences became.
    sentences: Counter[tuple[str, bool, str]] = field(default_factory=Counter)
    #: The sentences themselves, for ``--report-drops``; a run moves them out batch by batch.
    drops: list[Drop] = field(default_factory=list)
    #: Findings still in the output, by rule: report-only rules, or traces no strategy could fix.
    remaining: Counter[str] = field(default_factory=Counter)

    def count(self, action: str, clinical: bool) -> int:
        return sum(n for (a, c, _), n in self.sentences.items() if a == action and c == clinical)

    def total(self, action: str) -> int:
        """Sentences that met *action*, clinical or administrative."""
        return self.count(action, True) + self.count(action, False)

    def summary(self, dry_run: bool = False) -> str:
        """The human summary: per rule and action, restore's outcome, sentences, what remains."""
        verb = "would fix" if dry_run else "fixed"
        lines = [f"{verb} {self.traces} trace(s) in {self.records_changed} of {self.records} record(s)"]
        per_rule: dict[str, list[str]] = defaultdict(list)
        for (code, action), n in sorted(self.by_rule.items()):
            per_rule[code].append(f"{action} {n}")
        lines += [f"  {code}  {', '.join(actions)}" for code, actions in per_rule.items()]
        if self.restored or self.restore_fallbacks:
            lines.append(f"restored {self.restored} over-scrubbed word(s); {self.restore_fallbacks} without "
                         "support in the corpus")
        if n := self.count("dropped", False):
            lines.append(f"dropped {n} administrative or comparison-only sentence(s)")
        for action, what in (("dropped", "dropped"), ("kept", "kept for review, markers left in"),
                             ("masked", "masked")):
            if n := self.count(action, True):
                why = Counter({r: k for (a, c, r), k in self.sentences.items() if a == action and c})
                lines.append(f"{what} {n} sentence(s) with clinical content that no repair kept sound "
                             f"({', '.join(f'{r} {k}' for r, k in why.most_common())})")
        if n := self.total("shortened"):
            lines.append(f"shortened {n} sentence(s) by a conjunct whose noun a marker hid (`The aorta and "
                         "osseous XXXX are normal` -> `The aorta is normal`)")
        remaining = sum(self.remaining.values())
        lines.append(f"{remaining} finding(s) remain" + (
            f": {', '.join(f'{c} {n}' for c, n in sorted(self.remaining.items()))}" if remaining else ""))
        return "\n".join(lines)

    def add(self, other: FixStats) -> None:
        """Add another batch's statistics (from a worker process, say) to these; not its drops."""
        self.records += other.records
        self.records_changed += other.records_changed
        self.traces += other.traces
        self.by_rule.update(other.by_rule)
        self.restored += other.restored
        self.restore_fallbacks += other.restore_fallbacks
        self.sentences.update(other.sentences)
        self.remaining.update(other.remaining)

    def as_dict(self) -> dict[str, object]:
        by_rule: dict[str, dict[str, int]] = defaultdict(dict)
        for (code, action), n in sorted(self.by_rule.items()):
            by_rule[code][action] = n
        sentences: dict[str, dict[str, int]] = defaultdict(dict)
        for (action, clinical, reason), n in sorted(self.sentences.items()):
            sentences[f"{action} {'clinical' if clinical else 'administrative'}"][reason] = n
        return {
            "records": self.records, "records_changed": self.records_changed, "traces": self.traces,
            "by_rule": dict(by_rule), "restored": self.restored, "restore_fallbacks": self.restore_fallbacks,
            "sentences_dropped": self.total("dropped"),
            "clinical_sentences_dropped": self.count("dropped", True),
            "sentences_kept_for_review": self.count("kept", True), "sentences_masked": self.count("masked", True),
            "sentences_shortened": self.total("shortened"),
            "sentences": dict(sentences), "remaining": sum(self.remaining.values()),
            "remaining_by_rule": dict(sorted(self.remaining.items())),
        }
