"""The training-time mitigations inside the fine-tuning loop: what a step conditions on, and which
samples its loss counts.

:func:`deidlint.verify.train.train` asks a :class:`TrainingMitigation` two things per step, so the
loop stays one loop for every model: the caption embeddings of the batch (caption randomisation
draws and encodes new captions; everything else returns the pre-encoded ones) and which samples the
loss keeps (sample dropping leaves out those above the running threshold; everything else keeps all).
Every draw is a pure function of the seed and the step, like the rest of training, and the running
threshold is saved with a checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from accelerate import Accelerator

from deidlint.verify.mitigations import MITIGATIONS, RunningThreshold, randomise_caption, vocabulary_words

if TYPE_CHECKING:
    from deidlint.verify.models import DiffusionModel
    from deidlint.verify.train import TrainingSet


class TrainingMitigation:
    """One model's training-time mitigation, or none (``name`` ``None``: the plain loop)."""

    def __init__(self, name: str | None, model: DiffusionModel, data: TrainingSet, seed: int) -> None:
        if name is not None and MITIGATIONS[name].stage != "training":
            raise ValueError(f"{name} is not a training-time mitigation")
        self.name, self.model, self.data, self.seed = name, model, data, seed
        defaults = MITIGATIONS[name].defaults if name else {}
        self.vocabulary = vocabulary_words(model.tokenizer) if name == "caption-randomisation" else []
        self.running = RunningThreshold(defaults.get("quantile", 0.95), int(defaults.get("window", 1)))
        duplicated = torch.bincount(data.prompt_of_row)[data.prompt_of_row] > 1
        self.row_is_duplicated = duplicated
        self.skip_step = False
        """Set when a step kept no sample at all: the reference then takes no optimizer step."""
        self.counts = {"conditioned_samples": 0, "dropped_samples": 0, "duplicated_samples": 0, "dropped_duplicated": 0}

    def conditioning(self, step: int, prompt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Caption embeddings and masks for the rows of one global batch (``prompt``: their indices)."""
        if self.name != "caption-randomisation":
            return self.data.embeddings[prompt], self.data.masks[prompt]
        defaults = MITIGATIONS["caption-randomisation"].defaults
        captions = [
            randomise_caption(self.data.prompts[int(p)], self.vocabulary, np.random.default_rng([self.seed, step, slot]),
                              defaults["insert"], defaults["replace"])
            for slot, p in enumerate(prompt)
        ]  # fmt: skip
        return self.model.encode_text(captions, self.data.embeddings.shape[1])

    def kept(
        self,
        unet: Any,
        noisy: torch.Tensor,
        timesteps: torch.Tensor,
        prediction: torch.Tensor,
        conditioned: torch.Tensor,
        duplicated: torch.Tensor,
        accelerator: Accelerator,
        use_mask: bool,
    ) -> torch.Tensor | None:
        """Which samples of this process's shard the loss keeps (``None``: all of them).

        ``conditioned`` marks the samples trained with their caption (not the empty prompt of
        caption dropout): only they have a text-conditional magnitude, so only they enter the
        running threshold and can be dropped. The threshold is the one before this step, the same
        on every process (the magnitudes are gathered)."""
        if self.name != "sample-dropping":
            return None
        empty = self.data.empty_embedding.to(noisy.device, prediction.dtype).expand(len(noisy), -1, -1)
        empty_mask = self.data.empty_mask.to(noisy.device).expand(len(noisy), -1) if use_mask else None
        with torch.no_grad():
            uncond = unet(noisy, timesteps, empty, encoder_attention_mask=empty_mask).sample
        magnitude = (prediction.detach().float() - uncond.float()).flatten(1).norm(dim=1)
        keep = ~conditioned | (magnitude <= self.running.threshold())
        gathered = [accelerator.gather(tensor) for tensor in (magnitude, conditioned, keep, duplicated)]
        magnitudes, conditioned_all, keep_all, duplicated_all = (tensor.cpu() for tensor in gathered)
        self.running.update(magnitudes[conditioned_all].tolist())
        dropped = ~keep_all
        self.skip_step = not bool(keep_all.any())
        self.counts["conditioned_samples"] += int(conditioned_all.sum())
        self.counts["dropped_samples"] += int(dropped.sum())
        self.counts["duplicated_samples"] += int((conditioned_all & duplicated_all).sum())
        self.counts["dropped_duplicated"] += int((dropped & duplicated_all).sum())
        return keep

    def state(self) -> dict[str, Any]:
        """What a checkpoint must keep for the run to resume exactly."""
        return {"seen": self.running.seen or [], "counts": dict(self.counts)}

    def restore(self, state: dict[str, Any]) -> None:
        self.running.seen = list(state.get("seen", [])) or None
        self.counts.update(state.get("counts", {}))

    def summary(self) -> dict[str, Any] | None:
        """For ``train.json``: what the mitigation did (sample dropping: how many it left out, and
        how many of those were rows of duplicated prompts, the ones memorization comes from)."""
        if self.name is None:
            return None
        result: dict[str, Any] = {"name": self.name, "defaults": dict(MITIGATIONS[self.name].defaults)}
        if self.name == "sample-dropping":
            counts = self.counts
            conditioned, duplicated = counts["conditioned_samples"], counts["duplicated_samples"]
            single = conditioned - duplicated
            result.update(counts)
            result["dropped_share"] = counts["dropped_samples"] / conditioned if conditioned else None
            result["dropped_share_duplicated"] = counts["dropped_duplicated"] / duplicated if duplicated else None
            result["dropped_share_single"] = (
                (counts["dropped_samples"] - counts["dropped_duplicated"]) / single if single else None
            )
        return result


def masked_loss(prediction: torch.Tensor, target: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error over the kept samples; with none kept, a zero that still has a graph
    (so the step runs on every process, as distributed training needs, and changes nothing)."""
    if keep is None:
        return torch.nn.functional.mse_loss(prediction.float(), target.float())
    if not bool(keep.any()):
        return prediction.float().sum() * 0.0
    return torch.nn.functional.mse_loss(prediction[keep].float(), target[keep].float())
