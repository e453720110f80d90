"""Token attribution as the seed paper's code computes it (``--reference-attribution``).

Dutt (2025) took token attribution from ``get_text_cond_grad`` in Wen et al.'s
``local_sd_pipeline.py`` (YuxinWenRick/diffusion_memorization, copied unchanged into
Raman1121/diffusion_memorization and called by its ``generate_token_wise_significance_score.py``
with 50 steps, 4 images per prompt, guidance 7.5, ``target_steps=range(50)``). Read against the
intended computation (deidlint's default, :func:`deidlint.verify.metrics.wen_trajectory`), that
function differs in four ways, and this module reproduces all four so that numbers can be set
beside the paper's:

1. The halves are swapped. The pipeline's embedding batch is ``[empty x N, text x N]``; the
   function puts its *last* row (the text) in the half the UNet output treats as unconditional
   and a detached copy of its *first* row (the empty prompt) in the "text" half. The guided step
   ``eps_a + g (eps_b - eps_a)`` therefore pushes away from the prompt: the whole sampling
   trajectory, hence every ``x_t`` the gradient is taken at, differs from real guided sampling.
   The norm ``||eps(x_t, empty) - eps(x_t, c)||`` itself is unchanged by the swap.
2. The norm is taken over all N generations of a prompt at once (``torch.norm`` of the whole
   chunk), not per generation.
3. The gradient reaches the text embedding through one row shared by the N generations (the
   repeat), so it is the sum over generations; the per-token L2 norm is then averaged over the
   2N rows of the embedding batch, of which only that one is non-zero: a factor ``1 / (2N)``.
4. Model outputs are used as they are (no conversion of v-predictions to noise).

The mean over steps is the function's ``torch.mean(torch.stack(all_token_grads))``. The UNet gets
the same text conditioning (attention mask included, where the model uses one) as deidlint's own
scoring, so only the trajectory and the reduction differ. The Wen metric and the generated images
are not taken from this trajectory: deidlint computes them on the ordinary guided one, as the
reference's detection script (``detect_mem_radedit.py``, the pipeline's ``__call__``) does.
"""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler, UNet2DConditionModel


def reference_token_gradients(
    unet: UNet2DConditionModel,
    scheduler: DDIMScheduler,
    cond: torch.Tensor,
    cond_mask: torch.Tensor | None,
    uncond: torch.Tensor,
    uncond_mask: torch.Tensor | None,
    latents: torch.Tensor,
    steps: int,
    guidance: float,
    generations: int,
) -> torch.Tensor:
    """Per-token attribution of each prompt along the reference's (swapped) trajectory.

    ``cond`` holds one row per *prompt* ``(prompts, tokens, dim)``; ``latents`` one row per sample,
    the ``generations`` samples of a prompt adjacent (as ``repeat_interleave`` lays them out);
    ``uncond`` is the single empty-prompt row. Returns ``(prompts, tokens)``: the reference's
    token gradient norms, averaged over steps.
    """
    scheduler.set_timesteps(steps, device=latents.device)
    prompts, samples = cond.shape[0], latents.shape[0]
    empty = uncond.expand(samples, -1, -1)
    empty_mask = uncond_mask.expand(samples, -1) if uncond_mask is not None else None
    text_mask = cond_mask.repeat_interleave(generations, dim=0) if cond_mask is not None else None
    total = torch.zeros(cond.shape[:2], device=latents.device)
    x = latents * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        x_in = scheduler.scale_model_input(x, t)
        leaf = cond.detach().clone().requires_grad_(True)
        # The reference's first half ("noise_pred_uncond") is conditioned on the text ...
        eps_first = unet(x_in, t, leaf.repeat_interleave(generations, dim=0), encoder_attention_mask=text_mask).sample
        # ... and its second half ("noise_pred_text") on the detached empty prompt.
        with torch.no_grad():
            eps_second = unet(x_in, t, empty, encoder_attention_mask=empty_mask).sample
        difference = (eps_second.float() - eps_first.float()).reshape(prompts, -1)
        (gradient,) = torch.autograd.grad(difference.norm(dim=1).sum(), leaf)
        total += gradient.float().norm(dim=-1) / (2 * generations)
        with torch.no_grad():
            guided = eps_first.detach() + guidance * (eps_second - eps_first.detach())
            x = scheduler.step(guided, t, x).prev_sample
    return total / len(scheduler.timesteps)
