"""A miniature UNet shared by the verify tests (importing this module needs the verify extra)."""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel


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
