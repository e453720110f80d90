"""The engine-neutral pieces (deidlint.partitions): restore's counts reduced over any cut of a
corpus into pieces equal the command line's, in value and in first-insertion order (which breaks
ties), and findings come back in the command line's order."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from deidlint import synth
from deidlint.api import scanner
from deidlint.fix.fixer import Fixer
from deidlint.fix.run import FixRun
from deidlint.partitions import FINDING_FIELDS, Piece, check_piece, count_piece, in_order, learn, need, survey_piece
from deidlint.readers import BATCH_ROWS, ReadOptions, read, source_for


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
