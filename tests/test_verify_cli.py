"""The verify/score commands: light import, one-line errors, and a short end-to-end run with resume."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deidlint.verify import cli

HEAVY = ("torch", "diffusers", "transformers", "accelerate", "matplotlib", "safetensors")

REPORT_SCHEMA = {
    "type": "object",
    "required": ["schema_version", "models", "comparisons", "settings", "versions", "seeds", "calibration", "threshold"],
    "properties": {
        "models": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "wen_mean", "memorized_rate", "copy_rate", "trace_attribution_share"],
                "properties": {
                    "name": {"type": "string"},
                    "wen_mean": {"type": "number", "minimum": 0},
                    "memorized_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "copy_rate": {"type": "number", "minimum": 0, "maximum": 1},
                    "trace_attribution_share": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                },
            },
        },
        "comparisons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["strategy", "memorized_rate_reduction", "ci"],
                "properties": {
                    "strategy": {"type": "string"},
                    "memorized_rate_reduction": {"type": ["number", "null"]},
                    "ci": {
                        "oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}]
                    },
                },
            },
        },
    },
}


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deidlint")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_registering_imports_nothing_heavy() -> None:
    code = (
        "import argparse, sys\n"
        "from deidlint.verify import cli\n"
        "cli.register(argparse.ArgumentParser().add_subparsers())\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_extra_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name, *a: None if name == "diffusers" else real(name, *a))
    assert run(["verify", "--ckpt", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deidlint: error: verify needs the 'verify' extra: pip install torch==2.13.0 'deidlint[verify]'")
    assert err.count("\n") == 1


def small_table(folder: Path, prompts: int = 48, duplicated: int = 2) -> Path:
    """A paired CSV of synthetic reports and bundled demo images, some pairs duplicated."""
    synth = pytest.importorskip("deidlint.synth")
    image = pytest.importorskip("PIL.Image")
    from deidlint.verify.dataset import DEMO_FILE

    with np.load(DEMO_FILE) as bundle:
        every = bundle["labels"].astype(int)
        # Both labels, alternating (the bundle holds them in blocks).
        chosen = np.stack([np.flatnonzero(every == 0), np.flatnonzero(every == 1)], axis=1).ravel()[:prompts]
        images, labels = bundle["images"][chosen], every[chosen]
    texts = [report.text for report in synth.generate(prompts, seed=3, labels=labels.tolist())]
    (folder / "img").mkdir(parents=True)
    rows = []
    for index, text in enumerate(texts):
        image.fromarray(images[index]).save(folder / "img" / f"{index}.png")
        finding = ["normal", "pneumonia"][labels[index]]
        rows += [{"text": text, "image": f"img/{index}.png", "finding": finding}] * (3 if index < duplicated else 1)
    path = folder / "pairs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "absent.csv"], "no such file"),
        (["--strategy", "scrub"], "unknown strategy 'scrub'"),
        (["--ckpt", "model.ckpt"], "--trust-pickle"),
        (["--steps", "0"], "at least 1"),
        (["--seeds", "0"], "at least 1"),
        (["--memorized", "absent.txt"], "--memorized absent.txt: no such file"),
        (["--schedule", "karras"], "unknown --schedule 'karras'"),
        (["--mitigate", "random-words,dropout"], "unknown mitigation 'dropout' (choose from random-words, "),
        (["--label-column", "label"], "no label column 'label'"),
        (["--label-column", "text"], "label column 'text' must hold two distinct values, not 48"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.ckpt").write_bytes(b"\x80\x04pickle")
    argv = ["verify", "--ckpt", "tiny", "--data", str(small_table(tmp_path)), "--out", "o"]
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deidlint: error: ") and message in err


def test_embedding_mitigation_and_reference_attribution_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert run(["verify", "--ckpt", "tiny", "--mitigate", "guidance", "--mitigate", "embedding", "--reference-attribution"]) == 2
    assert "cannot be combined with --mitigate embedding" in capsys.readouterr().err


def test_fast_and_explicit_sampling_settings_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert run(["verify", "--ckpt", "tiny", "--fast", "--sampling-steps", "5"]) == 2
    assert "give either --fast or those" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert run(["score", "--ckpt", "tiny", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """``--threads`` sets torch's process-wide thread count; put it back for later tests."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("restore_threads")
