"""Dask against the command line where order decides: restore's ties, the findings' order and the
written bytes, over partitionings with odd sizes, 1-row and empty partitions, for one text column
and for two (on the shared two-worker LocalCluster).

The corpus is a CSV of two 4,096-row blocks and a tail, read by the command line in 64 KB pyarrow
chunks (so that its chunks end mid-block, as 8 MB ones do in a large export). In each block a word
is written two ways equally often, one way in each column: restore writes the form it met first,
and the command line meets a block's first column before its second.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed")

import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from dask.delayed import delayed  # noqa: E402
from distributed import Client  # noqa: E402

from deidlint import readers  # noqa: E402
from deidlint.api import scanner  # noqa: E402
from deidlint.cli import main  # noqa: E402
from deidlint.dask import computed, findings_in_order, fix_frame, layout  # noqa: E402
from deidlint.findings import Summary  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

ROWS = 2 * readers.BATCH_ROWS + 500
#: (row, column, text) placed in a corpus of "No acute disease." cells: ties in block 0 and 1, then
#: the markers that restore fills from them.
PLACED = [
    (3, "b", "The pulmonary Vessels are normal."), (4, "b", "The pulmonary Vessels are normal."),
    (4000, "a", "The pulmonary vessels are normal."), (4001, "a", "The pulmonary vessels are normal."),
    (4100, "b", "Swan-Ganz catheter tip in the SVC."), (4101, "b", "Swan-Ganz catheter tip in the SVC."),
    (8000, "a", "Swan-ganz catheter tip in the SVC."), (8001, "a", "Swan-ganz catheter tip in the SVC."),
    (8500, "a", "The pulmonary XXXX are normal."), (8600, "b", "Swan-XXXX catheter tip in the SVC."),
    (8601, "a", "Comparison ___. Seen by Dr. ___ on ___."),
]
#: Partitions by size: one; odd sizes with empty ones; 1-row partitions over the ties and at a
#: block's edge; many even ones.
CUTS = {
    "one": [ROWS],
    "odd": [1, 4094, 3, 0, 2047, 1, 0, ROWS - 6146],
    "single-rows": [1] * 6 + [4088] + [1] * 4 + [0] + [ROWS - 4098],
    "even": [ROWS // 7] * 6 + [ROWS - 6 * (ROWS // 7)],
}


@pytest.fixture(scope="module")
def ties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The corpus as CSV (CRLF, every field quoted), and the command line's check and fix of it,
    for both columns and for column a alone, run here with 64 KB CSV chunks."""
    folder = tmp_path_factory.mktemp("ties")
    cells = {"a": ["No acute disease."] * ROWS, "b": ["No acute disease."] * ROWS}
    for row, column, text in PLACED:
        cells[column][row] = text
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(ROWS)], **cells})
    path = folder / "ties.csv"
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    assert path.stat().st_size > 3 * (64 << 10)
    out: dict[str, Any] = {"path": path, "frame": frame}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readers, "CSV_BLOCK_BYTES", 64 << 10)
        for columns in (("a", "b"), ("a",)):
            flags = [f for c in columns for f in ("--column", c)]
            fixed = folder / f"fixed-{'-'.join(columns)}.csv"
            assert main(["fix", "--strategy", "restore", "-j", "1", *flags, str(path), "-o", str(fixed)]) == 0
            report = io.StringIO()
            with contextlib.redirect_stdout(report):
                assert main(["check", "--format", "json", "-j", "1", *flags, str(path)]) == 1
            out[columns] = fixed, orjson.loads(report.getvalue())
    return out


def _cut(frame: pd.DataFrame, sizes: Sequence[int]) -> dd.DataFrame:
    edges = [0]
    for size in sizes:
        edges.append(edges[-1] + size)
    assert edges[-1] == len(frame)
    return dd.from_delayed([delayed(frame.iloc.__getitem__)(slice(lo, hi)) for lo, hi in zip(edges, edges[1:], strict=False)],
                           meta=frame.iloc[:0], verify_meta=False)


