"""Fine-tuning loop for ``verify``: the same schedule for the raw and every cleaned copy.

The comparison is only fair if the raw and cleaned models differ in nothing but their prompts,
so every random draw (batch order, timesteps, noise, prompt dropout) is a pure function of the
seed and the step number. That also makes resuming exact: a run restarted from a checkpoint
continues with the very batches and noise it would have drawn, without saving RNG states.
Training follows diffusers' ``train_text_to_image.py`` (frozen text encoder and VAE, MSE on the
noise or velocity target), with ``accelerate`` for multiple GPUs and mixed precision.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from deidlint.verify.models import DiffusionModel, save_trained
from deidlint.verify.training_mitigation import TrainingMitigation, masked_loss

RESULT_FILE = "train.json"
CHECKPOINT_DIR = "checkpoint"


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters shared by every model of one ``verify`` run."""

    steps: int
    batch_size: int
    learning_rate: float
    warmup_steps: int
    cond_dropout: float
    """Share of samples trained with the empty prompt, so classifier-free guidance (and the
    unconditional half of the Wen metric) is meaningful for a model trained from scratch."""
    seed: int
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    lora_rank: int = 0
    """0 trains the whole UNet; otherwise LoRA adapters of this rank on the attention layers,
    merged into the UNet when training ends."""
    checkpoint_every: int = 200
    max_grad_norm: float = 1.0
    mitigation: str | None = None
    """A training-time mitigation (:mod:`deidlint.verify.mitigations`, stage ``training``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingSet:
    """Everything a training step reads, computed once: the text encoder and VAE are frozen."""

    embeddings: torch.Tensor
    """Text-encoder outputs of the distinct prompts, ``(prompts, tokens, dim)``."""
    masks: torch.Tensor
    prompt_of_row: torch.Tensor
    """Index into ``embeddings`` for each training row."""
    latents: torch.Tensor
    """One latent per training row."""
    empty_embedding: torch.Tensor
    empty_mask: torch.Tensor
    prompts: list[str]
    """The distinct prompts, for mitigations that rewrite a caption at each draw."""


def build_training_set(model: DiffusionModel, prompts: list[str], pixels: np.ndarray, batch_size: int = 16) -> TrainingSet:
    """Encode the distinct prompts and every row's image once, before training starts.

    ``pixels`` is uint8 ``(rows, channels, size, size)``; ``prompts`` has one entry per row.
    """
    distinct = list(dict.fromkeys(prompts))
    position = {prompt: index for index, prompt in enumerate(distinct)}
    length = model.padded_length(distinct)
    embeddings, masks = model.encode_text(distinct, length)
    empty, empty_mask = model.encode_text([""], length)
    device = model.vae.device if model.vae is not None else torch.device("cpu")
    latents = []
    for start in range(0, len(pixels), batch_size):
        batch = torch.from_numpy(pixels[start : start + batch_size]).float().div(127.5).sub(1.0)
        latents.append(model.encode_images(batch.to(device)).cpu())
    return TrainingSet(
        embeddings=embeddings,
        masks=masks,
        prompt_of_row=torch.tensor([position[prompt] for prompt in prompts]),
        latents=torch.cat(latents),
        empty_embedding=empty,
        empty_mask=empty_mask,
        prompts=distinct,
    )


def step_generator(seed: int, step: int) -> torch.Generator:
    """The random stream of one training step (see the module docstring)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step]).generate_state(1)[0]))


