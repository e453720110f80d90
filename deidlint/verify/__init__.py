"""Measure whether cleaning de-identification traces reduces memorization.

``deidlint verify`` fine-tunes one copy of a text-to-image diffusion model on the raw prompts
and one per cleaning strategy on the cleaned prompts, then scores every copy with the Wen et al.
(ICLR 2024) detection metric, token attribution, a calibrated memorized-prompt rate and a copy
rate (the question raised by Dutt 2025, arXiv 2502.07516).

This package needs the ``verify`` extra (torch, diffusers, transformers, ...). Nothing here is
imported by the core linter: the heavy modules are loaded only when ``verify``/``score`` run,
so ``deidlint`` itself starts fast and installs without torch.
"""
