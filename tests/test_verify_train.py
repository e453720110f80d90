"""The fine-tuning loop: deterministic batches, exact resume, LoRA merge."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("accelerate")

from accelerate import Accelerator  # noqa: E402
from diffusers import DDPMScheduler, UNet2DConditionModel  # noqa: E402

from deidlint.verify import train as tr  # noqa: E402
from deidlint.verify.mitigation_records import MITIGATIONS  # noqa: E402
from deidlint.verify.models import TINY_SCHEDULER_CONFIG, DiffusionModel, ModelSpec  # noqa: E402
from tests.verify_support import miniature_unet  # noqa: E402


def small_unet() -> UNet2DConditionModel:
    return miniature_unet(1)


def model_and_data() -> tuple[DiffusionModel, tr.TrainingSet]:
    unet = small_unet()
    model = DiffusionModel(
        unet=unet,
        text_encoder=torch.nn.Identity(),
        tokenizer=None,  # type: ignore[arg-type]  # the training set is pre-encoded
        vae=None,
        noise_scheduler=DDPMScheduler.from_config(TINY_SCHEDULER_CONFIG),
        spec=ModelSpec(kind="tiny"),
        max_length=6,
        text_attention_mask=True,
        unet_attention_mask=True,
    )
    generator = torch.Generator().manual_seed(1)
    data = tr.TrainingSet(
        embeddings=torch.randn(5, 6, 16, generator=generator),
        masks=torch.ones(5, 6, dtype=torch.long),
        prompt_of_row=torch.tensor([0, 1, 2, 3, 4, 4, 4]),
        latents=torch.randn(7, 1, 8, 8, generator=generator),
        empty_embedding=torch.randn(1, 6, 16, generator=generator),
        empty_mask=torch.tensor([[1, 1, 0, 0, 0, 0]]),
        prompts=[f"prompt {index}" for index in range(5)],  # pre-encoded above; read only by caption randomisation
    )
    return model, data


def config(**changes: object) -> tr.TrainConfig:
    base = {
        "steps": 4,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "warmup_steps": 2,
        "cond_dropout": 0.25,
        "seed": 3,
        "checkpoint_every": 2,
    }
    return tr.TrainConfig(**{**base, **changes})  # type: ignore[arg-type]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return UNet2DConditionModel.from_pretrained(folder / "unet").state_dict()


def test_batches_cover_every_row_once_per_epoch() -> None:
    seen = np.concatenate([tr.batch_rows(0, step, 4, 10) for step in range(5)])
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert sorted(seen[10:20].tolist()) == list(range(10))
    assert not np.array_equal(seen[:10], seen[10:20])


@pytest.mark.parametrize("mitigation", [None, "sample-dropping"])
def test_interrupted_training_resumes_to_identical_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mitigation: str | None
) -> None:
    model, data = model_and_data()
    # A window of 3 samples fills in the first step, so the running threshold drops samples from
    # the second on, and its state must come back from the checkpoint for the weights to agree.
    record = MITIGATIONS["sample-dropping"]
    monkeypatch.setitem(MITIGATIONS, "sample-dropping", dataclasses.replace(record, defaults={"quantile": 0.5, "window": 3}))

    def run(folder: Path) -> dict:
        """Train the same fresh UNet on the same data into *folder* (resuming what is there)."""
        return tr.train(model, small_unet(), data, config(mitigation=mitigation), folder, Accelerator(cpu=True),
                        data_key="d", strategy=None, label="t", show_progress=False)

    whole = run(tmp_path / "whole")
    assert whole["resumed_from_step"] == 0
    assert not (tmp_path / "whole" / tr.CHECKPOINT_DIR).exists()

    original = tr.learning_rate_at

    def crash_at_step_three(cfg: tr.TrainConfig, step: int) -> float:
        if step == 3:
            raise RuntimeError("simulated crash")
        return original(cfg, step)

    monkeypatch.setattr(tr, "learning_rate_at", crash_at_step_three)
    with pytest.raises(RuntimeError):
        run(tmp_path / "split")
    assert (tmp_path / "split" / tr.CHECKPOINT_DIR / "state.json").is_file()
    assert tr.load_result(tmp_path / "split", config(mitigation=mitigation), "d") is None
    monkeypatch.setattr(tr, "learning_rate_at", original)

    resumed = run(tmp_path / "split")
    assert resumed["resumed_from_step"] == 2
    assert resumed["mitigation"] == whole["mitigation"]
    if mitigation:
        assert whole["mitigation"]["dropped_samples"] > 0
    assert tr.load_result(tmp_path / "split", config(mitigation=mitigation), "d") is not None
    assert tr.load_result(tmp_path / "split", config(steps=5, mitigation=mitigation), "d") is None
    assert tr.load_result(tmp_path / "split", config(mitigation=mitigation), "other data") is None
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "split")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not torch.equal(a["conv_in.weight"], small_unet().state_dict()["conv_in.weight"])


def test_a_checkpoint_from_other_settings_is_not_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, data = model_and_data()
    original = tr.learning_rate_at
    monkeypatch.setattr(
        tr, "learning_rate_at", lambda cfg, step: (_ for _ in ()).throw(RuntimeError()) if step == 3 else original(cfg, step)
    )
    with pytest.raises(RuntimeError):
        tr.train(
            model,
            small_unet(),
            data,
            config(),
            tmp_path,
            Accelerator(cpu=True),
            data_key="d",
            strategy=None,
            label="t",
            show_progress=False,
        )
    monkeypatch.setattr(tr, "learning_rate_at", original)
    result = tr.train(
        model,
        small_unet(),
        data,
        config(learning_rate=5e-4),
        tmp_path,
        Accelerator(cpu=True),
        data_key="d",
        strategy=None,
        label="t",
        show_progress=False,
    )
    assert result["resumed_from_step"] == 0


def test_lora_adapters_are_merged_into_a_plain_unet(tmp_path: Path) -> None:
    pytest.importorskip("peft")
    model, data = model_and_data()
    result = tr.train(
        model,
        small_unet(),
        data,
        config(lora_rank=2, steps=2),
        tmp_path,
        Accelerator(cpu=True),
        data_key="d",
        strategy="remove",
        label="t",
        show_progress=False,
    )
    base = small_unet().state_dict()
    merged = weights(tmp_path)
    assert set(merged) == set(base)
    changed = [name for name in base if not torch.equal(base[name], merged[name])]
    assert changed and all(".attn" in name for name in changed)
    assert 0 < result["trainable_parameters"] < sum(value.numel() for value in base.values())
