"""The wheel carries the built-in rule packs and family records, and the core never imports the heavy extras."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_contains_the_builtin_packs(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("deidlint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packs = {p.relative_to(REPO / "rules").as_posix() for p in (REPO / "rules").glob("**/*.toml")}
    assert "families/mimic.toml" in packs and {f"deidlint/_rules/{p}" for p in packs} <= names


def test_core_does_not_import_torch_diffusers_dask_or_datasets() -> None:
    code = ("import sys, deidlint, deidlint.cli, deidlint.api, deidlint.fix, deidlint.partitions, deidlint.annotation;"
            "deidlint.cli.build_parser();"
            "bad = [m for m in ('torch', 'diffusers', 'transformers', 'accelerate', 'dask', 'distributed', 'datasets',"
            " 'fsspec') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
