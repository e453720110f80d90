"""deidlint.dask and ``check|fix --dask``: the command line's results on a Dask cluster, for any
partitioning (a distributed.LocalCluster of 2 workers, started and stopped here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed")

import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client  # noqa: E402

from deidlint.dask import check_frame, fix_frame  # noqa: E402
from tests.conftest import EngineCorpus, run_cli  # noqa: E402


def _rows(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as the JSON output writes them (a missing id is None, not pandas' NA)."""
    return [{k: (None if v is pd.NA or (isinstance(v, float) and v != v) else v) for k, v in zip(findings.columns, row,
                                                                                                  strict=True)}
            for row in findings.itertuples(index=False)]


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_check_frame_equals_the_command_line(dask_client: Client, generated_corpus: EngineCorpus, partitions: int) -> None:
    corpus = generated_corpus
    ddf = dd.from_pandas(corpus.frame, npartitions=partitions)
    found = check_frame(ddf, list(corpus.columns), id_column="id", name=str(corpus.path)).compute()
    assert list(found.columns) == list(corpus.findings[0])
    got = _rows(found)
    assert all(f["id"] == str(f["record"]) for f in got)  # the ids are the row numbers
    # The command line ran without --id-column; within a partition the order is its order.
    assert sorted((dict(f, id=None) for f in got), key=_key) == sorted(corpus.findings, key=_key)
    assert len(got) > 1000


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["record"], f["column"], f["start"], f["rule"])


@pytest.mark.parametrize("partitions", [1, 4])
def test_check_frame_on_real_reports(dask_client: Client, openi_corpus: EngineCorpus, partitions: int) -> None:
    corpus = openi_corpus
    found = check_frame(dd.from_pandas(corpus.frame, npartitions=partitions), list(corpus.columns),
                        name=str(corpus.path)).compute()
    assert sorted(_rows(found), key=_key) == sorted(corpus.findings, key=_key)


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_fix_frame_restore_equals_the_command_line(dask_client: Client, generated_corpus: EngineCorpus, partitions: int) -> None:
    corpus = generated_corpus
    fixed = fix_frame(dd.from_pandas(corpus.frame, npartitions=partitions), list(corpus.columns), strategy="restore",
                      name=str(corpus.path)).compute()
    for column in corpus.columns:
        assert fixed[column].tolist() == corpus.fixed[column].tolist()
    assert fixed["id"].tolist() == corpus.frame["id"].tolist() and fixed["label"].tolist() == corpus.frame["label"].tolist()
    assert (fixed["report"] != corpus.frame["report"]).sum() > 100


def test_fix_frame_restore_on_real_reports(dask_client: Client, openi_corpus: EngineCorpus) -> None:
    corpus = openi_corpus
    fixed = fix_frame(dd.from_pandas(corpus.frame, npartitions=5), list(corpus.fix_columns), strategy="restore",
                      name=str(corpus.path)).compute()
    assert fixed["report"].tolist() == corpus.fixed["report"].tolist()
    assert fixed["wrapped"].tolist() == corpus.frame["wrapped"].tolist()


def test_two_files_keep_their_own_row_numbers(dask_client: Client, generated_corpus: EngineCorpus, tmp_path: Path) -> None:
    frame = generated_corpus.frame
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    frame[:400].to_json(first, orient="records", lines=True)
    frame[400:1000].to_json(second, orient="records", lines=True)
    cli = run_cli("check", "--format", "json", "--column", "report", "-j", "1", str(first), str(second))
    import orjson

    want = orjson.loads(cli.stdout)["findings"]
    parts = [dd.from_pandas(frame[:400].assign(path=str(first)), npartitions=3),
             dd.from_pandas(frame[400:1000].assign(path=str(second)), npartitions=2)]
    got = _rows(check_frame(dd.concat(parts), ["report"], path_column="path").compute())
    assert got == want


@pytest.fixture(scope="module")
def small(generated_corpus: EngineCorpus, tmp_path_factory: pytest.TempPathFactory) -> EngineCorpus:
    """300 records, for the command line's runs on a LocalCluster of worker processes (slow to start)."""
    path = tmp_path_factory.mktemp("small") / "small.jsonl"
    generated_corpus.frame[:300].to_json(path, orient="records", lines=True)
    return EngineCorpus(path, generated_corpus.columns)


def test_the_command_line_on_a_local_cluster_writes_the_same_json(small: EngineCorpus) -> None:
    flags = [f for c in small.columns for f in ("--column", c)]
    result = run_cli("check", "--dask", "local", "-j", "2", "--format", "json", *flags, str(small.path))
    assert result.returncode == 1, result.stderr
    assert result.stdout == small.check_json


def test_fix_on_a_local_cluster_writes_partitions_equal_to_the_command_lines_fix(small: EngineCorpus,
                                                                                tmp_path: Path) -> None:
    parquet = tmp_path / "in.parquet"
    small.frame.to_parquet(parquet, row_group_size=100)
    flags = [f for c in small.columns for f in ("--column", c)]
    result = run_cli("fix", "--dask", "local", "-j", "2", "--strategy", "restore", *flags, str(parquet),
                     "-o", str(tmp_path / "out"), "--report-drops", str(tmp_path / "drops.jsonl"))
    assert result.returncode == 0, result.stderr
    parts = sorted((tmp_path / "out").glob("part.*.parquet"))
    assert parts
    fixed = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert list(fixed.columns) == list(small.frame.columns)
    assert all(fixed[c].tolist() == small.fixed[c].tolist() for c in small.columns)
    assert "0 finding(s) remain" in result.stderr
    assert (tmp_path / "drops.jsonl").read_text().count("\n") > 10


@pytest.mark.parametrize(("args", "message"), [
    (["--dask-scheduler", "tcp://127.0.0.1:9"], "deidlint: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    (["--dask-scheduler", "nowhere://x"], "deidlint: error: cannot reach the Dask scheduler at nowhere://x"),
], ids=["nobody-listens", "no-such-scheme"])
def test_a_bad_scheduler_address_is_one_line_and_exit_2(generated_corpus: EngineCorpus, args: list[str],
                                                        message: str) -> None:
    result = run_cli("check", *args, str(generated_corpus.path))
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_without_the_extra_the_flag_says_what_to_install(generated_corpus: EngineCorpus) -> None:
    hide = "import sys; sys.modules.update(distributed=None); from deidlint.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", hide, "check", "--dask", "local", str(generated_corpus.path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == ("deidlint: error: --dask needs distributed, which is not installed: "
                             "pip install 'deidlint[dask]'\n")
    hide = "import sys; sys.modules.update(dask=None); import deidlint.dask"
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True)
    assert "pip install 'deidlint[dask]'" in result.stderr


def test_dask_refuses_what_it_cannot_do(generated_corpus: EngineCorpus, tmp_path: Path) -> None:
    path = str(generated_corpus.path)
    for args in (["check", "--dask", "local", "--show-context", "5", path],
                 ["fix", "--dask", "local", "--in-place", path],
                 ["check", "--dask", "local", str(tmp_path / "none-*.jsonl")]):
        result = run_cli(*args)
        assert result.returncode == 2 and result.stderr.startswith("deidlint: error: ") and result.stderr.count("\n") == 1
