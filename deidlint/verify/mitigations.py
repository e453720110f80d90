"""Memorization mitigations from the literature, as records beside the cleaning strategies.

The seed paper (Dutt 2025) finds that the inference-time mitigations leave a model's reliance on
memorized trace tokens in place, and asks for a benchmark of mitigations on report data. Each
mitigation here is one :class:`Mitigation` record: what it changes (the prompt, the text
embedding, the guidance schedule, or the training captions and loss), where it comes from, its
defaults as the reference code sets them, and the function that does it. Nothing here copies
the reference code; each function is written from the paper and checked against the reference
implementation's behaviour where the docstring says so.

Inference-time:

- ``random-words`` / ``random-numbers``: insert random vocabulary tokens, or random numbers below
  100,000, at random word boundaries of the prompt (Somepalli et al., NeurIPS 2023, "Understanding
  and Mitigating Copying in Diffusion Models"; the ``rand_word_add`` / ``rand_numb_add`` styles of
  ``optim_utils.py`` in YuxinWenRick/diffusion_memorization, which draw from CLIP's first 49,400
  ids: here from the model's own tokenizer, special and sub-word pieces left out).
- ``embedding``: at the first sampling step, minimise the text-conditional noise magnitude
  ``||eps(x_T, e) - eps(x_T, empty)||`` over the prompt embedding ``e`` with AdamW (lr 0.05, at
  most 10 iterations, stopping once it is below a target), the first (BOS) position held fixed;
  the optimised embedding then conditions the whole generation (Wen et al., ICLR 2024,
  ``aug_prompt`` in ``local_sd_pipeline.py``).
- ``guidance``: a static transition point: guidance scale 0 (the unconditional prediction) while
  the timestep is above 500, the usual scale after it (Jain et al., CVPR 2025, "Classifier-Free
  Guidance inside the Attraction Basin May Cause Memorization"; SonyResearch/mitigating_memorization,
  ``--guidance_change_step 500 --guidance_scale 0.0``).

Training-time (extra fine-tuned models):

- ``caption-randomisation``: each time a caption is drawn it has, with probability 0.5 each,
  one random vocabulary word inserted and one word replaced (Somepalli et al. 2023).
- ``sample-dropping``: samples whose text-conditional noise magnitude exceeds a threshold are left
  out of the batch's loss (Wen et al. 2024; ``--hard_threshold`` in their
  ``train_text_to_image.py``, a fixed number tuned for Stable Diffusion). A fixed number does not
  carry over between models, so here the threshold is the 95th percentile of the magnitudes of the
  samples of the previous :data:`DROP_WINDOW` training draws (:class:`RunningThreshold`): about one
  sample in twenty is left out, the ones the model conditions on most strongly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import UNet2DConditionModel

from deidlint.verify.mitigation_records import DROP_WINDOW, MITIGATIONS, STAGES, Mitigation

__all__ = ["DROP_WINDOW", "MITIGATIONS", "STAGES", "Mitigation"]  # the records, beside the functions that do them

def vocabulary_words(tokenizer: Any) -> list[str]:
    """The tokenizer's whole-word tokens as text: no special tokens, no WordPiece ``##`` pieces,
    no ``[unused7]`` slots, nothing that decodes to white space. Sorted, so that a seeded draw
    gives the same word on every machine."""
    special = set(tokenizer.all_special_ids)
    words = set()
    for token, index in tokenizer.get_vocab().items():
        if index in special or token.startswith("##") or (token.startswith("[") and token.endswith("]")):
            continue
        text = tokenizer.convert_tokens_to_string([token]).strip()
        if text and not any(c.isspace() for c in text):
            words.add(text)
    return sorted(words)


def insert_words(prompt: str, words: Sequence[str], rng: np.random.Generator) -> str:
    """*prompt* with each of *words* inserted at a uniformly drawn word boundary (both ends
    included), one after the other, as the reference's ``insert_rand_word`` does."""
    pieces = prompt.split(" ")
    for word in words:
        pieces.insert(int(rng.integers(0, len(pieces) + 1)), word)
    return " ".join(pieces)


def random_words(prompt: str, vocabulary: Sequence[str], rng: np.random.Generator, count: int = 1) -> str:
    """Somepalli et al.'s random token addition, from the model's own vocabulary."""
    return insert_words(prompt, [vocabulary[int(i)] for i in rng.integers(0, len(vocabulary), size=count)], rng)


def random_numbers(prompt: str, rng: np.random.Generator, count: int = 1) -> str:
    """Somepalli et al.'s random number addition: integers below 100,000."""
    return insert_words(prompt, [str(int(n)) for n in rng.integers(0, 100_000, size=count)], rng)