def test_verify_end_to_end_resumes_and_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fixing = pytest.importorskip("deidlint.fix", reason="deidlint.fix not available")
    if not hasattr(fixing, "fix_texts"):
        pytest.skip("deidlint.fix not available")
    from deidlint.verify import train

    data = small_table(tmp_path)
    out = tmp_path / "out"
    argv = [
        "verify", "--ckpt", "tiny", "--data", str(data), "--holdout", "0.34", "--strategy", "remove", "mask",
        "--steps", "4", "--checkpoint-every", "2", "--batch-size", "4", "--sampling-steps", "2", "--generations", "1",
        "--bootstrap", "20", "--out", str(out), "--no-progress", "--threads", "1", "--seeds", "2",
    ]  # fmt: skip

    # First run dies during the raw model's third step, after the checkpoint at step 2.
    original = train.learning_rate_at

    def crash(config: train.TrainConfig, step: int) -> float:
        if step == 3:
            raise RuntimeError("simulated interruption")
        return original(config, step)

    monkeypatch.setattr(train, "learning_rate_at", crash)
    with pytest.raises(RuntimeError):
        run(argv)
    assert json.loads((out / "models" / "raw" / "checkpoint" / "state.json").read_text())["step"] == 2
    monkeypatch.setattr(train, "learning_rate_at", original)

    assert run(argv) == 0
    report = json.loads((out / "report.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["schema_version"] == 3
    # copy_rate is the validated detector's share above its threshold, the replication section's.
    for model in report["models"]:
        assert model["copy_rate"] == report["replication"]["models"][model["name"]]["share_above_threshold"]
    assert report["calibration"]["copy"].startswith("Similarity is the cosine similarity of descriptors")
    assert [model["name"] for model in report["models"]] == ["raw", "remove", "mask", "raw-rep1", "remove-rep1", "mask-rep1"]
    assert [model["replicate"] for model in report["models"]] == [0, 0, 0, 1, 1, 1]
    assert [comparison["strategy"] for comparison in report["comparisons"]] == ["remove", "mask"]
    measures = report["comparisons"][0]["measures"]
    assert report["comparisons"][0]["replicate_pairs"] == 2 and measures["wen_mean_reduction"]["ci_replicates"] is not None
    assert report["comparisons"][0]["memorized_rate_reduction"] == measures["share_above_threshold_reduction"]["value"]
    # The threshold is fixed on the raw replicates' held-out prompts and never re-fitted.
    assert report["threshold"]["fitted_on"].endswith("x 2 training replicates")
    assert report["settings"]["protocol"]["name"] == "custom" and report["settings"]["precision"]["scoring"] == "fp32"
    text = (out / "report.md").read_text()
    assert "4 steps per model" in text and "warm-up 50 steps" in text and "2 training replicate(s)" in text
    assert "Warm-up (50 steps) exceeds the 4 training steps" in text
    raw = report["models"][0]
    assert raw["training"]["resumed_from_step"] == 2
    assert raw["trace_attribution_share"] is not None and raw["prompts_with_traces"] > 0
    assert raw["prompts"] == 32 and len(raw["per_prompt"]) == 32 and len(raw["heldout_wen"]) == 16
    assert report["data"]["duplicated_prompts"] == 2
    assert (out / "report.md").is_file() and (out / "plots" / "wen_histograms.png").is_file()
    assert (out / "plots" / "copies_remove.png").is_file()
    assert "<figure>" in (out / "report.html").read_text()
    assert set(report["replication"]["models"]) == {model["name"] for model in report["models"]}
    assert report["replication"]["validation"]["auc"]
    assert raw["analyses"]["outliers"]["zscore"]["count"] >= 0 and raw["analyses"]["pooled_tokens"]
    # The table pools replicates; without --label-column there is no label agreement, only KID.
    table = report["mitigations"]
    assert [(row["name"], row["replicates"]) for row in table] == [("raw", 2), ("remove", 2), ("mask", 2)]
    assert all(row["kid_ci"] and row["label_agreement"] is None for row in table)
    assert report["utility"]["labels"] is None and "--label-column" in report["calibration"]["utility"]

    # Rerunning reuses every trained model and score; --fail-under 2 cannot be met (exit 1).
    stamps = {path: path.stat().st_mtime_ns for path in out.glob("models/*/train.json")}
    capsys.readouterr()
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    memorized = tmp_path / "memorized.jsonl"  # the two duplicated pairs, known to the user as memorized
    memorized.write_text("".join(json.dumps({"text": row["text"]}) + "\n" for row in rows[:6:3]))
    assert run([*argv, "--fail-under", "2", "--memorized", str(memorized)]) == 1
    err = capsys.readouterr().err
    rerun = json.loads((out / "report.json").read_text())
    assert rerun["models"][0]["detection"]["positives"] == 2 and rerun["models"][0]["detection"]["negatives"] == 16
    assert err.count("already trained") == 6 and err.count("reusing scores") == 6
    assert "below --fail-under 2" in err
    assert stamps == {path: path.stat().st_mtime_ns for path in out.glob("models/*/train.json")}
    assert json.loads((out / "report.json").read_text())["models"][0]["wen_mean"] == raw["wen_mean"]

    # score re-scores a trained model and cleans with the strategy it was trained on.
    score_argv = ["score", "--ckpt", str(out / "models" / "remove"), "--data", str(data), "--holdout", "0.34",
                  "--sampling-steps", "2", "--generations", "1", "--bootstrap", "20", "--out", str(tmp_path / "s"),
                  "--no-progress", "--threads", "1"]  # fmt: skip
    assert run(score_argv) == 0
    scored = json.loads((tmp_path / "s" / "report.json").read_text())
    assert scored["models"][0]["name"] == "remove" and scored["comparisons"] == []
    assert scored["models"][0]["wen_mean"] == pytest.approx(report["models"][1]["wen_mean"], rel=1e-5)


@pytest.mark.slow
@pytest.mark.usefixtures("restore_threads")
def test_verify_mitigate_builds_the_table_beside_cleaning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixing = pytest.importorskip("deidlint.fix", reason="deidlint.fix not available")
    if not hasattr(fixing, "fix_texts"):
        pytest.skip("deidlint.fix not available")
    data, out = small_table(tmp_path), tmp_path / "out"
    argv = [
        "verify", "--ckpt", "tiny", "--data", str(data), "--holdout", "0.34", "--label-column", "finding",
        "--mitigate", "random-words,guidance,embedding", "--mitigate", "sample-dropping,caption-randomisation",
        "--steps", "4", "--batch-size", "4", "--sampling-steps", "2", "--generations", "1", "--bootstrap", "20",
        "--out", str(out), "--no-progress", "--threads", "1",
    ]  # fmt: skip
    assert run(argv) == 0
    report = json.loads((out / "report.json").read_text())
    table = {row["name"]: row for row in report["mitigations"]}
    assert list(table) == ["raw", "remove", "sample-dropping", "caption-randomisation", "random-words", "guidance", "embedding"]
    assert [table[name]["kind"] for name in table] == ["raw", "cleaning", "training-time", "training-time",
                                                       "inference-time", "inference-time", "inference-time"]  # fmt: skip
    assert report["settings"]["mitigations"] == list(table)[2:]
    assert [c["mitigation"] for c in report["mitigation_comparisons"]] == list(table)[2:]
    assert [c["strategy"] for c in report["comparisons"]] == ["remove"]  # the pinned list keeps to cleaning
    by_name = {model["name"]: model for model in report["models"]}
    # Inference-time mitigations score the raw model: its training, and no training of their own.
    assert by_name["guidance"]["training"] == by_name["raw"]["training"] and table["guidance"]["training_steps"] == 0
    assert by_name["sample-dropping"]["training"]["mitigation"]["name"] == "sample-dropping"
    assert by_name["sample-dropping"]["training"]["config"]["mitigation"] == "sample-dropping"
    for name, row in table.items():
        assert row["label_agreement"] is not None and 0 <= row["label_agreement"] <= 1 and row["kid"] is not None
        assert row["sampling_s_per_image"] > 0 and row["replication_share"] is not None
        assert (row["memorized_rate_reduction"] is None) == (name == "raw")
        if name != "raw":
            assert row["memorized_rate_reduction"] == pytest.approx(
                table["raw"]["memorized_rate"] - row["memorized_rate"]
            )
    labels = report["utility"]["labels"]
    assert labels["names"] == ["normal", "pneumonia"] and labels["heldout_images"] == 16
    assert "## Cleaning against the mitigations" in (out / "report.md").read_text()
    assert "Cleaning against the mitigations" in (out / "report.html").read_text()
    assert "utility" in report["calibration"]

    # Random words score the raw prompts with a word more: more tokens, unless the raw prompt already
    # fills the model's context (it is truncated there); the sampler mitigations score the raw prompts.
    def lengths(name: str) -> np.ndarray:
        with np.load(out / "scores" / f"{name}.npz", allow_pickle=False) as cached:
            return np.asarray(cached["train_lengths"])

    raw_lengths, worded = lengths("raw"), lengths("random-words")
    assert ((worded > raw_lengths) | (raw_lengths == raw_lengths.max())).all() and (worded > raw_lengths).any()
    assert (lengths("guidance") == raw_lengths).all() and (lengths("embedding") == raw_lengths).all()
    capsys.readouterr()
    assert run(argv) == 0  # a rerun reuses every model and every score, mitigations included
    err = capsys.readouterr().err
    assert err.count("already trained") == 4 and err.count("reusing scores") == 7
