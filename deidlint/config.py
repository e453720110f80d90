"""Configuration: ``[tool.deidlint]`` in pyproject.toml, or a ``deidlint.toml``.

Found by walking up from the working directory (as ruff and pytest do), or named with
``--config``. Keys are checked strictly: a misspelled key is an error, because a dataset gate
that silently ignores ``ingore = ["DL3"]`` gives false confidence. Command-line flags override
the file.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from deidlint.errors import UsageError
from deidlint.readers import MAX_RECORD_BYTES
from deidlint.smallfiles import read_small

CONFIG_NAMES = ("deidlint.toml", "pyproject.toml")


@dataclass(slots=True)
class Config:
    """Every setting, with the defaults a fresh project gets."""

    path: Path | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    builtin_packs: bool = True
    columns: list[str] = field(default_factory=list)
    id_column: str | None = None
    encoding: str = "utf-8"
    #: Largest record a reader takes, in MB (``--max-record-mb``).
    max_record_mb: int = MAX_RECORD_BYTES >> 20
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)
    #: ``fix``'s strategy for every rule; None leaves each rule to its own ``fix`` field.
    strategy: str | None = None
    strategies: dict[str, str] = field(default_factory=dict)
    mask_token: str = "[PHI]"
    #: What ``fix`` does with a sentence no repair keeps sound: drop (and report), keep, mask.
    unresolved: str = "drop"
    seed: int = 0
    restore_threshold: float = 0.9
    baseline: str | None = None
    thresholds: list[dict[str, Any]] = field(default_factory=list)


# key in the file -> (attribute, expected type(s), element type for lists/maps)
_KEYS: dict[str, tuple[str, type | tuple[type, ...], type | None]] = {
    "select": ("select", list, str),
    "ignore": ("ignore", list, str),
    "extend-select": ("extend_select", list, str),
    "packs": ("packs", list, str),
    "builtin-packs": ("builtin_packs", bool, None),
    "columns": ("columns", list, str),
    "id-column": ("id_column", str, None),
    "encoding": ("encoding", str, None),
    "max-record-mb": ("max_record_mb", int, None),
    "per-path-ignores": ("per_path_ignores", dict, list),
    "strategy": ("strategy", str, None),
    "strategies": ("strategies", dict, str),
    "mask-token": ("mask_token", str, None),
    "unresolved": ("unresolved", str, None),
    "seed": ("seed", int, None),
    "restore-threshold": ("restore_threshold", (int, float), None),
    "baseline": ("baseline", str, None),
    "thresholds": ("thresholds", list, dict),
}


def find_config(start: Path) -> Path | None:
    """The nearest deidlint.toml, or pyproject.toml with a [tool.deidlint] table, above *start*."""
    for folder in (start, *start.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_table(candidate)):
                return candidate
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        return "deidlint" in tomllib.loads(read_small(path, "config file").decode("utf-8")).get("tool", {})
    except (OSError, UsageError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_config(explicit: str | None = None, start: Path | None = None) -> Config:
    """Load the named file, or the nearest one, or defaults when there is none."""
    path = Path(explicit) if explicit else find_config((start or Path.cwd()).resolve())
    if path is None:
        return Config()
    try:
        data = tomllib.loads(read_small(path, "config file").decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("deidlint", {}) if path.name == "pyproject.toml" else data
    return _from_table(table, path)


def _from_table(table: dict[str, Any], path: Path) -> Config:
    config = Config(path=path)
    base = path.parent
    for key, value in table.items():
        if key == "tool" and isinstance(value, dict) and "deidlint" in value:
            raise UsageError(f"{path}: [tool.deidlint] is read from pyproject.toml only; in {path.name} put the "
                             "settings at the top level, without a table header")
        if key not in _KEYS:
            raise UsageError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(_KEYS))})")
        attr, kind, element = _KEYS[key]
        if _wrong_type(value, kind, element):
            raise UsageError(f"{path}: setting {key!r} must be {_expected(kind, element)}, "
                             f"not {_describe(value)}")
        if key == "packs":
            value = [str(base / p) for p in value]
        if key == "baseline":
            value = str(base / value)
        if key == "per-path-ignores":
            value = {_anchored(glob, base): selectors for glob, selectors in value.items()}
        setattr(config, attr, value)
    return config


def _wrong_type(value: object, kind: type | tuple[type, ...], element: type | None) -> bool:
    """Whether a setting's *value* is not of its *kind* (and, for a list or table, *element*).

    A function of its own so that the checks do not narrow the caller's value, which is still
    TOML's ``Any`` when it is rewritten (packs, baseline). ``bool`` is told apart from ``int``
    both ways: ``seed = true`` is a mistake, and so is ``builtin-packs = 1``.
    """
    if not isinstance(value, kind) or (kind is bool) != isinstance(value, bool):
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return element is not None and not all(isinstance(v, element) for v in items)


_NAMES: dict[type, str] = {str: "a string", bool: "true or false", int: "an integer", list: "a list",
                          dict: "a table", float: "a number"}


def _expected(kind: type | tuple[type, ...], element: type | None) -> str:
    """What a setting takes, in TOML's words: ``a list of strings``, ``a table of lists``."""
    if isinstance(kind, tuple):
        return "a number"
    if element is None:
        return _NAMES[kind]
    plural: dict[type, str] = {str: "strings", list: "lists", dict: "tables"}
    return f"{_NAMES[kind]} of {plural[element]}"


def _describe(value: object) -> str:
    """The TOML kind of a value the user wrote, without echoing a long value back."""
    if isinstance(value, list):
        return "a list with " + ", ".join(sorted({_NAMES.get(type(v), type(v).__name__) for v in value}))
    if isinstance(value, dict):
        return "a table"
    kind = _NAMES.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if len(repr(value)) < 40 else kind


@functools.lru_cache(maxsize=256)
def path_glob(glob: str) -> re.Pattern[str]:
    """A ``per-path-ignores`` glob as a regular expression with the meaning path globs have in
    gitignore and ruff, not :mod:`fnmatch`'s: ``*`` and ``?`` stay within one folder, ``**/``
    spans any number of folders (none included), a trailing ``/**`` everything below, and
    ``[!...]`` negates a class. So ``legacy/*.csv`` does not reach into ``legacy/old/``."""
    parts, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif glob[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            parts.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : end].replace("\\", "\\\\")
            negate = body.startswith("!")
            body = body[1:] if negate else body.replace("^", "\\^", 1) if body.startswith("^") else body
            parts.append("[" + ("^/" if negate else "") + body + "]")
            i = end + 1
        else:
            parts.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _anchored(glob: str, base: Path) -> str:
    """A ``per-path-ignores`` glob as an absolute pattern under the config file's folder, so it
    means the same files whatever the working directory and however a path is given; a bare
    file-name glob (``legacy*.csv``) stays bare and matches that name in any folder. The folder's
    own name is escaped, so a ``[`` in it is not read as a class."""
    if "/" not in glob:
        return glob
    return glob_escape(base.resolve().as_posix()) + "/" + glob.removeprefix("./")
