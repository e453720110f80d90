"""Replication: are generated images copies of training images, in a descriptor validated here?

The field measures copying with SSCD descriptors (Somepalli et al., "Diffusion Art or Digital
Forgery" and "Understanding and Mitigating Copying"; Wen et al.): the similarity of a generation to
its nearest training image, reported as the 95th percentile and the share above 0.5. SSCD's
weights are a download, and pixel correlation of chest X-rays is dominated by the layout every
image shares, so deidlint trains its own descriptor on the training images themselves, the way
SSCD was trained (contrastive, SimCLR's NT-Xent loss between two augmentations of an image), and
then validates it as a copy detector before it is used:

- the validation set is made from the training images: augmented copies (crop, flip, contrast,
  brightness, noise) of each image are positives, scored by their similarity to the nearest
  training image; the same queries scored against the nearest *other* training image (their own
  source left out), and the unaugmented images likewise, are negatives. Its ROC AUC is reported;
- the copy threshold is the negatives' ``1 - COPY_FPR`` quantile, a stated false-positive rate;
- its null is checked on held-out real images the encoder and the diffusion model never saw: the
  share of them above the threshold should be near ``COPY_FPR``, and the report prints it.

Generated images are then reported like the field's: the 95th percentile of the nearest-training-
image similarity and the share above the validated threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deidlint.verify.metrics import roc_auc

COPY_FPR = 0.05
"""False-positive rate at which the copy threshold is chosen on the validation set."""
ENCODER_SIDE = 32
"""Images are resized to this side before the encoder (the descriptor is about anatomy, not detail)."""
TRAIN_STEPS = 300
BATCH = 64
TEMPERATURE = 0.2
VALIDATION_COPIES = 2
"""Augmented copies of each training image in the validation set."""


class Encoder(nn.Module):
    """A small convolutional encoder whose unit-normalised output is the descriptor."""

    def __init__(self, width: int = 16, dim: int = 64) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.Conv2d(4 * width, 4 * width, 3, stride=2, padding=1), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.Flatten(), nn.Linear(4 * width * (ENCODER_SIDE // 8) ** 2, dim),
        )  # fmt: skip
        # SimCLR's projection head. Its output is the descriptor too: as a copy detector it measured
        # ROC AUC 0.98 on the demo, against 0.93 for the features before it.
        self.head = nn.Sequential(nn.BatchNorm1d(dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.features(images)), dim=1)


def as_input(thumbnails: np.ndarray) -> torch.Tensor:
    """Grey uint8 ``(n, side, side)`` images as ``(n, 1, ENCODER_SIDE, ENCODER_SIDE)`` floats in [0, 1]."""
    images = torch.from_numpy(np.ascontiguousarray(thumbnails)).float().div(255.0)[:, None]
    if images.shape[-1] != ENCODER_SIDE:
        images = F.interpolate(images, size=(ENCODER_SIDE, ENCODER_SIDE), mode="area")
    return images


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random crop (75-100% of the side, shifted), horizontal flip, contrast, brightness and noise."""
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    scale = uniform(0.85, 1.0)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
    theta[:, 0, 2], theta[:, 1, 2] = (1 - scale) * uniform(-1, 1), (1 - scale) * uniform(-1, 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * uniform(0.8, 1.2)[:, None, None, None] + mean + uniform(-0.05, 0.05)[:, None, None, None]
    out = out + uniform(0.0, 0.03)[:, None, None, None] * torch.randn(out.shape, generator=generator)
    return out.clamp(0.0, 1.0)


def train_encoder(thumbnails: np.ndarray, seed: int, steps: int = TRAIN_STEPS) -> Encoder:
    """Contrastive training on the training images alone (SimCLR's NT-Xent), seeded."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = Encoder()
    optimiser = torch.optim.Adam(encoder.parameters(), lr=3e-3)
    images = as_input(thumbnails)
    batch = min(BATCH, len(images))
    for _ in range(steps):
        chosen = images[torch.randperm(len(images), generator=generator)[:batch]]
        views = torch.cat([augment(chosen, generator), augment(chosen, generator)])
        projected = encoder(views)
        logits = projected @ projected.T / TEMPERATURE
        logits.fill_diagonal_(float("-inf"))
        targets = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)])
        loss = F.cross_entropy(logits, targets)
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
    return encoder.eval()


def embed(encoder: Encoder, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return encoder(images).numpy().astype(np.float64)


@dataclass
class TrainingImages:
    """The distinct training images a generation is compared with, and which one each scored item had."""

    thumbnails: np.ndarray
    """Distinct training images as grey thumbnails ``(images, side, side)``: the detector's gallery."""
    item_image: np.ndarray
    """Index into ``thumbnails`` of each scored item's own training image."""

    @classmethod
    def of(cls, thumbnails: np.ndarray, item_rows: Sequence[int]) -> TrainingImages:
        """From the thumbnails of every training row and the row of each scored item: a duplicated
        prompt's rows share an image, which the gallery holds once."""
        distinct, inverse = np.unique(thumbnails.reshape(len(thumbnails), -1), axis=0, return_inverse=True)
        return cls(distinct.reshape(-1, *thumbnails.shape[1:]), inverse.reshape(-1)[list(item_rows)])


@dataclass
class CopyDetector:
    """The validated descriptor: the training gallery, its threshold and how it was validated."""

    encoder: Encoder
    gallery: np.ndarray
    """Descriptors of the distinct training images ``(images, dim)``."""
    threshold: float
    validation: dict[str, Any]
    null: dict[str, Any]

    def nearest(self, thumbnails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarity to the nearest training image and its index, per query image."""
        similarity = embed(self.encoder, as_input(thumbnails)) @ self.gallery.T
        nearest = similarity.argmax(axis=1)
        return similarity[np.arange(len(similarity)), nearest], nearest


def build_detector(
    train_thumbnails: np.ndarray, heldout_thumbnails: np.ndarray, seed: int, steps: int = TRAIN_STEPS
) -> CopyDetector:
    """Train the descriptor on half the training images, validate it on the other half, check its null.

    ``train_thumbnails`` must be distinct images (the gallery); ``heldout_thumbnails`` real images
    neither the encoder nor the diffusion model was trained on. A contrastive encoder pushes the
    images it is trained on apart, so non-copies among them look less alike than images it never
    saw (measured on the demo: 12.5% of held-out images above a threshold set at 5%); generated
    images are never seen by it either, so it is validated and calibrated on training images it was
    not trained on.
    """
    order = np.random.default_rng(seed).permutation(len(train_thumbnails))
    fitted, calibration = order[: len(order) // 2], order[len(order) // 2 :]
    encoder = train_encoder(train_thumbnails[fitted], seed, steps)
    gallery = embed(encoder, as_input(train_thumbnails))
    images = as_input(train_thumbnails[calibration])
    generator = torch.Generator().manual_seed(seed + 1)  # augmentations the encoder never saw
    copies = np.concatenate([embed(encoder, augment(images, generator)) for _ in range(VALIDATION_COPIES)])
    source = np.tile(calibration, VALIDATION_COPIES)
    to_gallery = copies @ gallery.T
    positives = to_gallery.max(axis=1)
    plain = gallery[calibration] @ gallery.T
    # "Other images": the nearest training image that is not the query's own source.
    to_gallery[np.arange(len(source)), source] = -np.inf
    plain[np.arange(len(calibration)), calibration] = -np.inf
    negatives = np.concatenate([to_gallery.max(axis=1), plain.max(axis=1)])
    threshold = float(np.quantile(negatives, 1 - COPY_FPR))
    heldout = embed(encoder, as_input(heldout_thumbnails)) @ gallery.T
    heldout_best = heldout.max(axis=1)
    above = int((heldout_best > threshold).sum())
    return CopyDetector(
        encoder=encoder,
        gallery=gallery,
        threshold=threshold,
        validation={
            "encoder_steps": steps,
            "encoder_images": int(len(fitted)),
            "calibration_images": int(len(calibration)),
            "positives": int(len(positives)),
            "negatives": int(len(negatives)),
            "auc": roc_auc(positives, negatives),
            "fpr": COPY_FPR,
            "tpr_at_threshold": float((positives > threshold).mean()),
        },
        null={
            "heldout_images": int(len(heldout_best)),
            "above_threshold": above,
            "share_above_threshold": above / len(heldout_best) if len(heldout_best) else None,
            "expected_share": COPY_FPR,
            "p95_similarity": float(np.quantile(heldout_best, 0.95)) if len(heldout_best) else None,
        },
    )


def describe(detector: CopyDetector) -> str:
    """The report's statement of what the copy similarity is and how it was validated."""
    validation, null = detector.validation, detector.null
    return (
        "Similarity is the cosine similarity of descriptors from a small encoder trained contrastively (SimCLR's NT-Xent, "
        f"{validation['encoder_steps']} steps) on {validation['encoder_images']} of the {len(detector.gallery)} distinct "
        "training images, between a generated image and its nearest training image. Validated as a copy detector on the "
        f"other {validation['calibration_images']}: {validation['positives']} augmented copies (crop, flip, contrast, "
        f"brightness, noise) against {validation['negatives']} non-copies (the nearest other training image): "
        f"ROC AUC {validation['auc']:.3f}. Threshold {detector.threshold:.4f}, chosen at {COPY_FPR:.0%} false positives "
        f"on that set (true-positive rate {validation['tpr_at_threshold']:.3f}); on {null['heldout_images']} held-out "
        f"real images it never saw, {null['above_threshold']} ({_percent(null['share_above_threshold'])}) lie above it."
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def model_replication(detector: CopyDetector, generated: np.ndarray, own_image: np.ndarray) -> dict[str, Any]:
    """The field's two numbers for one model's generations ``(items, generations, side, side)``.

    ``similarity`` and ``nearest_image`` (index into the distinct training images) are kept per item
    and generation, for the HTML report's pairs of generated and nearest training images;
    ``copied_share`` per item (its generations above the threshold), for paired comparisons.
    """
    items, generations = generated.shape[:2]
    similarity, nearest = detector.nearest(generated.reshape(items * generations, *generated.shape[2:]))
    similarity, nearest = similarity.reshape(items, generations), nearest.reshape(items, generations)
    copied = similarity > detector.threshold
    return {
        "p95_similarity": float(np.quantile(similarity, 0.95)),
        "share_above_threshold": float(copied.mean()),
        "copied_share": copied.mean(axis=1).tolist(),
        "similarity_mean": float(similarity.mean()),
        "nearest_is_own_image_rate": float((nearest == own_image[:, None]).mean()),
        "similarity": similarity.round(5).tolist(),
        "nearest_image": nearest.tolist(),
    }
