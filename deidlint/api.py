"""The Python API: scan a string, or a pandas DataFrame or Series, with the built-in rules.

The command line is the main interface; this is for notebooks and data pipelines that already
hold reports in memory. The scanner is built once per rule selection and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from deidlint.engine import Scanner
from deidlint.findings import Finding, LineCounter
from deidlint.rules import all_rules, load_packs, selection

if TYPE_CHECKING:
    import pandas as pd

FRAME_COLUMNS = ("index", "column", "start", "end", "line", "col", "rule", "name", "category", "severity", "marker")


@lru_cache(maxsize=16)
def scanner(select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> Scanner:
    """The built-in rules, filtered like ``--select``/``--ignore``, compiled once."""
    return Scanner.of(selection(all_rules(load_packs()), select, ignore))


def scan(text: str, *, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Finding]:
    """Every trace in *text*, in order. Offsets are Python string offsets into *text*."""
    out = []
    lines = LineCounter()
    for m in scanner(tuple(select), tuple(ignore)).scan(text):
        line, col = lines.at(text, m.start)
        out.append(Finding("<string>", 0, None, None, m.start, m.end, line, col, m.rule, text[m.start:m.end]))
    return out


def scan_frame(data: pd.DataFrame | pd.Series, columns: Sequence[str] | None = None, *,
               select: Sequence[str] = (), ignore: Sequence[str] = ()) -> pd.DataFrame:
    """Findings for a DataFrame's text columns (default: every object/string column) or a Series.

    Returns one row per finding, keyed by the frame's own index label, so results join back
    onto the data with ``df.loc[result['index']]``.
    """
    import pandas as pd

    frame = data.to_frame(name=data.name if data.name is not None else "text") if isinstance(data, pd.Series) else data
    if columns is None:
        columns = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"no column {missing[0]!r}")
    engine = scanner(tuple(select), tuple(ignore))
    rows: list[tuple[object, ...]] = []
    lines = LineCounter()
    for column in columns:
        series = frame[column]
        texts = [v if isinstance(v, str) else "" for v in series.tolist()]
        labels = series.index.tolist()
        for i, m in engine.scan_many(texts):
            line, col = lines.at(texts[i], m.start)
            r = m.rule
            rows.append((labels[i], column, m.start, m.end, line, col, r.code, r.name, r.category, r.severity,
                         texts[i][m.start:m.end]))
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
