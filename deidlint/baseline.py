"""Baselines: accept the traces a dataset already has and fail only on new ones.

As detect-secrets does for secrets: ``deidlint baseline data/ -o .deidlint-baseline.json``
records every current finding, and ``deidlint check --baseline FILE`` reports only findings that
are not in it, and counts the entries that no longer occur (fixed or deleted records), so a
team can adopt the gate on a legacy dataset at once and burn the backlog down over time.

The file is committed beside the data, so it holds no report text: an entry names the record
(its ``--id-column`` value, or path and row), the column and the rule code, plus a SHA-256 hash
of the rule code, the marker and a few characters on each side of it. Hashing the marker's
neighbourhood rather than its offset keeps an entry valid when the record is edited elsewhere,
and tells apart two markers in one record; identical ones in one record are counted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from deidlint import __version__
from deidlint.atomic import atomic_output
from deidlint.errors import RecordError, UsageError
from deidlint.findings import Finding
from deidlint.gates import Tally
from deidlint.smallfiles import read_small

#: Characters of report text on each side of a marker that go into its hash.
CONTEXT_CHARS = 12
FORMAT = 1

#: ("id", id, column, rule, hash) or ("row", path, record, column, rule, hash).
Key = tuple[object, ...]


def _relative(path: str, root: Path) -> str:
    """*path* relative to the baseline's folder, with ``/``: the same from any working directory."""
    return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()


def marker_hash(f: Finding, context_chars: int) -> str:
    """Hash of the rule, the marker and :data:`CONTEXT_CHARS` characters around it.

    *f* must carry ``context_chars`` characters of context (the check was run with at least
    :data:`CONTEXT_CHARS`). Whitespace runs count as one space, so re-wrapping a report's lines
    does not turn an accepted trace into a new one.
    """
    assert f.context is not None and context_chars >= CONTEXT_CHARS
    at = min(f.start, context_chars)  # where the marker starts inside f.context
    before = f.context[max(0, at - CONTEXT_CHARS):at]
    after = f.context[at + len(f.marker):at + len(f.marker) + CONTEXT_CHARS]
    text = "\x1f".join((f.rule.code, f.marker, " ".join(before.split()), " ".join(after.split())))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def narrow(f: Finding, context_chars: int, shown: int) -> Finding:
    """*f* with only the *shown* characters of context the user asked for (none by default)."""
    if shown >= context_chars or f.context is None:
        return f
    if shown == 0:
        return replace(f, context=None)
    at = min(f.start, context_chars)
    return replace(f, context=f.context[at - min(f.start, shown):at + len(f.marker) + shown])


def key_of(f: Finding, root: Path, context_chars: int) -> Key:
    digest = marker_hash(f, context_chars)
    if f.id is not None:
        return ("id", f.id, f.column, f.rule.code, digest)
    return ("row", _relative(f.path, root), f.record, f.column, f.rule.code, digest)


def _entry(key: Key, count: int, path: str) -> dict[str, object]:
    if key[0] == "id":
        _, ident, column, rule, digest = key
        head: dict[str, object] = {"path": path, "id": ident}
    else:
        _, _, record, column, rule, digest = key  # the key's path is *path*: the entry's own
        head = {"path": path, "record": record}
    return {**head, "column": column, "rule": rule, "hash": digest, "count": count}


