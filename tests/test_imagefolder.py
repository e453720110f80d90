"""An imagefolder's captions (metadata.jsonl / metadata.csv, as diffusers' train_text_to_image.py
reads them): check and fix keep file_name and every other column, byte for byte where nothing
was fixed, and the fixed folder still loads as an imagefolder."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from deidlint import synth
from tests.conftest import run_cli

#: A 1x1 PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
CLEAN = "The lungs are clear. No pleural effusion or pneumothorax."


@pytest.fixture(scope="module")
def captions() -> list[str]:
    reports = [r.text for r in synth.generate(40, seed=11)]
    return [CLEAN if i % 4 == 0 else text for i, text in enumerate(reports)]


def _folder(root: Path, captions: list[str], fmt: str) -> Path:
    root.mkdir()
    rows = [{"file_name": f"img_{i:03d}.png", "text": text, "view": "PA" if i % 2 else "AP", "score": i / 8}
            for i, text in enumerate(captions)]
    for row in rows:  # an image per caption, as pipelines store them
        (root / str(row["file_name"])).write_bytes(PNG)
    if fmt == "jsonl":
        (root / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        with open(root / "metadata.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return root / f"metadata.{fmt}"


def _records(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_fix_keeps_every_other_column_and_every_unfixed_record(tmp_path: Path, captions: list[str], fmt: str) -> None:
    meta = _folder(tmp_path / "train", captions, fmt)
    found = run_cli("check", "--column", "text", "--format", "json", str(meta))
    assert found.returncode == 1
    hit = {f["record"] for f in json.loads(found.stdout)["findings"]}
    out = tmp_path / "fixed" / meta.name
    shutil.copytree(meta.parent, out.parent, ignore=shutil.ignore_patterns("metadata.*"))
    result = run_cli("fix", "--column", "text", "--strategy", "restore", str(meta), "-o", str(out))
    assert result.returncode == 0, result.stderr
    before, after = _records(meta), _records(out)
    assert len(before) == len(after) and 0 < len(hit) < len(before)
    for i, (old, new) in enumerate(zip(before, after, strict=True)):
        assert {k: v for k, v in old.items() if k != "text"} == {k: v for k, v in new.items() if k != "text"}
        assert (old["text"] != new["text"]) == (i in hit)
    if fmt == "jsonl":  # untouched lines are the same bytes
        lines = zip(meta.read_bytes().splitlines(), out.read_bytes().splitlines(), strict=True)
        assert all(a == b for i, (a, b) in enumerate(lines) if i not in hit)
    datasets = pytest.importorskip("datasets", reason="the hf extra is not installed")
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out.parent), split="train")
    assert loaded["text"] == [r["text"] for r in after] and loaded.num_rows == len(after)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_nothing_to_fix_writes_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    meta = _folder(tmp_path / "train", [CLEAN, "Heart size is normal. Mediastinum is unremarkable."], fmt)
    out = tmp_path / f"out.{fmt}"
    assert run_cli("check", "--column", "text", str(meta)).returncode == 0
    result = run_cli("fix", "--column", "text", str(meta), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == meta.read_bytes()
