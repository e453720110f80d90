"""Memorization scores: Wen et al.'s detection metric, token attribution, rates and intervals.

Wen et al. (ICLR 2024, "Detecting, Explaining, and Mitigating Memorization in Diffusion Models")
observe that a memorized prompt pulls the noise prediction far from the unconditional one: the
magnitude ``||eps(x_t, c) - eps(x_t, empty)||_2`` over the whole latent, averaged over the DDIM
sampling steps of guided generations, separates memorized prompts (AUC 0.99 on Stable
Diffusion). The gradient of that magnitude with respect to the text encoder's output embeddings
says which tokens drive it; Dutt (2025) found de-identification traces take a large share.

Everything here is computed in one guided sampling pass per prompt and generation: the metric at
each step, its gradient (when attribution is on), and the final image used for the copy rate.
Initial noise is seeded per (item, generation), so the raw and cleaned models of one item start
from the same noise and batching never changes a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, UNet2DConditionModel
from tqdm.auto import tqdm

from deidlint.verify.mitigations import MITIGATIONS, guidance_schedule, minimise_embedding
from deidlint.verify.models import DiffusionModel
from deidlint.verify.reference_attribution import reference_token_gradients

THUMBNAIL = 64
"""Largest side of the grey thumbnails kept for the copy rate and the plots."""


@dataclass(frozen=True)
class ScoreConfig:
    """Sampling settings; Wen et al.'s reference is DDIM, 50 steps, 4 generations, guidance 7.5."""

    sampling_steps: int = 50
    generations: int = 4
    guidance: float = 7.5
    attribution: bool = True
    batch_size: int = 8
    """Prompts per batch (each expands to ``generations`` samples)."""
    seed: int = 0
    mixed_precision: str = "no"
    reference_attribution: bool = False
    """Attribution along the seed paper's swapped trajectory (:mod:`deidlint.verify.reference_attribution`)."""
    mitigation: str | None = None
    """An inference-time mitigation of the sampler (:mod:`deidlint.verify.mitigations`, stage
    ``embedding`` or ``guidance``); prompt-stage ones rewrite the prompts before they get here."""
    mitigation_target: float | None = None
    """``embedding``: stop optimising once a prompt's first-step metric is at most this."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PromptScores:
    """Per-prompt results of :func:`score_prompts`."""

    wen: np.ndarray
    """Detection metric, mean over steps and generations, ``(prompts,)``."""
    wen_per_step: np.ndarray
    """Metric per generation and step, ``(prompts, generations, steps)``."""
    tokens: list[list[str]]
    """Content tokens of each prompt (no special or padding tokens)."""
    offsets: list[list[tuple[int, int]] | None]
    """Character span of each content token (``None`` if the tokenizer cannot tell)."""
    attributions: list[np.ndarray]
    """Per content token: L2 norm of the metric's gradient, mean over steps and generations."""
    thumbnails: np.ndarray
    """Final generated images as grey uint8 ``(prompts, generations, side, side)``."""


def noise_seed(seed: int, key: int, generation: int) -> int:
    """Seed of one generation's initial noise; ``key`` identifies the item, not its batch slot."""
    return int(np.random.SeedSequence([seed, key, generation]).generate_state(1)[0])


