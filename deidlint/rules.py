"""Rule packs: data files (TOML) that describe de-identification traces.

A pack is data, never code: it is parsed with :mod:`tomllib`, every field is checked, and the
only thing executed from it is a regular expression, compiled by the ``regex`` module and
always matched under a time limit (see :mod:`deidlint.engine`). Each rule carries the examples
that must and must not match, so a pack documents and tests itself the way yamllint's rules do.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import regex

from deidlint.errors import UsageError
from deidlint.smallfiles import read_small

#: Placeholder kinds a rule may declare. The fixer uses them to choose a repair (a date is
#: dropped with its preposition, an over-scrubbed ``word`` can be restored, and so on).
KINDS = ("name", "date", "time", "age", "place", "id", "phone", "word", "unknown")
SEVERITIES = ("error", "warning", "info")
STRATEGIES = ("remove", "neutral", "surrogate", "mask", "restore")
#: What ``fix`` does with a sentence that no repair keeps sound (``--unresolved``): drop it, counted
#: and reported; keep it with its markers for a person to review (the run exits 1); or mask them.
UNRESOLVED = ("drop", "keep", "mask")

_CODE = regex.compile(r"[A-Z]{1,4}[0-9]{3,4}")
_NAME = regex.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_NUMBERED_BACKREF = regex.compile(r"(?<!\\)(?:\\\\)*\\(?:[1-9]|g<\d+>)")
_ALLOWED_TOP_KEYS = {"pack", "rules"}
_ALLOWED_PACK_KEYS = {"name", "description", "triggers", "default"}
#: Where tomllib says a syntax error is: "(at line 3, column 5)".
_TOML_WHERE = regex.compile(r" \(at line (?P<line>\d+), column \d+\)")
_RULES_HEADER = regex.compile(r"^[ \t]*\[\[[ \t]*rules[ \t]*\]\]", regex.MULTILINE)
#: Seconds a pattern may take on one of its own examples while its pack loads (scans are limited
#: by the engine's own timeout), so a catastrophic pattern fails at load instead of hanging.
EXAMPLE_TIMEOUT = 1.0
_ALLOWED_RULE_KEYS = {
    "code", "name", "kind", "message", "pattern", "fix", "match", "no_match",
    "category", "severity", "ignorecase", "triggers",
}


@dataclass(frozen=True, slots=True, repr=False)
class Rule:
    """One trace detector: a stable code, a pattern and the examples that define it."""

    code: str
    name: str
    pack: str
    message: str
    pattern: str
    category: str = "trace"
    severity: str = "error"
    kind: str = "unknown"
    fix: str = "remove"
    ignorecase: bool = False
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    #: Literals that every match starts with. They let the engine jump between candidate
    #: positions at C speed instead of trying the pattern everywhere; a rule without them
    #: still works, through the slower full scan.
    triggers: tuple[str, ...] = ()
    source: str = ""
    #: True for the packs shipped with deidlint (vetted for linear-time matching).
    builtin: bool = False
    #: Whether the rule runs when no ``--select`` names rules. A pack that answers another
    #: question than "is a trace left?" (``residue``: what a deletion left behind) is opt-in.
    default: bool = True

    def __repr__(self) -> str:
        return f"Rule({self.code} {self.name})"

    @property
    def fixable(self) -> bool:
        """Every built-in strategy can repair a trace; other categories are report-only."""
        return self.category == "trace"

    def selected_by(self, selector: str) -> bool:
        """True when *selector* (a code prefix like ``DL1``, the rule's name or its pack) names it."""
        return self.code.startswith(selector) or selector in (self.name, self.pack)

    def compiled(self) -> regex.Pattern[str]:
        """The rule's own pattern, used to explain and test it in isolation."""
        return regex.compile(self.pattern, regex.IGNORECASE if self.ignorecase else 0)


@dataclass(frozen=True, slots=True)
class Pack:
    """A named collection of rules loaded from one file."""

    name: str
    description: str
    path: Path
    rules: tuple[Rule, ...] = field(default_factory=tuple)


def builtin_rules_dir() -> Path:
    """Where the built-in packs live: inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_rules", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise UsageError("built-in rule packs are missing from this installation")


_CODE_KEY = regex.compile(r"^[ \t]*code[ \t]*=[ \t]*([\"'])(.*?)\1", regex.MULTILINE)
_PATTERN_KEY = regex.compile(r"^[ \t]*pattern[ \t]*=", regex.MULTILINE)


def _rule_lines(text: str) -> dict[str, list[tuple[int, int]]]:
    """1-based lines of each rule's ``code`` and ``pattern`` keys, by code, in file order.

    tomllib keeps no positions, so they are found in the text, in one pass over the ``[[rules]]``
    tables (a pack of 10,000 rules loads in linear time), so errors point at the line to edit; a
    code defined twice has two entries, and each error names its own.
    """
    found: dict[str, list[tuple[int, int]]] = {}
    bounds = [m.end() for m in _RULES_HEADER.finditer(text)]
    line, pos = 1, 0
    for start, end in zip(bounds, [*bounds[1:], len(text)], strict=True):
        table = text[start:end]
        code = _CODE_KEY.search(table)
        if code is None:
            continue
        line += text.count("\n", pos, start + code.start(2))
        pos = start + code.start(2)
        pattern = _PATTERN_KEY.search(table)
        pattern_line = line + table.count("\n", code.start(2), pattern.start()) if pattern else line
        found.setdefault(code.group(2), []).append((line, pattern_line))
    return found


#: The most atoms a pattern may unroll to (``a{1000}`` is 1,000; ``(?:a{1000}){1000}`` a million):
#: the ``regex`` module compiles counted repeats out, so the 16-byte ``zq{100000000}`` took 10.9 GB.
MAX_PATTERN_WEIGHT = 100_000
_REPEAT = regex.compile(r"\{(\d*)(?:,(\d*))?\}")


def pattern_weight(pattern: str) -> int:
    """An upper bound of how many atoms *pattern* unrolls to: each counted repeat multiplies the
    atom or group before it. Escapes and character classes are one atom; a bound, not a parser."""
    totals, total, last, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            last, i = 1, i + 2
        elif c == "[":
            j = i + 1 + (pattern[i + 1:i + 2] == "^")
            j += pattern[j:j + 1] == "]"
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            last, i = 1, j + 1
        elif c == "(":
            totals.append(total)
            total, last, i = 0, 0, i + 1
            continue
        elif c == ")":
            inner, total = total, (totals.pop() if totals else 0)
            last, i = inner, i + 1
        elif c == "{" and (m := _REPEAT.match(pattern, i)) and (m.group(1) or m.group(2)):
            count = max(int(m.group(1) or 0), int(m.group(2) or 0))
            total += last * (count - 1)
            last *= count
            i = m.end()
            continue
        else:
            last, i = 1, i + 1
        total += last
    return total + sum(totals)


def _fail(path: Path, line: int, what: str) -> UsageError:
    where = f"{path}:{line}" if line else str(path)
    return UsageError(f"rule pack {where}: {what}")


def _str_tuple(value: object, path: Path, line: int, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, line, f"'{key}' must be a list of strings")
    return tuple(value)


def _parse_rule(raw: dict[str, object], pack: str, path: Path, lines: tuple[int, int], triggers: object,
                builtin: bool, default: bool = True) -> Rule:
    """One rule of a pack, checked as it is read, so that a bad pack fails with its file and line."""
    line, pattern_line = lines
    _check_raw(raw, path, line)
    rule = Rule(
        code=str(raw["code"]),
        name=str(raw["name"]),
        pack=pack,
        message=str(raw["message"]),
        pattern=str(raw["pattern"]),
        category=str(raw.get("category", "trace")),
        severity=str(raw.get("severity", "error")),
        kind=str(raw.get("kind", "unknown")),
        fix=str(raw.get("fix", "remove")),
        ignorecase=bool(raw.get("ignorecase", False)),
        match=_str_tuple(raw.get("match", []), path, line, "match"),
        no_match=_str_tuple(raw.get("no_match", []), path, line, "no_match"),
        triggers=_str_tuple(raw.get("triggers", triggers), path, line, "triggers"),
        source=f"{path}:{line}",
        builtin=builtin,
        default=default,
    )
    _check_fields(rule, path, line)
    _check_triggers(rule, _compiled_safely(rule, path, pattern_line), path, lines)
    return rule


def _check_raw(raw: dict[str, object], path: Path, line: int) -> None:
    """Fail on a rule table that cannot be made a :class:`Rule`: unknown keys, a required string
    missing or empty, a non-boolean ``ignorecase`` (``str()`` and ``bool()`` would hide them)."""
    unknown = set(raw) - _ALLOWED_RULE_KEYS
    if unknown:
        raise _fail(path, line, f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("code", "name", "message", "pattern"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _fail(path, line, f"rule needs a non-empty string '{key}'")
    if not isinstance(raw.get("ignorecase", False), bool):
        raise _fail(path, line, "'ignorecase' must be true or false")


def _check_fields(rule: Rule, path: Path, line: int) -> None:
    """Fail on a code, name, kind, severity or fix strategy that deidlint does not know, so that a
    pack's typo fails when the pack is loaded, not when its rule is selected, reported or fixed."""
    if not _CODE.fullmatch(rule.code):
        raise _fail(path, line, f"code {rule.code!r} must look like DL101 (capitals then 3-4 digits)")
    if not _NAME.fullmatch(rule.name):
        raise _fail(path, line, f"name {rule.name!r} must be kebab-case")
    if rule.kind not in KINDS:
        raise _fail(path, line, f"kind {rule.kind!r} is not one of {', '.join(KINDS)}")
    if rule.severity not in SEVERITIES:
        raise _fail(path, line, f"severity {rule.severity!r} is not one of {', '.join(SEVERITIES)}")
    if rule.fix not in STRATEGIES:
        raise _fail(path, line, f"fix {rule.fix!r} is not one of {', '.join(STRATEGIES)}")


def _compiled_safely(rule: Rule, path: Path, pattern_line: int) -> regex.Pattern[str]:
    """The rule's compiled pattern, once it is known to be one the scanner can combine with the
    others: small enough to compile, no numbered back-references, never an empty match."""
    if len(rule.pattern) > 10_000 or pattern_weight(rule.pattern) > MAX_PATTERN_WEIGHT:
        raise _fail(path, pattern_line, f"pattern for {rule.code} is too large to compile safely "
                                        f"(counted repeats unroll to over {MAX_PATTERN_WEIGHT:,} atoms)")
    if _NUMBERED_BACKREF.search(rule.pattern):
        raise _fail(path, pattern_line, "numbered back-references cannot be combined; use (?P<n>...) and (?P=n)")
    try:
        compiled = rule.compiled()
    except regex.error as exc:
        raise _fail(path, pattern_line, f"bad pattern for {rule.code}: {exc}") from None
    if compiled.match(""):
        raise _fail(path, pattern_line, f"pattern for {rule.code} matches the empty string")
    return compiled


def _check_triggers(rule: Rule, compiled: regex.Pattern[str], path: Path, lines: tuple[int, int]) -> None:
    """Fail on triggers the scanner cannot use (empty, or under ignorecase), or that miss a match of
    the rule's own examples: the scanner only tries the pattern where a trigger starts, so such a
    match would never be found. The examples run under a timeout, catching catastrophic patterns."""
    line, pattern_line = lines
    if not all(rule.triggers) or (rule.triggers and rule.ignorecase):
        raise _fail(path, line, f"triggers for {rule.code} must be non-empty literals, and not with ignorecase")
    try:
        for example in rule.match:
            for m in compiled.finditer(example, timeout=EXAMPLE_TIMEOUT):
                if rule.triggers and not example.startswith(rule.triggers, m.start()):
                    raise _fail(path, line, f"{rule.code} matched {example[m.start():m.end()]!r}, "
                                            "which does not start with one of its triggers")
    except TimeoutError:
        raise _fail(path, pattern_line, f"pattern for {rule.code} timed out on one of its own examples: "
                                        "it backtracks catastrophically") from None


def load_pack(path: str | Path, builtin: bool = False) -> Pack:
    """Read and validate one pack file; any problem becomes a one-line :class:`UsageError`."""
    path = Path(path)
    try:
        text = read_small(path, "rule pack").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read rule pack {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_WHERE.search(str(exc))
        raise _fail(path, int(where["line"]) if where else 0,
                    f"not valid TOML: {_TOML_WHERE.sub('', str(exc))}") from None
    meta = data.get("pack")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise _fail(path, 0, "needs a [pack] table with a 'name'")
    for table, keys, allowed in (("at the top level", data, _ALLOWED_TOP_KEYS), ("in [pack]", meta, _ALLOWED_PACK_KEYS)):
        if unknown := set(keys) - allowed:
            raise _fail(path, 0, f"unknown key(s) {', '.join(sorted(unknown))} {table}")
    if not isinstance(meta.get("default", True), bool):
        raise _fail(path, 0, "'default' in [pack] must be true or false")
    rules_raw = data.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw or not all(isinstance(r, dict) for r in rules_raw):
        raise _fail(path, 0, "needs at least one [[rules]] table")
    positions = _rule_lines(text)
    seen: Counter[object] = Counter()
    rules = []
    for raw in rules_raw:
        code = raw.get("code")
        places = positions.get(code, []) if isinstance(code, str) else []
        lines = places[seen[code]] if seen[code] < len(places) else (0, 0)
        seen[code] += 1
        rules.append(_parse_rule(raw, meta["name"], path, lines, meta.get("triggers", []), builtin,
                                 meta.get("default", True)))
    return Pack(name=meta["name"], description=str(meta.get("description", "")), path=path, rules=tuple(rules))


def load_packs(extra: Iterable[str | Path] = (), builtin: bool = True) -> list[Pack]:
    """The built-in packs (sorted by file name) followed by the user's, codes unique across all."""
    packs = [load_pack(p, builtin=True) for p in sorted(builtin_rules_dir().glob("*.toml"))] if builtin else []
    packs.extend(load_pack(p) for p in extra)
    seen: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.code in seen:
                raise UsageError(f"rule code {rule.code} is defined twice: {seen[rule.code]} and {rule.source}")
            seen[rule.code] = rule.source
    return packs


def all_rules(packs: Sequence[Pack]) -> list[Rule]:
    """Rules in pack order; within a pack, file order, which is also match priority."""
    return [rule for pack in packs for rule in pack.rules]


def select_rules(
    rules: Sequence[Rule], select: Sequence[str] = (), ignore: Sequence[str] = (), extend: Sequence[str] = ()
) -> list[Rule]:
    """Filter rules as ruff does: a selector is a code prefix (``DL1``), a rule name or a pack name.

    An empty *select* means every rule that is on by default (every trace rule; opt-in packs
    such as ``residue`` run only when a selector names them, or ``ALL``). *extend* adds rules to
    whichever set *select* gave. Unknown selectors are errors, so a typo in CI config cannot
    silently switch a check off.
    """

    for selector in (*select, *ignore, *extend):
        if selector.upper() != "ALL" and not any(r.selected_by(selector) for r in rules):
            raise UsageError(f"unknown rule selector {selector!r} (see 'deidlint rules')")

    def named(rule: Rule, selectors: Sequence[str]) -> bool:
        return any(s.upper() == "ALL" or rule.selected_by(s) for s in selectors)

    return [r for r in rules
            if ((named(r, select) if select else r.default) or named(r, extend))
            and not any(r.selected_by(s) for s in ignore)]


@dataclass(frozen=True, slots=True)
class Selection:
    """The rules a run reports, and every rule it matches, in match priority.

    A rule on by default that ``ignore`` (or a narrower ``select``) left out still matches in its
    place, and its matches are dropped: the engine's first match wins, so a rule merely removed
    would hand its text to the next, more generic one, and ``--ignore physionet-date`` would
    report those tags again as DL209. Opt-in rules nobody selected do not match at all.
    """

    rules: tuple[Rule, ...]
    matching: tuple[Rule, ...]

    @property
    def silent(self) -> frozenset[Rule]:
        return frozenset(self.matching) - frozenset(self.rules)


def selection(rules: Sequence[Rule], select: Sequence[str] = (), ignore: Sequence[str] = (),
              extend: Sequence[str] = ()) -> Selection:
    """:func:`select_rules`, with the default rules it left out kept to match silently."""
    chosen = select_rules(rules, select, ignore, extend)
    kept = set(chosen)
    return Selection(tuple(chosen), tuple(r for r in rules if r in kept or r.default))
