"""deidlint.hf: check and fix a Hugging Face datasets.Dataset with the command line's results,
in one process and over worker processes (Dataset.map's num_proc)."""

from __future__ import annotations

from typing import Any

import pytest

datasets = pytest.importorskip("datasets", reason="the hf extra is not installed")

from deidlint.hf import check_dataset, fix_dataset  # noqa: E402
from tests.conftest import EngineCorpus  # noqa: E402


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["record"], f["column"], f["start"], f["rule"])


@pytest.mark.parametrize("num_proc", [None, 2])
def test_check_dataset_equals_the_command_line(generated_corpus: EngineCorpus, num_proc: int | None) -> None:
    corpus = generated_corpus
    ds = datasets.Dataset.from_pandas(corpus.frame)
    found = check_dataset(ds, list(corpus.columns), name=str(corpus.path), num_proc=num_proc).to_list()
    if num_proc is None:  # one batch of the file's one block: the command line's own order
        assert found == corpus.findings
    assert sorted(found, key=_key) == sorted(corpus.findings, key=_key) and len(found) > 1000


@pytest.mark.parametrize("num_proc", [None, 2])
def test_fix_dataset_restore_equals_the_command_line(generated_corpus: EngineCorpus, num_proc: int | None) -> None:
    corpus = generated_corpus
    ds = datasets.Dataset.from_pandas(corpus.frame)
    fixed = fix_dataset(ds, list(corpus.columns), strategy="restore", num_proc=num_proc)
    assert fixed.column_names == ds.column_names
    for column in corpus.columns:
        assert fixed[column] == corpus.fixed[column].tolist()
    assert fixed["id"] == ds["id"] and fixed["label"] == ds["label"]


def test_real_reports_check_and_fix(openi_corpus: EngineCorpus) -> None:
    corpus = openi_corpus
    ds = datasets.Dataset.from_pandas(corpus.frame)
    found = check_dataset(ds, list(corpus.columns), name=str(corpus.path), num_proc=2).to_list()
    assert sorted(found, key=_key) == sorted(corpus.findings, key=_key)
    fixed = fix_dataset(ds, list(corpus.fix_columns), strategy="restore", num_proc=2)
    assert fixed["report"] == corpus.fixed["report"].tolist()
    assert fixed["wrapped"] == ds["wrapped"]


def test_a_missing_column_is_named() -> None:
    from deidlint.errors import UsageError

    with pytest.raises(UsageError, match="no column 'text'"):
        check_dataset(datasets.Dataset.from_dict({"caption": ["a b"]}), "text")