def wen_trajectory(
    unet: UNet2DConditionModel,
    scheduler: DDIMScheduler,
    cond: torch.Tensor,
    cond_mask: torch.Tensor | None,
    uncond: torch.Tensor,
    uncond_mask: torch.Tensor | None,
    latents: torch.Tensor,
    steps: int,
    guidance: float | Sequence[float],
    attribution: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Run guided DDIM sampling and measure the text-conditional noise along the way.

    ``cond``/``latents`` hold one row per sample; ``uncond`` is a single empty-prompt row.
    ``guidance`` is one scale, or one per sampling step (a guidance schedule).
    Returns the metric per sample and step ``(samples, steps)``, the per-token gradient norm
    summed over steps ``(samples, tokens)`` (``None`` without attribution) and the final latents.
    The gradient is taken with ``x_t`` held fixed, i.e. of each step's metric alone. Metric and
    gradient are computed in float32 for half-precision models and in float64 for float64 ones.
    """
    scheduler.set_timesteps(steps, device=latents.device)
    scales = [float(guidance)] * steps if isinstance(guidance, (int, float)) else [float(g) for g in guidance]
    if len(scales) != len(scheduler.timesteps):
        raise ValueError(f"{len(scales)} guidance scales for {len(scheduler.timesteps)} sampling steps")
    samples = latents.shape[0]
    uncond = uncond.expand(samples, -1, -1)
    uncond_mask = uncond_mask.expand(samples, -1) if uncond_mask is not None else None
    precision = torch.promote_types(latents.dtype, torch.float32)
    norms = torch.zeros(samples, len(scheduler.timesteps), device=latents.device, dtype=precision)
    gradients = torch.zeros(cond.shape[:2], device=latents.device, dtype=precision) if attribution else None
    x = latents * scheduler.init_noise_sigma
    for index, t in enumerate(scheduler.timesteps):
        x_in = scheduler.scale_model_input(x, t)
        scale = _eps_scale(scheduler, t)
        if attribution:
            with torch.no_grad():
                eps_uncond = unet(x_in, t, uncond, encoder_attention_mask=uncond_mask).sample
            leaf = cond.detach().clone().requires_grad_(True)
            eps_cond = unet(x_in, t, leaf, encoder_attention_mask=cond_mask).sample
            distance = ((eps_cond.to(precision) - eps_uncond.to(precision)) * scale).flatten(1).norm(dim=1)
            (gradient,) = torch.autograd.grad(distance.sum(), leaf)
            assert gradients is not None
            gradients += gradient.to(precision).norm(dim=-1)
            eps_cond, distance = eps_cond.detach(), distance.detach()
        else:
            with torch.no_grad():
                both = unet(
                    torch.cat([x_in, x_in]),
                    t,
                    torch.cat([uncond, cond]),
                    encoder_attention_mask=torch.cat([uncond_mask, cond_mask])
                    if cond_mask is not None and uncond_mask is not None
                    else None,
                ).sample
            eps_uncond, eps_cond = both.chunk(2)
            distance = ((eps_cond.to(precision) - eps_uncond.to(precision)) * scale).flatten(1).norm(dim=1)
        norms[:, index] = distance
        with torch.no_grad():
            guided = eps_uncond + scales[index] * (eps_cond - eps_uncond)
            x = scheduler.step(guided, t, x).prev_sample
    return norms, gradients, x


def _eps_scale(scheduler: DDIMScheduler, t: torch.Tensor) -> float:
    """Factor turning a difference of model outputs into a difference of noise predictions.

    For v-prediction ``eps = sqrt(alpha_bar) * v + sqrt(1 - alpha_bar) * x_t``, so the text-
    conditional part of eps is ``sqrt(alpha_bar)`` times that of v.
    """
    if scheduler.config.prediction_type == "v_prediction":
        return float(scheduler.alphas_cumprod[int(t)].sqrt())
    return 1.0


def content_tokens(
    model: DiffusionModel, prompts: Sequence[str], length: int
) -> tuple[list[list[int]], list[list[str]], list[list[tuple[int, int]] | None]]:
    """Positions, strings and character spans of the non-special, non-padding tokens."""
    kwargs: dict[str, Any] = {
        "padding": "max_length",
        "max_length": length,
        "truncation": True,
        "return_special_tokens_mask": True,
    }
    try:
        encoded = model.tokenizer(list(prompts), return_offsets_mapping=True, **kwargs)
        offsets_all: list[Any] | None = encoded["offset_mapping"]
    except NotImplementedError:  # slow tokenizers cannot map tokens back to characters
        encoded = model.tokenizer(list(prompts), **kwargs)
        offsets_all = None
    positions, tokens, offsets = [], [], []
    for row, ids in enumerate(encoded["input_ids"]):
        keep = [
            i
            for i, (mask, special) in enumerate(
                zip(encoded["attention_mask"][row], encoded["special_tokens_mask"][row], strict=True)
            )
            if mask and not special
        ]
        positions.append(keep)
        tokens.append(model.tokenizer.convert_ids_to_tokens([ids[i] for i in keep]))
        offsets.append([tuple(offsets_all[row][i]) for i in keep] if offsets_all is not None else None)
    return positions, tokens, offsets


def score_prompts(
    model: DiffusionModel,
    prompts: Sequence[str],
    keys: Sequence[int],
    config: ScoreConfig,
    device: torch.device,
    *,
    label: str = "score",
    show_progress: bool = True,
) -> PromptScores:
    """Wen metric, attribution and generated thumbnails for ``prompts`` (one ``key`` each)."""
    prompts = list(prompts)
    length = model.padded_length(prompts)
    embeddings, masks = model.encode_text(prompts, length)
    empty, empty_mask = model.encode_text([""], length)
    positions, tokens, offsets = content_tokens(model, prompts, length)
    # Gradients are only ever wanted with respect to the text embeddings.
    unet = model.unet.to(device).eval().requires_grad_(False)
    dtype = next(unet.parameters()).dtype
    use_mask = model.unet_attention_mask
    generations = config.generations
    side = min(model.resolution, THUMBNAIL)
    latent_shape = (int(unet.config.in_channels), int(unet.config.sample_size), int(unet.config.sample_size))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.mixed_precision == "bf16")

    wen_per_step = np.zeros((len(prompts), generations, config.sampling_steps))
    attributions: list[np.ndarray] = []
    thumbnails = np.zeros((len(prompts), generations, side, side), dtype=np.uint8)
    guidance = _guidance(model, config)
    bar = tqdm(total=len(prompts), desc=label, unit="prompt", disable=not show_progress)
    for start in range(0, len(prompts), config.batch_size):
        batch = range(start, min(start + config.batch_size, len(prompts)))
        noise = torch.stack(
            [
                torch.randn(latent_shape, generator=torch.Generator().manual_seed(noise_seed(config.seed, keys[i], g)))
                for i in batch
                for g in range(generations)
            ]
        )
        cond = embeddings[list(batch)].repeat_interleave(generations, dim=0).to(device, dtype)
        cond_mask = masks[list(batch)].repeat_interleave(generations, dim=0)
        with autocast:
            if config.mitigation == "embedding":
                cond = _minimised_embeddings(model, unet, config, cond, cond_mask, empty, empty_mask, noise, device, dtype)
            norms, gradients, final = wen_trajectory(
                unet,
                model.sampling_scheduler(),
                cond,
                cond_mask.to(device) if use_mask else None,
                empty.to(device, dtype),
                empty_mask.to(device) if use_mask else None,
                noise.to(device, dtype),
                config.sampling_steps,
                guidance,
                config.attribution and not config.reference_attribution,
            )
            reference = (
                reference_token_gradients(
                    unet,
                    model.sampling_scheduler(),
                    embeddings[list(batch)].to(device, dtype),
                    masks[list(batch)].to(device) if use_mask else None,
                    empty.to(device, dtype),
                    empty_mask.to(device) if use_mask else None,
                    noise.to(device, dtype),
                    config.sampling_steps,
                    config.guidance,
                    generations,
                )
                if config.attribution and config.reference_attribution
                else None
            )
        images = model.decode_latents(final)
        small = _thumbnails(images, side).reshape(len(batch), generations, side, side)
        per_step = norms.reshape(len(batch), generations, -1).cpu().numpy()
        for offset, item in enumerate(batch):
            wen_per_step[item] = per_step[offset]
            thumbnails[item] = small[offset]
            if reference is not None:
                attributions.append(reference[offset][positions[item]].cpu().numpy())
            elif gradients is not None:
                mean = gradients.reshape(len(batch), generations, -1)[offset].mean(0) / config.sampling_steps
                attributions.append(mean[positions[item]].cpu().numpy())
        bar.update(len(batch))
    bar.close()
    if not config.attribution:
        attributions = [np.full(len(row), np.nan) for row in positions]
    return PromptScores(
        wen=wen_per_step.mean(axis=(1, 2)),
        wen_per_step=wen_per_step,
        tokens=tokens,
        offsets=offsets,
        attributions=attributions,
        thumbnails=thumbnails,
    )


def _guidance(model: DiffusionModel, config: ScoreConfig) -> float | list[float]:
    """The guidance scale, or with the ``guidance`` mitigation one scale per sampling step."""
    if config.mitigation != "guidance":
        return config.guidance
    scheduler = model.sampling_scheduler()
    scheduler.set_timesteps(config.sampling_steps)
    defaults = MITIGATIONS["guidance"].defaults
    return guidance_schedule(scheduler.timesteps, config.guidance, int(defaults["transition"]), defaults["before"])


def _minimised_embeddings(
    model: DiffusionModel,
    unet: UNet2DConditionModel,
    config: ScoreConfig,
    cond: torch.Tensor,
    cond_mask: torch.Tensor,
    empty: torch.Tensor,
    empty_mask: torch.Tensor,
    noise: torch.Tensor,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Wen et al.'s inference-time mitigation for each prompt of a batch: one embedding per prompt,
    optimised on that prompt's generations at the first sampling step (as ``aug_prompt`` does).

    The target is per sample in the metric's own units, so it is turned into the joint norm that
    :func:`~deidlint.verify.mitigations.minimise_embedding` compares it with: times the square root
    of the generations, divided by the noise-prediction scale of the first step.
    """
    scheduler = model.sampling_scheduler()
    scheduler.set_timesteps(config.sampling_steps, device=device)
    first = scheduler.timesteps[0]
    x_in = scheduler.scale_model_input(noise.to(device, dtype) * scheduler.init_noise_sigma, first)
    generations, use_mask = config.generations, model.unet_attention_mask
    target = None
    if config.mitigation_target is not None:
        target = config.mitigation_target * generations**0.5 / _eps_scale(scheduler, first)
    defaults = MITIGATIONS["embedding"].defaults
    rows = []
    with torch.enable_grad():
        for start in range(0, len(cond), generations):
            own = slice(start, start + generations)
            optimised, _ = minimise_embedding(
                unet, x_in[own], first, cond[own], empty.to(device, dtype),
                lr=defaults["lr"], iterations=int(defaults["iterations"]), target=target,
                cond_mask=cond_mask[own].to(device) if use_mask else None,
                uncond_mask=empty_mask.to(device).expand(generations, -1) if use_mask else None,
            )  # fmt: skip
            rows.append(optimised.expand(generations, -1, -1))
    return torch.cat(rows).detach()


def _thumbnails(images: torch.Tensor, side: int) -> np.ndarray:
    """Grey uint8 thumbnails of images in [-1, 1], ``(n, side, side)``."""
    grey = images.float().mean(dim=1, keepdim=True)
    if grey.shape[-1] != side:
        grey = F.interpolate(grey, size=(side, side), mode="area")
    return ((grey[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).cpu().numpy()


def thumbnails_of(pixels: np.ndarray, side: int) -> np.ndarray:
    """Grey thumbnails of uint8 ``(n, channels, size, size)`` images, matching :func:`_thumbnails`."""
    return _thumbnails(torch.from_numpy(pixels).float().div(127.5).sub(1.0), side)


def trace_flags(offsets: Sequence[tuple[int, int]] | None, spans: Sequence[tuple[int, int]]) -> np.ndarray | None:
    """Which tokens overlap a trace span (``None`` when the token offsets are unknown)."""
    if offsets is None:
        return None
    return np.array(
        [any(start < end_span and end > start_span for start_span, end_span in spans) for start, end in offsets], dtype=bool
    )


def trace_share(attribution: np.ndarray, flags: np.ndarray | None) -> float | None:
    """Share of a prompt's attribution on trace tokens (``None`` if it has none)."""
    if flags is None or not flags.any() or not np.isfinite(attribution).all():
        return None
    total = float(attribution.sum())
    return float(attribution[flags].sum()) / total if total > 0 else None


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float | None:
    """Area under the ROC curve of a score (Mann-Whitney, ties count half)."""
    if len(positive) == 0 or len(negative) == 0:
        return None
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))