def randomise_caption(prompt: str, vocabulary: Sequence[str], rng: np.random.Generator,
                      insert: float = 0.5, replace: float = 0.5) -> str:
    """One training draw of a caption under caption randomisation: with probability *replace*
    one word becomes a random vocabulary word, then with probability *insert* one is added."""
    pieces = prompt.split(" ")
    if rng.random() < replace and pieces:
        pieces[int(rng.integers(0, len(pieces)))] = vocabulary[int(rng.integers(0, len(vocabulary)))]
    text = " ".join(pieces)
    return random_words(text, vocabulary, rng) if rng.random() < insert else text


def guidance_schedule(timesteps: Sequence[int] | torch.Tensor, guidance: float, transition: int = 500,
                      before: float = 0.0) -> list[float]:
    """Jain et al.'s static transition point: *before* while the timestep is above *transition*,
    *guidance* from there on (one scale per sampling step)."""
    return [before if int(t) > transition else guidance for t in timesteps]


def text_noise_norm(unet: UNet2DConditionModel, x_in: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                    uncond: torch.Tensor, cond_mask: torch.Tensor | None = None,
                    uncond_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``||eps(x, cond) - eps(x, uncond)||_2`` over the whole batch, differentiable in *cond*."""
    eps_cond = unet(x_in, t, cond, encoder_attention_mask=cond_mask).sample
    with torch.no_grad():
        eps_uncond = unet(x_in, t, uncond, encoder_attention_mask=uncond_mask).sample
    return (eps_cond.float() - eps_uncond.float()).norm()


def minimise_embedding(unet: UNet2DConditionModel, x_in: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                       uncond: torch.Tensor, *, lr: float = 0.05, iterations: int = 10,
                       target: float | None = None, cond_mask: torch.Tensor | None = None,
                       uncond_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, list[float]]:
    """Wen et al.'s inference-time mitigation for one prompt's generations.

    *cond* holds one embedding row, repeated over the generations of *x_in* (as the reference
    optimises one embedding for all its images). Returns the optimised row and the loss before
    each iteration; it stops early once the loss is at most *target*. Position 0 (the BOS token,
    which carries no prompt) gets no gradient; AdamW's decoupled weight decay (its default 0.01,
    which the reference keeps) still shrinks it slightly, as it does there.
    """
    embedding = cond[:1].detach().clone().requires_grad_(True)
    optimizer = torch.optim.AdamW([embedding], lr=lr)
    samples = x_in.shape[0]
    losses: list[float] = []
    for _ in range(iterations):
        loss = text_noise_norm(unet, x_in, t, embedding.expand(samples, -1, -1), uncond.expand(samples, -1, -1),
                               cond_mask, uncond_mask)
        losses.append(float(loss.detach()))
        if target is not None and losses[-1] <= target:
            break
        (gradient,) = torch.autograd.grad(loss, [embedding])
        gradient[:, 0] = 0
        embedding.grad = gradient
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return embedding.detach(), losses


@dataclass
class RunningThreshold:
    """The 95th percentile (``quantile``) of the last :data:`DROP_WINDOW` magnitudes; infinite
    until the window has filled, so nothing is dropped before the threshold means something.
    Its state is a list of numbers, saved with a training checkpoint so a resumed run drops what
    the uninterrupted one would have."""

    quantile: float = 0.95
    window: int = DROP_WINDOW
    seen: list[float] | None = None

    def threshold(self) -> float:
        seen = self.seen or []
        return float(np.quantile(seen, self.quantile)) if len(seen) >= self.window else float("inf")

    def update(self, magnitudes: Sequence[float]) -> None:
        self.seen = [*(self.seen or []), *map(float, magnitudes)][-self.window:]


def dropped_samples(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, threshold: float) -> torch.Tensor:
    """Wen et al.'s training-time mitigation: which samples of a batch to leave out of the loss,
    those whose text-conditional noise magnitude (per sample, over its whole latent) exceeds
    *threshold*."""
    return (eps_cond.float() - eps_uncond.float()).flatten(1).norm(dim=1) > threshold


PromptMitigation = Callable[[str, np.random.Generator], str]


def prompt_mitigation(name: str, vocabulary: Sequence[str]) -> PromptMitigation:
    """The prompt rewrite of a ``prompt``-stage mitigation, with its reference defaults."""
    count = int(MITIGATIONS[name].defaults["count"])
    if name == "random-words":
        return lambda prompt, rng: random_words(prompt, vocabulary, rng, count)
    if name == "random-numbers":
        return lambda prompt, rng: random_numbers(prompt, rng, count)
    raise KeyError(f"{name} does not rewrite the prompt")
