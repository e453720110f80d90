"""The engine-neutral pieces (deidlint.partitions): restore's counts reduced over any cut of a
corpus into pieces equal the command line's, in value and in first-insertion order (which breaks
ties), and findings come back in the command line's order."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from deidlint import readers, synth
from deidlint.api import scanner
from deidlint.findings import Summary
from deidlint.fix.fixer import Fixer
from deidlint.fix.run import FixRun
from deidlint.partitions import (
    FINDING_FIELDS,
    Piece,
    by_block,
    check_piece,
    count_piece,
    counted,
    in_order,
    learn,
    need,
    survey_piece,
)
from deidlint.readers import BATCH_ROWS, Batch, ReadOptions, read, source_for


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """4,600 records with two text columns: two blocks of 4,096 rows, which pieces cut anywhere."""
    folder = tmp_path_factory.mktemp("pieces")
    texts = synth.generate(2300, seed=5)
    reports = [r.text for r in texts] * 2
    other = reports[len(reports) // 3:] + reports[:len(reports) // 3]
    path = folder / "two.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"a": x, "b": y}) + b"\n" for x, y in zip(reports, other, strict=True)))
    return path, {"a": reports, "b": other}


@pytest.fixture(scope="module")
def cli_model(corpus: tuple[Path, dict[str, list[str]]]) -> Fixer:
    """Restore's model as the command line learns it from the file."""
    path = corpus[0]
    fixer = Fixer(scanner(), "restore")
    source = source_for(str(path))
    assert source is not None
    FixRun(fixer).learn(lambda: (b.texts for b in read(source, ReadOptions(columns=("a", "b")))))
    return fixer


def _cuts(n: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    edges = sorted({0, n, *rng.sample(range(1, n), rng.randrange(1, 12))})
    return list(zip(edges, edges[1:], strict=False))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_restore_counts_over_any_pieces_equal_the_command_line(corpus: tuple[Path, dict[str, list[str]]],
                                                               cli_model: Fixer, seed: int) -> None:
    table, want = corpus[1], cli_model
    fixer = Fixer(scanner(), "restore")
    columns = ("a", "b")
    n = len(table["a"])
    pieces = [({c: table[c][lo:hi] for c in columns}, Piece.at("two.jsonl", lo, hi - lo)) for lo, hi in _cuts(n, seed)]
    surveyed = [survey_piece(fixer, part, columns) for part, _ in pieces]
    assert need(fixer, surveyed)
    learn(fixer, [f for part, piece in pieces for f in count_piece(fixer, part, columns, piece)], ["two.jsonl"])
    keys = {key for keys in surveyed for key in keys}
    assert keys == {key for key in want.contexts(table["a"]) + want.contexts(table["b"])}
    # Order included: a Counter's ties go to the word inserted first.
    assert all(list(fixer.model.fillers(k).items()) == list(want.model.fillers(k).items()) for k in keys)
    assert any(len(fixer.model.fillers(k)) > 1 for k in keys)


def test_fragments_follow_files_blocks_and_columns() -> None:
    piece = Piece(["x", "x", "y"], [BATCH_ROWS - 1, BATCH_ROWS, 0])
    assert [(key, column, rows) for key, column, rows in piece.fragments(["a", "b"])] == [
        (("x", 0, 0), "a", [0]), (("x", 0, 1), "b", [0]), (("x", 1, 0), "a", [1]), (("x", 1, 1), "b", [1]),
        (("y", 0, 0), "a", [2]), (("y", 0, 1), "b", [2])]
    first = [(("x", 0, 1), "p1 b"), (("x", 0, 0), "p1 a")]
    second = [(("x", 0, 0), "p2 a"), (("w", 0, 0), "p2 w")]
    assert in_order(first + second, ["w", "x"]) == ["p2 w", "p1 a", "p2 a", "p1 b"]


def test_check_piece_rows_are_the_pinned_fields() -> None:
    text = "Heart normal. Compared to ___ there is no change."
    [(key, rows)] = check_piece(scanner(), {"report": [text], "id": [7]}, ["report"], Piece.at("r.csv", 41, 1), "id")
    assert key == ("r.csv", 0, 0)
    [row] = rows
    assert dict(zip(FINDING_FIELDS, row, strict=True)) == {
        "path": "r.csv", "record": 41, "id": "7", "column": "report", "start": 26, "end": 29, "line": 1, "col": 27,
        "rule": "DL104", "name": "mimic-placeholder", "category": "trace", "severity": "error", "marker": "___",
        "fixable": True}


def test_by_block_gives_up_each_block_in_reading_order_as_the_next_begins() -> None:
    # Block 0 of x is split over two pieces; its column b from the first piece follows column a
    # from the second. Block 1 begins only after block 0 is given up.
    fragments = [(("x", 0, 0), "p1 a"), (("x", 0, 1), "p1 b"), (("x", 0, 0), "p2 a"), (("x", 0, 1), "p2 b"),
                 (("x", 1, 0), "p2 a1"), (("y", 0, 0), "p3 y")]
    stream = by_block(iter(fragments), ["x", "y"])
    assert next(stream) == ("x", ["p1 a", "p2 a", "p1 b", "p2 b"])
    assert list(stream) == [("x", ["p2 a1"]), ("y", ["p3 y"])]
    with pytest.raises(ValueError, match="out of reading order"):
        list(by_block([(("x", 1, 0), 1), (("x", 0, 0), 2)], ["x"]))


def test_counted_counts_records_with_findings_block_by_block() -> None:
    summary = Summary(files=1, records=10)
    rows = [("f", 1, None, "a", 0, 3, 1, 1, "DL104"), ("f", 1, None, "b", 0, 3, 1, 1, "DL104"),
            ("f", 5000, None, "a", 0, 3, 1, 1, "DL101")]
    assert list(counted(summary, [("f", [[rows[0]], [rows[1]]]), ("f", [[rows[2]]])])) == rows
    assert (summary.findings, summary.records_with_findings, dict(summary.by_rule)) == (3, 2, {"DL104": 2, "DL101": 1})


def test_csv_batches_start_at_every_block_whatever_the_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b\n" + "".join(f"row {i} text,other {i}\n" for i in range(3 * BATCH_ROWS + 7)))
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 10_000)  # chunks of a few hundred rows
    source = source_for(str(path))
    assert source is not None
    batches = [b for b in read(source, ReadOptions(columns=("a", "b"))) if isinstance(b, Batch)]
    assert [(b.column, b.rows[0], len(b.rows)) for b in batches] == [
        (c, k * BATCH_ROWS, BATCH_ROWS if k < 3 else 7) for k in range(4) for c in ("a", "b")]
    assert [b.texts[0] for b in batches[::2]] == [f"row {k * BATCH_ROWS} text" for k in range(4)]