def batch_rows(seed: int, step: int, batch_size: int, rows: int) -> np.ndarray:
    """Rows of a global batch: consecutive slices of one seeded permutation per epoch."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    out = np.empty(batch_size, dtype=np.int64)
    for epoch in np.unique(positions // rows):
        order = np.random.default_rng([seed, int(epoch)]).permutation(rows)
        in_epoch = positions // rows == epoch
        out[in_epoch] = order[positions[in_epoch] % rows]
    return out


def learning_rate_at(config: TrainConfig, step: int) -> float:
    """Constant learning rate after a linear warm-up."""
    return config.learning_rate * min(1.0, (step + 1) / max(1, config.warmup_steps))


def load_result(folder: Path, config: TrainConfig, data_key: str) -> dict[str, Any] | None:
    """The summary of a finished training with this configuration and data, if there is one."""
    path = folder / RESULT_FILE
    if not path.is_file() or not (folder / "unet").is_dir():
        return None
    result = json.loads(path.read_text())
    if result.get("config") != json.loads(json.dumps(config.to_dict())) or result.get("data") != data_key:
        return None
    return result


def train(
    model: DiffusionModel,
    unet: UNet2DConditionModel,
    data: TrainingSet,
    config: TrainConfig,
    folder: Path,
    accelerator: Accelerator,
    *,
    data_key: str,
    strategy: str | None,
    label: str,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune ``unet`` (a private copy of the base UNet) and save it under ``folder``.

    Resumes from ``folder/checkpoint`` when a run with the same configuration and data stopped
    early. Returns the summary also written to ``folder/train.json``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    world = accelerator.num_processes
    if config.batch_size % world:
        raise ValueError(f"--batch-size {config.batch_size} must be a multiple of the {world} processes")
    if config.lora_rank:
        from peft import LoraConfig

        unet.requires_grad_(False)
        unet.add_adapter(
            LoraConfig(
                r=config.lora_rank,
                lora_alpha=config.lora_rank,
                init_lora_weights="gaussian",
                target_modules=["to_k", "to_q", "to_v", "to_out.0"],
            )
        )
    else:
        unet.requires_grad_(True)
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    trainable = [name for name, parameter in unet.named_parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(
        [parameter for parameter in unet.parameters() if parameter.requires_grad], lr=config.learning_rate, weight_decay=1e-2
    )

    mitigation = TrainingMitigation(config.mitigation, model, data, config.seed)
    start, losses = _load_checkpoint(folder, config, data_key, unet, optimizer, mitigation)
    unet, optimizer = accelerator.prepare(unet, optimizer)
    scheduler = model.noise_scheduler
    timesteps_total = int(scheduler.config.num_train_timesteps)
    rows = len(data.prompt_of_row)
    shard = config.batch_size // world
    mine = slice(accelerator.process_index * shard, (accelerator.process_index + 1) * shard)
    device = accelerator.device
    mask_unet = model.unet_attention_mask

    began = time.perf_counter()
    bar = tqdm(
        total=config.steps,
        initial=start,
        desc=f"train {label}",
        unit="step",
        disable=not (show_progress and accelerator.is_main_process),
    )
    for step in range(start, config.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(config, step)
        generator = step_generator(config.seed, step)
        index = torch.from_numpy(batch_rows(config.seed, step, config.batch_size, rows))
        latents = data.latents[index]
        timesteps = torch.randint(0, timesteps_total, (config.batch_size,), generator=generator)
        noise = torch.randn(latents.shape, generator=generator)
        dropped = torch.rand(config.batch_size, generator=generator) < config.cond_dropout
        prompt = data.prompt_of_row[index]
        captions, caption_masks = mitigation.conditioning(step, prompt)
        embeddings = torch.where(dropped[:, None, None], data.empty_embedding, captions)
        masks = torch.where(dropped[:, None], data.empty_mask, caption_masks)
        latents, timesteps, noise, embeddings, masks, conditioned, duplicated = (
            tensor[mine].to(device)
            for tensor in (latents, timesteps, noise, embeddings, masks, ~dropped, mitigation.row_is_duplicated[index])
        )
        noisy = scheduler.add_noise(latents, noise, timesteps)
        target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(latents, noise, timesteps)
        prediction = unet(noisy, timesteps, embeddings, encoder_attention_mask=masks if mask_unet else None).sample
        keep = mitigation.kept(unet, noisy, timesteps, prediction, conditioned, duplicated, accelerator, mask_unet)
        loss = masked_loss(prediction, target, keep)
        accelerator.backward(loss)
        if config.max_grad_norm:
            accelerator.clip_grad_norm_(
                [parameter for parameter in unet.parameters() if parameter.requires_grad], config.max_grad_norm
            )
        if not mitigation.skip_step:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(accelerator.reduce(loss.detach(), reduction="mean")))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                _save_checkpoint(
                    folder, config, data_key, accelerator.unwrap_model(unet), trainable, optimizer, step + 1, losses,
                    mitigation.state(),
                )  # fmt: skip
    bar.close()
    elapsed = time.perf_counter() - began
    accelerator.wait_for_everyone()
    final = accelerator.unwrap_model(unet)
    trained = config.steps - start
    result = {
        "config": config.to_dict(),
        "data": data_key,
        "steps": config.steps,
        "resumed_from_step": start,
        "wall_s": round(elapsed, 3),
        "steps_per_s": round(trained / elapsed, 3) if trained and elapsed > 0 else None,
        "samples_per_s": round(trained * config.batch_size / elapsed, 3) if trained and elapsed > 0 else None,
        "processes": world,
        "loss_first_50": float(np.mean(losses[:50])) if losses else None,
        "loss_last_50": float(np.mean(losses[-50:])) if losses else None,
        "trainable_parameters": int(sum(parameter.numel() for parameter in final.parameters() if parameter.requires_grad)),
        "mitigation": mitigation.summary(),
    }
    if accelerator.is_main_process:
        if config.lora_rank:
            final.fuse_lora()
            final.unload_lora()
        final.eval()
        save_trained(model, folder, strategy, unet=final)
        (folder / RESULT_FILE).write_text(json.dumps(result, indent=2) + "\n")
        shutil.rmtree(folder / CHECKPOINT_DIR, ignore_errors=True)
    accelerator.wait_for_everyone()
    # The accelerator keeps references to what it prepared; drop them so that the next model
    # of the run does not hold this one's UNet and optimizer state in (GPU) memory.
    accelerator.free_memory()
    return result


def _save_checkpoint(
    folder: Path,
    config: TrainConfig,
    data_key: str,
    unet: torch.nn.Module,
    trainable: list[str],
    optimizer: torch.optim.Optimizer,
    step: int,
    losses: list[float],
    mitigation_state: dict[str, Any],
) -> None:
    """Write the trainable weights and optimizer state, replacing the previous checkpoint atomically."""
    staging = folder / (CHECKPOINT_DIR + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    state = dict(unet.named_parameters())
    save_file({name: state[name].detach().cpu().contiguous() for name in trainable}, staging / "trainable.safetensors")
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    meta = {"config": config.to_dict(), "data": data_key, "step": step, "losses": losses, "mitigation": mitigation_state}
    (staging / "state.json").write_text(json.dumps(meta))
    final = folder / CHECKPOINT_DIR
    previous = folder / (CHECKPOINT_DIR + ".old")
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)


def _load_checkpoint(
    folder: Path,
    config: TrainConfig,
    data_key: str,
    unet: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    mitigation: TrainingMitigation,
) -> tuple[int, list[float]]:
    """Restore a matching checkpoint into ``unet`` and ``optimizer``; returns (step, losses)."""
    checkpoint = folder / CHECKPOINT_DIR
    if not (checkpoint / "state.json").is_file():
        return 0, []
    meta = json.loads((checkpoint / "state.json").read_text())
    if meta.get("config") != json.loads(json.dumps(config.to_dict())) or meta.get("data") != data_key:
        return 0, []
    weights = load_file(checkpoint / "trainable.safetensors")
    missing = set(weights) - {name for name, _ in unet.named_parameters()}
    if missing:
        return 0, []
    unet.load_state_dict(weights, strict=False)
    # Optimizer state holds only tensors and numbers, so the safe loader suffices.
    optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    mitigation.restore(meta.get("mitigation", {}))
    return int(meta["step"]), list(meta["losses"])
