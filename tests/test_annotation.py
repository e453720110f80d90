"""R2Gen's annotation.json: read with records numbered across the splits, rewritten with its
structure, its other fields and its layout kept byte for byte; refused when it is something else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deidlint import synth
from tests.conftest import EngineCorpus, run_cli

CLEAN = "The heart is normal in size. The lungs are clear."


def _annotation(reports: list[str], splits: tuple[int, int] = (60, 20)) -> dict[str, list[dict[str, object]]]:
    train, val = splits
    cut = {"train": reports[:train], "val": reports[train:train + val], "test": reports[train + val:]}
    return {split: [{"id": f"CXR{split}{k}", "report": text, "image_path": [f"CXR{k}/0.png", f"CXR{k}/1.png"],
                     "split": split} for k, text in enumerate(texts)] for split, texts in cut.items()}


@pytest.fixture(scope="module")
def reports() -> list[str]:
    return [CLEAN if i % 5 == 0 else r.text + " Aorta é normal." for i, r in enumerate(synth.generate(100, seed=2))]


@pytest.mark.parametrize("style", [{}, {"indent": 4}, {"ensure_ascii": False, "separators": (",", ":")}],
                         ids=["json.dump", "indent", "compact-utf8"])
def test_fix_keeps_structure_fields_and_layout(tmp_path: Path, reports: list[str], style: dict[str, object]) -> None:
    doc = _annotation(reports)
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps(doc, **style), encoding="utf-8")  # type: ignore[arg-type]
    out = tmp_path / "fixed.json"
    found = json.loads(run_cli("check", "--column", "report", "--format", "json", str(path)).stdout)["findings"]
    hit = {f["record"] for f in found}
    result = run_cli("fix", "--column", "report", "--strategy", "restore", str(path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    fixed = json.loads(out.read_text(encoding="utf-8"))
    assert list(fixed) == ["train", "val", "test"] and [len(v) for v in fixed.values()] == [60, 20, 20]
    pairs = [(old, new) for split, records in doc.items() for old, new in zip(records, fixed[split], strict=True)]
    for old, new in pairs:
        assert {k: v for k, v in old.items() if k != "report"} == {k: v for k, v in new.items() if k != "report"}
    assert {row for row, (old, new) in enumerate(pairs) if old["report"] != new["report"]} == hit
    assert 20 < len(hit) < len(pairs)
    # Re-serialised the same way, the document is the file: only the values changed.
    assert out.read_text(encoding="utf-8") == json.dumps(fixed, **style)  # type: ignore[arg-type]
    assert run_cli("check", "--column", "report", str(out)).returncode == 0


def test_nothing_to_fix_is_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "annotation.json"
    path.write_bytes(json.dumps(_annotation([CLEAN] * 10, (6, 2)), indent=2).encode())
    out = tmp_path / "out.json"
    result = run_cli("fix", "--column", "report", str(path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == path.read_bytes()


def test_records_are_numbered_across_splits_and_named_by_id(tmp_path: Path) -> None:
    doc = _annotation([CLEAN, CLEAN, "Compared to ___ no change.", CLEAN], (2, 1))
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps(doc))
    result = run_cli("check", "--format", "json", "--id-column", "id", str(path))
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["record"], finding["id"], finding["column"]) == (2, "CXRval0", "report")


def test_real_reports_as_r2gen_annotation_match_the_jsonl_export(openi_corpus: EngineCorpus, tmp_path: Path) -> None:
    """R2Gen's iu_xray annotation.json is these reports: the same findings as the JSONL export."""
    frame = openi_corpus.frame
    n = len(frame)
    doc = {"train": [], "val": [], "test": []}
    for i, (name, text) in enumerate(zip(frame["id"], frame["report"], strict=True)):
        split = "train" if i < 0.7 * n else "val" if i < 0.8 * n else "test"
        doc[split].append({"id": name, "report": text, "image_path": [f"{name}/0.png"], "split": split})
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps(doc))
    result = run_cli("check", "--column", "report", "--format", "json", str(path))
    want = [dict(f, path=str(path)) for f in openi_corpus.findings if f["column"] == "report"]
    assert json.loads(result.stdout)["findings"] == want


@pytest.mark.parametrize("body", ['["a b"]', '{"train": {"id": 1}}', '{"train": ["a b"]}', "{nope"])
def test_another_json_is_refused_when_named_and_skipped_in_a_folder(tmp_path: Path, body: str) -> None:
    other = tmp_path / "data" / "config.json"
    other.parent.mkdir()
    other.write_text(body)
    result = run_cli("check", str(other))
    assert result.returncode == 2 and result.stderr.startswith(f"deidlint: error: {other}: ")
    assert result.stderr.count("\n") == 1
    (other.parent / "r.jsonl").write_text(json.dumps({"report": "Compared to ___ stable."}) + "\n")
    result = run_cli("check", str(other.parent))
    assert result.returncode == 1 and "in 1 of 1 records (2 files)" in result.stdout  # counted, as a table without text is


def test_a_non_string_report_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "annotation.json"
    path.write_text(json.dumps({"train": [{"id": "a", "report": CLEAN}, {"id": "b", "report": 5}]}))
    result = run_cli("check", "--column", "report", str(path))
    assert result.returncode == 2
    assert result.stderr == f"deidlint: error: {path}:1: train[1]: field 'report' is not a string\n"
