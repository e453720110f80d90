"""Shared fixtures: the public data in ../shared, and a CLI runner that behaves like a user's shell."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deidlint.corpus import read_openi

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
IU_REPORTS = SHARED / "data" / "iu-xray" / "NLMCXR_reports.tgz"


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m deidlint`` in a subprocess, as a user or CI job would."""
    return subprocess.run([sys.executable, "-m", "deidlint", *args], capture_output=True, text=True,
                          cwd=cwd, input=input, timeout=600)


def iter_openi_reports() -> Iterator[tuple[str, str, str]]:
    """(report file, section label, section text) for every non-empty section of the Open-I reports."""
    for report in read_openi(IU_REPORTS):
        for label, text in report.sections:
            yield report.name, label, text


@pytest.fixture(scope="session")
def openi_sections() -> list[tuple[str, str, str]]:
    """The real Open-I report sections, read from ../shared (skipped when it is absent)."""
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS} (../shared is absent)")
    return list(iter_openi_reports())


# -- corpora for the engines (Dask, datasets): a file, and what the command line makes of it ----


class EngineCorpus:
    """A JSONL corpus with two text columns, and the command line's ``check --format json`` and
    ``fix --strategy restore`` of it (``-j 1``; of *fix_columns* only, when named): what every
    engine must reproduce."""

    def __init__(self, path: Path, columns: tuple[str, ...], fix_columns: tuple[str, ...] = ()) -> None:
        import orjson
        import pandas as pd

        self.path, self.columns, self.fix_columns = path, columns, fix_columns or columns
        self.frame = pd.read_json(path, lines=True, dtype=False)
        flags = [f for c in columns for f in ("--column", c)]
        found = run_cli("check", "--format", "json", "-j", "1", *flags, str(path))
        assert found.returncode in (0, 1), found.stderr
        self.check_json = found.stdout
        self.findings = orjson.loads(found.stdout)["findings"]
        fixed = path.with_name(path.stem + ".fixed.jsonl")
        flags = [f for c in self.fix_columns for f in ("--column", c)]
        done = run_cli("fix", "--strategy", "restore", "-j", "1", *flags, str(path), "-o", str(fixed))
        assert done.returncode in (0, 1), done.stderr
        self.fixed = pd.read_json(fixed, lines=True, dtype=False)


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    import orjson

    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


@pytest.fixture(scope="session")
def generated_corpus(tmp_path_factory: pytest.TempPathFactory) -> EngineCorpus:
    """1,500 generated reports, a second column of other generated reports beside them."""
    from deidlint import synth

    folder = tmp_path_factory.mktemp("engines")
    first, second = folder / "a.jsonl", folder / "b.jsonl"
    synth.write_dataset(first, 1500, seed=3)
    synth.write_dataset(second, 1500, seed=4)
    import pandas as pd

    a, b = pd.read_json(first, lines=True, dtype=False), pd.read_json(second, lines=True, dtype=False)
    rows = [{"id": str(i), "report": r, "addendum": s, "label": int(n)}
            for i, (r, s, n) in enumerate(zip(a["report"], b["report"], a["label"], strict=True))]
    return EngineCorpus(_write_jsonl(folder / "generated.jsonl", rows), ("report", "addendum"))


@pytest.fixture(scope="session")
def openi_corpus(tmp_path_factory: pytest.TempPathFactory) -> EngineCorpus:
    """The real Open-I reports as curators export them: one line, and hard-wrapped (from ../shared);
    the fix of the one-line export only, to keep the suite short."""
    if not IU_REPORTS.is_file():
        pytest.skip(f"public Open-I reports not found at {IU_REPORTS} (../shared is absent)")
    rows = [{"id": r.name, "report": r.single_line(), "wrapped": r.wrapped()} for r in read_openi(IU_REPORTS)]
    return EngineCorpus(_write_jsonl(tmp_path_factory.mktemp("openi") / "openi.jsonl", rows), ("report", "wrapped"),
                        ("report",))


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A distributed cluster of two in-process workers, started in a second and stopped at the end:
    a real scheduler and workers, shared by the Dask tests."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client