def test_the_command_line_meets_a_blocks_first_column_first(ties: dict[str, Any]) -> None:
    fixed = pd.read_csv(ties[("a", "b")][0], dtype=str, keep_default_na=False)
    # Column a of each block before its column b, though b's rows come first and a 64 KB chunk
    # ends between them.
    assert fixed["a"][8500] == "The pulmonary vessels are normal."
    assert fixed["b"][8600] == "Swan-ganz catheter tip in the SVC."


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("columns", [("a", "b"), ("a",)], ids=["two-columns", "one-column"])
def test_fix_frame_equals_the_command_line_for_any_partitioning(dask_client: Client, ties: dict[str, Any], cut: str,
                                                                 columns: tuple[str, ...]) -> None:
    frame = ties["frame"]
    got = fix_frame(_cut(frame, CUTS[cut]), list(columns), strategy="restore", name=str(ties["path"])).compute()
    want = pd.read_csv(ties[columns][0], dtype=str, keep_default_na=False)
    for column in ("id", "a", "b"):
        assert got[column].tolist() == want[column].tolist(), column


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("columns", [("a", "b"), ("a",)], ids=["two-columns", "one-column"])
def test_findings_stream_in_the_command_lines_order_for_any_partitioning(dask_client: Client, ties: dict[str, Any],
                                                                         cut: str, columns: tuple[str, ...]) -> None:
    ddf, name = _cut(ties["frame"], CUTS[cut]), str(ties["path"])
    summary = Summary(files=1, records=ROWS)
    rows = list(findings_in_order(ddf, scanner(), list(columns), layout(ddf, None, name), None, name, None, None,
                                  summary, window=2))
    report = ties[columns][1]
    assert [dict(zip(report["findings"][0], row, strict=True)) for row in rows] == report["findings"]
    assert summary.as_dict() == {k: v for k, v in report["summary"].items() if k in summary.as_dict()}


def test_parts_are_computed_a_window_at_a_time(dask_client: Client) -> None:
    started: list[int] = []

    def part(i: int) -> int:
        started.append(i)
        return i

    stream = computed([delayed(part, pure=False)(i) for i in range(12)], window=3)
    assert next(stream) == 0
    assert len(started) <= 4  # the window, and the one submitted as the first was taken
    assert list(stream) == list(range(1, 12))


def _odd_jsonl(frame: pd.DataFrame, path: Path) -> Path:
    """JSONL as no pandas writes it: keys out of column order, spacing, escapes, a slash."""
    with path.open("wb") as handle:
        for row in frame.itertuples(index=False):
            handle.write(b'{"b" : %s,"id":"%s/x",  "a":%s}\n' % (
                orjson.dumps(row.b), row.id.encode(), orjson.dumps(row.a).replace(b"e", b"\\u0065")))
    return path


@pytest.mark.parametrize(("fmt", "columns"), [("csv", ("a", "b")), ("csv", ("a",)), ("jsonl", ("a", "b")),
                                              ("parquet", ("a", "b"))])
def test_fix_on_a_local_cluster_writes_the_command_lines_bytes(ties: dict[str, Any], tmp_path: Path, fmt: str,
                                                               columns: tuple[str, ...]) -> None:
    """A file that is one partition comes out as the command line writes it, every untouched byte
    kept: CSV's quoting and CRLF, JSONL's key order, spacing and escapes, Parquet's layout."""
    flags = [f for c in columns for f in ("--column", c)]
    if fmt == "csv":
        path, want = ties["path"], ties[columns][0].read_bytes()
    else:
        path = tmp_path / f"ties.{fmt}"
        if fmt == "jsonl":
            _odd_jsonl(ties["frame"], path)
        else:
            ties["frame"].to_parquet(path, row_group_size=1000)
        done = run_cli("fix", "--strategy", "restore", "-j", "1", *flags, str(path), "-o", str(tmp_path / f"cli.{fmt}"))
        assert done.returncode == 0, done.stderr
        want = (tmp_path / f"cli.{fmt}").read_bytes()
    result = run_cli("fix", "--dask", "local", "-j", "2", "--strategy", "restore", *flags, str(path),
                     "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    [part] = (tmp_path / "out").iterdir()
    assert part.read_bytes() == want


def test_check_on_a_local_cluster_streams_the_command_lines_json(ties: dict[str, Any]) -> None:
    """Two columns, a CSV the command line read in 64 KB chunks: the same findings, order, summary."""
    result = run_cli("check", "--dask", "local", "-j", "2", "--format", "json", "--column", "a", "--column", "b",
                     str(ties["path"]))
    assert result.returncode == 1, result.stderr
    assert orjson.loads(result.stdout) == ties[("a", "b")][1]
