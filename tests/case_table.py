"""The MIMIC-style case table (tests/data/fix_cases.toml): inputs and what each strategy must write.

Every expected output was written as a radiologist would accept it before the fixer ran on
it, so the table is the target of ``fix``, not a record of what it does. Surrogate outputs hold
slots (``{date}``, ``{name}``, ...) for values the fixer invents; everything else is compared
byte for byte. Shared by tests/test_fix_cases.py and benchmarks/fix_quality.py.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from deidlint.rules import STRATEGIES

CASES = Path(__file__).resolve().parent / "data" / "fix_cases.toml"
KNOWN_FAILURES = Path(__file__).resolve().parent / "data" / "fix_cases_known_failures.toml"
#: What a surrogate slot may hold: the shapes of fake values, not any particular generator's.
SLOTS = {
    "date": r"(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}(?:-\d{2,4})?|"
            r"[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?)",
    "time": r"\d{1,2}[:.]\d{2}\s?(?:[ap]\.m\.|[ap]m|[AP]M)",
    "clock": r"\d{1,2}:\d{2}",
    "hhmm": r"(?:[01]\d|2[0-3])[0-5]\d",
    "hour": r"\d{1,2}",
    "minutes": r"\d{2}",
    "year": r"\d{4}",
    "age": r"\d{1,3}",
    "name": r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+)?",
    "place": r"[A-Z][\w.'-]*(?: [A-Z&][\w.'-]*){0,4}",
}
_SLOT = re.compile(r"\{(" + "|".join(SLOTS) + r")\}")
_NEXT_WORD = re.compile(r" ([A-Za-z]+)\b")
SLOTS_FREE = re.compile(r"\{(?:" + "|".join(SLOTS) + r")\}")


@dataclass(frozen=True)
class Case:
    id: str
    context: str
    input: str
    expected: dict[str, str]
    corpus: tuple[str, ...]
    why: str

    def pattern(self, strategy: str) -> re.Pattern[str]:
        """The expected output as a regular expression: literal text, slots as value shapes."""
        expected = self.expected[strategy]
        parts, pos = [], 0
        for m in _SLOT.finditer(expected):
            parts += [re.escape(expected[pos:m.start()]), SLOTS[m.group(1)]]
            # A value never ends with the word the text goes on with (``{place} Hospital`` is not
            # ``Ridgecrest Memorial Hospital Hospital``): the slot shapes alone would accept it.
            if follows := _NEXT_WORD.match(expected, m.end()):
                parts.append(f"(?<!(?i:{re.escape(follows.group(1))}))")
            pos = m.end()
        parts.append(re.escape(expected[pos:]))
        return re.compile("".join(parts))

    def accepts(self, strategy: str, output: str) -> bool:
        return self.pattern(strategy).fullmatch(output) is not None


def load_cases(path: Path = CASES) -> list[Case]:
    with path.open("rb") as f:
        raw = tomllib.load(f)["case"]
    cases = []
    for c in raw:
        expected = {s: c[s] for s in STRATEGIES if s in c}
        expected.setdefault("restore", expected["remove"])
        cases.append(Case(c["id"], c.get("context", ""), c["input"], expected, tuple(c.get("corpus", ())), c.get("why", "")))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def run_case(case: Case, strategy: str) -> str:
    """``fix`` on the case alone; ``restore`` learns from the case's corpus (each line three times)."""
    from deidlint.fix import fix_texts

    return fix_texts([case.input, *case.corpus * 3], strategy, seed=0)[0]


def known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """``case-id/strategy`` -> why today's fix fails it (the next issue turns these on)."""
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        return dict(tomllib.load(f)["known_failures"])


def diagnose(case: Case, strategy: str, output: str) -> str:
    """Why *output* is not the expected repair, named by the instruments (never quoting text)."""
    from deidlint import meaning
    from deidlint.api import scanner
    from deidlint.corpus import sentences

    reasons = []
    if scanner().scan(output) and strategy != "mask":
        reasons.append("a trace is left")
    residue = scanner(("residue",))
    added = Counter(m.rule.code for m in residue.scan(output)) - Counter(m.rule.code for m in residue.scan(case.input))
    if added:
        reasons.append("residue " + ", ".join(sorted(added)))
    expected = SLOTS_FREE.sub("X", case.expected[strategy])
    if changed := meaning.changed(expected, output):
        reasons.append("meaning changed (" + ", ".join(changed) + ")")
    clean = [s for s in sentences(case.input) if not scanner().scan(s)]
    if any(s not in sentences(output) for s in clean):
        reasons.append("a trace-free sentence changed")
    if len(sentences(output)) < len(sentences(case.expected[strategy])):
        reasons.append("a sentence the expected output keeps is dropped")
    if not reasons:
        want, got = SLOTS_FREE.sub("X", case.expected[strategy]).split(), output.split()
        words = difflib.SequenceMatcher(None, want, got, autojunk=False).get_opcodes()
        edits = [" ".join([*("-" + w for w in want[a:b]), *("+" + w for w in got[c:d])]) for op, a, b, c, d in words
                 if op != "equal"]
        reasons.append("wording: " + " | ".join(edits)[:120] if edits else "layout (white space) differs")
    return "; ".join(reasons).replace('"', "'").replace("\\", "/")


def record_known_failures(path: Path = KNOWN_FAILURES) -> int:
    """Rewrite the known-failures file from today's fix: ``python -m tests.case_table``."""
    lines = ["# Cases today's `fix` fails, with the instruments' diagnosis. Written by",
             "# `python -m tests.case_table`; tests/test_fix_cases.py marks each expected-to-fail",
             "# (strictly: a case that starts to pass fails the suite until its line goes).",
             "", "[known_failures]"]
    failures = 0
    for case in load_cases():
        for strategy in STRATEGIES:
            output = run_case(case, strategy)
            if not case.accepts(strategy, output):
                failures += 1
                lines.append(f'"{case.id}/{strategy}" = "{diagnose(case, strategy, output)}"')
    path.write_text("\n".join(lines) + "\n")
    return failures


if __name__ == "__main__":
    print(f"{record_known_failures()} known failures written to {KNOWN_FAILURES}")