def write_baseline(out: Path, findings: Iterable[Finding], context_chars: int, id_column: str | None) -> int:
    """Record *findings* in *out* atomically; returns the number of entries.

    One entry per line, sorted, and no timestamp, so regenerating an unchanged baseline gives
    the same bytes and a changed one gives a readable ``git diff``.
    """
    root = out.resolve().parent
    counts: Counter[Key] = Counter()
    paths: dict[Key, str] = {}
    for f in findings:
        key = key_of(f, root, context_chars)
        counts[key] += 1
        paths.setdefault(key, _relative(f.path, root))
    entries = sorted((_entry(k, n, paths[k]) for k, n in counts.items()),
                     key=lambda e: (e["path"], str(e.get("id", "")), e.get("record", -1), str(e["column"]),
                                    e["rule"], e["hash"]))
    head = {"deidlint-baseline": FORMAT, "deidlint": __version__, "context-chars": CONTEXT_CHARS,
            "hash": "sha256/128", "id-column": id_column}
    body = orjson.dumps(head).decode()[:-1] + ',"entries":[\n' + ",\n".join(map(_entry_json, entries))
    try:
        with atomic_output(str(out)) as handle:
            handle.write((body + "\n]}\n").encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write baseline {out}: {exc.strerror or exc}") from None
    return len(entries)


def _entry_json(entry: dict[str, object]) -> str:
    """One entry as JSON; a path that is not valid Unicode (an undecodable byte in a file name,
    kept as a lone surrogate) is written as a ``\\udcff`` escape, which orjson cannot write but
    the standard library reads back to the same name, so the entry still matches its file."""
    try:
        return orjson.dumps(entry).decode()
    except orjson.JSONEncodeError:
        return json.dumps(entry, separators=(",", ":"))


def _parsed(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)  # lone surrogate escapes: see _entry_json
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        raise


@dataclass(slots=True)
class Baseline:
    """A loaded baseline: accepted findings (with counts) and where each was."""

    path: Path
    id_column: str | None
    entries: Counter[Key]
    paths: dict[Key, str]

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        path = Path(path)
        try:
            doc = _parsed(read_small(path, "baseline"))
        except FileNotFoundError:
            raise UsageError(f"baseline {path} does not exist; create it with 'deidlint baseline PATH... -o {path}'") from None
        except OSError as exc:
            raise UsageError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"baseline {path} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("deidlint-baseline") != FORMAT or not isinstance(doc.get("entries"), list):
            raise UsageError(f"baseline {path} is not a deidlint baseline (format {FORMAT})")
        if doc.get("context-chars") != CONTEXT_CHARS:
            raise UsageError(f"baseline {path} was made with another hash context; regenerate it with 'deidlint baseline'")
        entries: Counter[Key] = Counter()
        paths: dict[Key, str] = {}
        for n, e in enumerate(doc["entries"], 1):
            try:
                common = (e["column"], e["rule"], e["hash"])
                key: Key = ("id", e["id"], *common) if "id" in e else ("row", e["path"], e["record"], *common)
                count, where = e["count"], e["path"]
                if not (isinstance(count, int) and count > 0 and isinstance(where, str)):
                    raise TypeError
            except (KeyError, TypeError):
                raise UsageError(f"baseline {path}: entry {n} is malformed") from None
            entries[key] += count
            paths[key] = where
        id_column = doc.get("id-column")
        return cls(path, id_column if isinstance(id_column, str) else None, entries, paths)


@dataclass(slots=True)
class BaselineFilter:
    """Passes on only the findings a baseline does not hold, counting what it held back.

    Run the check with ``context_chars`` (at least :data:`CONTEXT_CHARS`) so findings can be
    hashed; ``shown`` is the context the user asked to see, which findings are cut back to.
    """

    baseline: Baseline
    context_chars: int
    shown: int = 0
    matched: int = 0
    new: Tally = field(default_factory=Tally)
    _left: Counter[Key] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._left = Counter(self.baseline.entries)

    def __call__(self, items: Iterable[Finding | RecordError]) -> Iterator[Finding | RecordError]:
        root = self.baseline.path.resolve().parent
        for item in items:
            if isinstance(item, RecordError):
                yield item
                continue
            key = key_of(item, root, self.context_chars)
            if self._left[key] > 0:
                self._left[key] -= 1
                self.matched += 1
                continue
            self.new.add(item)
            yield narrow(item, self.context_chars, self.shown)

    def gone(self, scanned: Iterable[str]) -> int:
        """Baseline entries (with their counts) not seen again in the files that were *scanned*.

        Only files of this run count: a pre-commit hook checks just the staged files, and the
        rest of the baseline is not "gone" because it was not looked at.
        """
        root = self.baseline.path.resolve().parent
        wanted = {_relative(p, root) for p in scanned}
        return sum(n for key, n in self._left.items() if n > 0 and self.baseline.paths[key] in wanted)

    def report(self, scanned: Iterable[str]) -> str:
        """The line a check prints about its baseline."""
        gone = self.gone(scanned)
        return (f"Baseline {self.baseline.path}: {self.matched} known finding(s) accepted, "
                f"{self.new.findings} new; {gone} baseline entr{'y' if gone == 1 else 'ies'} no longer occur"
                f"{'s' if gone == 1 else ''}.")
