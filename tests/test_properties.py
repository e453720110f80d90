"""Property tests (hypothesis): what must hold for every input, not just the examples we thought of.

- offsets always index the matched text, through every reader;
- the two CSV parsers (pyarrow, and the csv module that takes over on bad input) agree;
- batching never changes what is found, even for users' lookarounds that could see the NUL
  the engine joins cells with to find candidates (the built-in rules' case is test_engine's);
- random bytes never crash a reader or the command line;
- fix is idempotent, never adds a trace, and leaves untouched content byte for byte.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deidlint.api import scanner
from deidlint.checking import Check
from deidlint.cli import main
from deidlint.engine import Scanner
from deidlint.errors import DeidlintError, RecordError
from deidlint.findings import Finding
from deidlint.fix import fix_texts
from deidlint.readers import ReadOptions, Source, read
from deidlint.rules import STRATEGIES, Rule

BUILTIN = scanner()
FILES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Words, markers and the characters that sit at their edges: what reports and traces are made of.
PIECES = ["Comparison", "to", "___", "____", "XXXX", "x-", "Dr.", "was", "paged", "at", "4:05", "p.m.", "on", "since",
          "the", "lungs", "are", "clear", "no", "of", "pulmonary", ".", ",", ":", "-", "/", "(", ")", "\n", "\n\n",
          "\r\n", "\t", " ", "  ", "FINDINGS:", "IMPRESSION:", "1.", "[**Hospital1 18**]", "[**", "**]", "[** Name **]",
          "<PERSON>", "<", ">", "{{NAME}}", "[REDACTED]", "[PHI]", "*******", "**", "*", "Mr.", "-year-old",
          "___:53", "Swan-___", "XXXX-year-old", "\x00", "\ufeff", "é", "\u2028", '"', "'", "_", "a", "1"]
report_text = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
#: Cell text for files: report text plus the characters that break naive CSV writers.
cell_text = st.one_of(report_text, st.text(alphabet=st.sampled_from(list(',"\r\n\x00 aé_X*[]<>{}')), max_size=12))


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    """A fresh folder per hypothesis example (pytest's tmp_path is shared between examples)."""
    with tempfile.TemporaryDirectory(prefix="deidlint-prop-") as name:
        yield Path(name)


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _csv_bytes(rows: list[list[str]], terminators: list[str], quoting: int) -> bytes:
    """A CSV file written by the csv module, with a different line ending per record.

    Rows are written with a ``\r\n`` terminator, which makes the csv module quote any field
    holding either character (with ``\n`` alone it leaves a bare ``\r`` unquoted, which every
    reader takes for a line end), and the terminator is then swapped for the chosen one.
    """
    out = []
    for row, end in zip([["id", "report"], *rows], ["\n", *terminators], strict=True):
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n", quoting=quoting).writerow(row)
        out.append(buffer.getvalue().removesuffix("\r\n") + end)
    return "".join(out).encode()


csv_files = st.integers(1, 8).flatmap(lambda n: st.tuples(
    st.lists(st.lists(cell_text, min_size=2, max_size=2), min_size=n, max_size=n),
    st.lists(st.sampled_from(["\n", "\r\n"]), min_size=n, max_size=n),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
))


def _read_cells(path: Path, opts: ReadOptions) -> tuple[dict[int, str], list[int]]:
    """Cell text per record of the report column, and the records reported as bad."""
    cells: dict[int, str] = {}
    bad: list[int] = []
    for item in read(Source(str(path), "csv"), opts):
        if isinstance(item, RecordError):
            bad.append(item.record)
        elif item.column == "report":
            cells.update(zip(item.rows, item.texts, strict=True))
    return cells, bad


# -- engine -----------------------------------------------------------------------------------


#: Lookarounds that would see a NUL between joined cells, half with trigger literals (the
#: candidate search) and half without (a full search of each cell).
LOOKAROUND_RULES = [
    Rule("XX101", "neg-class-behind", "user", "m", r"(?<![^a-z ])ZZZZ", triggers=("ZZZZ",)),
    Rule("XX102", "pos-nonword-behind", "user", "m", r"(?<=\W)QQQ"),
    Rule("XX103", "pos-nonword-ahead", "user", "m", r"KKK(?=[^a-z])", triggers=("KKK",)),
    Rule("XX104", "dot-ahead", "user", "m", r"VVV(?!.)"),
]


@given(st.lists(st.lists(st.sampled_from(["ZZZZ", "QQQ", "KKK", "VVV", "a", " ", ".", "(", "\x00", "___"]),
                         max_size=8).map("".join), max_size=6),
       st.sets(st.sampled_from(range(len(LOOKAROUND_RULES))), min_size=1))
@settings(max_examples=200, deadline=None)
def test_scan_many_equals_scanning_alone_with_user_lookarounds(texts: list[str], chosen: set[int]) -> None:
    """A user's lookaround may see the NUL that joins cells; results must still not depend on batching."""
    rules = [*BUILTIN.rules, *(LOOKAROUND_RULES[i] for i in sorted(chosen))]
    engine = Scanner(rules)
    alone = [(i, m.start, m.end, m.rule.code) for i, t in enumerate(texts) for m in engine.scan(t)]
    assert [(i, m.start, m.end, m.rule.code) for i, m in engine.scan_many(texts)] == alone


@given(report_text)
@settings(max_examples=300, deadline=None)
def test_offsets_index_the_matched_text(text: str) -> None:
    pos = 0
    for m in BUILTIN.scan(text):
        assert pos <= m.start < m.end <= len(text)
        assert m.rule.compiled().match(text, m.start) is not None  # the rule matches there on its own
        pos = m.end


# -- readers ----------------------------------------------------------------------------------


@given(csv_files)
@FILES
def test_csv_parsers_agree_and_offsets_index_the_cell_as_written(data: tuple[list[list[str]], list[str], int]) -> None:
    """Cells come back exactly as written, by pyarrow and by the csv module path alike, and every
    finding's offsets index the written cell."""
    rows, terminators, quoting = data
    body = _csv_bytes(rows, terminators, quoting)
    written = {i: row[1] for i, row in enumerate(rows)}
    with _folder() as folder:
        path = folder / "r.csv"
        path.write_bytes(body)
        fast, _ = _read_cells(path, ReadOptions(columns=("report",)))
        assert fast == written
        # A bad byte in an extra last record sends the whole (small) file through the csv module.
        path.write_bytes(body + b"9,caf\xe9\n")
        slow, bad = _read_cells(path, ReadOptions(columns=("report",), on_error="skip"))
        assert slow == written and bad == [len(written)]
        path.write_bytes(body)
        for finding in Check([Source(str(path), "csv")], BUILTIN, ReadOptions(columns=("report",))):
            assert isinstance(finding, Finding)
            cell = written[finding.record]
            assert cell[finding.start:finding.end] == finding.marker
            assert (finding.start, finding.end) in {(m.start, m.end) for m in BUILTIN.scan(cell)}


@given(st.binary(max_size=300), st.sampled_from(["csv", "tsv", "jsonl", "txt", "csv.gz"]),
       st.sampled_from(["fail", "skip"]))
@FILES
def test_random_bytes_never_crash(data: bytes, suffix: str, on_error: str) -> None:
    """Whatever the bytes, a run ends normally or with a one-line error: never another exception."""
    import gzip

    content = gzip.compress(data) if suffix.endswith(".gz") else data
    with _folder() as folder:
        path = folder / f"r.{suffix}"
        path.write_bytes(content)
        source = Source(str(path), suffix.split(".")[0], suffix.endswith(".gz"))
        try:
            for _ in Check([source], BUILTIN, ReadOptions(on_error=on_error)):
                pass
        except DeidlintError as exc:
            assert "\n" not in str(exc)
        code, _, err = _run("check", str(path), "--on-error", on_error, "--format", "github")
        assert code in (0, 1) or (code == 2 and len(err.splitlines()) == 1 and err.startswith("deidlint: error: "))
        assert path.read_bytes() == content


# -- fix --------------------------------------------------------------------------------------


def _markers(text: str) -> Counter[str]:
    return Counter(text[m.start:m.end] for m in BUILTIN.scan(text))


@given(st.lists(report_text, min_size=1, max_size=6), st.sampled_from(STRATEGIES))
@settings(max_examples=200, deadline=None)
def test_fix_is_idempotent_and_never_adds_a_trace(texts: list[str], strategy: str) -> None:
    fixed = fix_texts(texts, strategy)
    assert fix_texts(fixed, strategy) == fixed
    for text, new in zip(texts, fixed, strict=True):
        if not BUILTIN.scan(text):
            assert new == text  # nothing to fix: untouched
        added = _markers(new) - _markers(text)
        if strategy == "mask":
            added.pop("[PHI]", None)  # the mask token is the user's chosen marker
        assert not added, (text, new)


def _cell_bytes(text: str, style: str) -> bytes:
    """A cell quoted always, only where it must be, or with its quotes left bare inside it
    (``5" tube``), which both readers take literally when the cell does not start with one."""
    specials = ',\r\n' if style == "bare" and not text.startswith('"') else ',"\r\n'
    if style == "quote" or any(c in text for c in specials):
        return b'"' + text.replace('"', '""').encode() + b'"'
    return text.encode()


@given(st.lists(st.tuples(report_text, st.sampled_from(["quote", "minimal", "bare"]), st.sampled_from(["\n", "\r\n"])),
                min_size=1, max_size=8),
       st.sampled_from(["remove", "mask", "neutral"]))
@FILES
def test_fix_leaves_untouched_bytes_as_they_were(records: list[tuple[str, str, str]], strategy: str) -> None:
    """Everything outside the cells that hold a trace is copied byte for byte: other columns,
    quoting, bare quotes, line endings, untouched records; a file without traces is copied whole."""
    assume(any(text.strip() for text, _, _ in records))
    pieces: list[bytes | None] = [b"id,report,score\n"]  # None: a traced cell, free to change
    for number, (text, quote, end) in enumerate(records):
        pieces.append(f'{number},'.encode())
        pieces.append(None if BUILTIN.scan(text) else _cell_bytes(text, quote))
        pieces.append(f',{number}.50{end}'.encode())
    body = b"".join(_cell_bytes(records[i // 3 - 1][0], records[i // 3 - 1][1]) if p is None else p
                    for i, p in enumerate(pieces))
    shape = regex.compile(b"".join(b"(.*?)" if p is None else regex.escape(p) for p in pieces), regex.DOTALL)
    with _folder() as folder:
        path, out = folder / "r.csv", folder / "out.csv"
        path.write_bytes(body)
        code, _, err = _run("fix", str(path), "-o", str(out), "--strategy", strategy, "--column", "report")
        assert code in (0, 1), err
        assert path.read_bytes() == body
        fixed = out.read_bytes()
        if None not in pieces:
            assert fixed == body
        assert shape.fullmatch(fixed), (body, fixed)


@given(st.lists(report_text, min_size=1, max_size=8), st.booleans())
@FILES
def test_fix_jsonl_leaves_other_fields_and_lines_as_they_were(texts: list[str], ascii_only: bool) -> None:
    """Only the report value of a traced line changes; the rest of every line keeps its bytes
    (spacing, key order, ``1.50``), and a line without a trace is copied whole."""
    import json

    frames = [(f'{{"id": {i}, "report": '.encode(), b', "n": 1.50}') if ascii_only else
              (f'{{"id":{i},"report":'.encode(), b',"n":1.50}') for i in range(len(texts))]
    values = [json.dumps(t).encode() if ascii_only else orjson.dumps(t) for t in texts]
    lines = [head + value + tail for (head, tail), value in zip(frames, values, strict=True)]
    body = b"\n".join(lines) + b"\n"
    with _folder() as folder:
        path, out = folder / "r.jsonl", folder / "out.jsonl"
        path.write_bytes(body)
        code, _, err = _run("fix", str(path), "-o", str(out), "--column", "report")
        assert code in (0, 1), err
        assert path.read_bytes() == body
        new_lines = out.read_bytes().split(b"\n")
        assert len(new_lines) == len(lines) + 1 and new_lines[-1] == b""
        for text, old, new, (head, tail) in zip(texts, lines, new_lines, frames, strict=False):
            if BUILTIN.scan(text):
                assert new.startswith(head) and new.endswith(tail)
                assert orjson.loads(new)["report"] != text or not any(m.rule.fixable for m in BUILTIN.scan(text))
            else:
                assert new == old


@given(st.lists(st.sampled_from(["a", "\n", "___", " ", "\r\n"]), max_size=60).map("".join),
       st.lists(st.integers(min_value=0, max_value=200), max_size=20))
@settings(max_examples=300, deadline=None)
def test_line_counter_equals_counting_from_the_start(text: str, offsets: list[int]) -> None:
    from deidlint.findings import LineCounter

    counter = LineCounter()
    for offset in sorted(o for o in offsets if o <= len(text)):
        start = text.rfind("\n", 0, offset) + 1
        assert counter.at(text, offset) == (text.count("\n", 0, start) + 1, offset - start + 1)
