"""The mitigation records: name, what each changes, its source and its reference defaults.

Kept apart from :mod:`deidlint.verify.mitigations` (which holds the functions and needs torch) so
that the command line can check ``--mitigate`` names before anything heavy is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STAGES = ("prompt", "embedding", "guidance", "training")


@dataclass(frozen=True)
class Mitigation:
    """One mitigation: what it changes, whence it comes, and its reference defaults."""

    name: str
    stage: str
    """What it changes: one of :data:`STAGES`."""
    summary: str
    source: str
    defaults: Mapping[str, float]


DROP_WINDOW = 512
"""Training samples whose magnitudes set the running threshold of ``sample-dropping``."""


MITIGATIONS: dict[str, Mitigation] = {m.name: m for m in (
    Mitigation("random-words", "prompt", "random vocabulary words inserted into the prompt",
               "Somepalli et al., NeurIPS 2023; rand_word_add in YuxinWenRick/diffusion_memorization", {"count": 1}),
    Mitigation("random-numbers", "prompt", "random numbers below 100,000 inserted into the prompt",
               "Somepalli et al., NeurIPS 2023; rand_numb_add in YuxinWenRick/diffusion_memorization", {"count": 1}),
    Mitigation("embedding", "embedding", "prompt embedding optimised at the first step to lower the Wen metric",
               "Wen et al., ICLR 2024; aug_prompt in YuxinWenRick/diffusion_memorization",
               {"lr": 0.05, "iterations": 10}),
    Mitigation("guidance", "guidance", "no guidance before a static transition timestep",
               "Jain et al., CVPR 2025; SonyResearch/mitigating_memorization", {"transition": 500, "before": 0.0}),
    Mitigation("caption-randomisation", "training", "captions randomised in every training draw",
               "Somepalli et al., NeurIPS 2023", {"insert": 0.5, "replace": 0.5}),
    Mitigation("sample-dropping", "training", "samples above a metric threshold left out of the loss",
               "Wen et al., ICLR 2024; --hard_threshold in YuxinWenRick/diffusion_memorization",
               {"quantile": 0.95, "window": DROP_WINDOW}),
)}

