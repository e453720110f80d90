"""Shared fixtures: the public data in ../shared, and a CLI runner that behaves like a user's shell."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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
