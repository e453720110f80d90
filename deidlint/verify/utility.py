"""Utility: does a generated image still show what its prompt says?

A mitigation that stops a model from copying its training images is only worth having if the
images it then makes still show the finding the prompt names. Two measures, both with a known
null:

- :class:`LabelClassifier`: a small CNN the project trains on the image set's own labels
  (PneumoniaMNIST: normal against pneumonia) and scores generations with; its balanced accuracy on
  real held-out images says how far its verdict on a generation can be trusted, and is 0.5 for a
  classifier that learned nothing (tested with shuffled labels).
- :func:`kernel_inception_distance`: the unbiased squared MMD with a cubic polynomial kernel
  (Binkowski et al., ICLR 2018, "Demystifying MMD GANs") between generated and real held-out
  images in a feature space; unbiased, so its expectation is 0 when both sets come from one
  distribution, which FID (biased for small samples) does not offer at the demo's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def _network(side: int) -> nn.Sequential:
    """Two convolution blocks and a linear head: enough for 28x28 chest X-rays."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * (side // 4) ** 2, 2),
    )


def _tensor(images: np.ndarray) -> torch.Tensor:
    """Grey images ``(n, side, side)`` as uint8 or floats in [0, 1], as a float batch in [-1, 1]."""
    pixels = images.astype(np.float32)
    if images.dtype == np.uint8:
        pixels /= 255.0
    return torch.from_numpy(pixels[:, None] * 2 - 1)


@dataclass
class LabelClassifier:
    """A binary image classifier trained on labelled real images."""

    network: nn.Sequential
    side: int

    @classmethod
    def train(cls, images: np.ndarray, labels: np.ndarray, *, seed: int = 0, epochs: int = 15,
              batch_size: int = 64) -> LabelClassifier:
        """Fit on *images* ``(n, side, side)`` and 0/1 *labels*, classes weighted by their
        frequency (so that an imbalanced set does not buy accuracy by the majority class), with
        flips as augmentation. Seeded: the same data and seed give the same classifier."""
        side = images.shape[-1]
        if images.ndim != 3 or images.shape[1] != side or side % 4:
            raise ValueError(f"images must be (n, side, side) with side a multiple of 4, got {images.shape}")
        labels = np.asarray(labels, dtype=np.int64)
        counts = np.bincount(labels, minlength=2)
        if counts.min() == 0:
            raise ValueError("the labels hold one class only")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = _network(side)
            x, y = _tensor(images), torch.from_numpy(labels)
            weight = torch.tensor(len(labels) / (2 * counts), dtype=torch.float32)
            optimizer = torch.optim.AdamW(network.parameters(), lr=2e-3, weight_decay=1e-3)
            rng = np.random.default_rng(seed)
            network.train()
            for _ in range(epochs):
                order = torch.from_numpy(rng.permutation(len(labels)))
                for start in range(0, len(order), batch_size):
                    rows = order[start:start + batch_size]
                    batch = x[rows]
                    flip = torch.from_numpy(rng.random(len(rows)) < 0.5)
                    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
                    loss = nn.functional.cross_entropy(network(batch), y[rows], weight=weight)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it untyped
                    optimizer.step()
        return cls(network.eval(), side)

    def probability(self, images: np.ndarray) -> np.ndarray:
        """Probability of label 1 per image."""
        if images.shape[-1] != self.side:
            raise ValueError(f"the classifier takes {self.side}x{self.side} images, got {images.shape[-1]}")
        with torch.no_grad():
            return torch.softmax(self.network(_tensor(images)), dim=1)[:, 1].numpy()

    def balanced_accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Mean of the per-class recalls: 0.5 for a classifier that learned nothing, whatever
        the class balance."""
        return balanced_accuracy(self.probability(images) > 0.5, labels)


def balanced_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    labels = np.asarray(labels).astype(bool)
    predicted = np.asarray(predicted).astype(bool)
    recalls = [float(np.mean(predicted[labels == value] == value)) for value in (False, True) if np.any(labels == value)]
    return float(np.mean(recalls))


def kernel_inception_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 between feature sets ``(n, d)`` and ``(m, d)`` with the kernel
    ``(x.y / d + 1)^3``; 0 in expectation when both come from one distribution (it can be
    negative on a finite sample)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need two feature sets (n >= 2, same width), got {a.shape} and {b.shape}")
    d = a.shape[1]
    a, b = a.astype(np.float64), b.astype(np.float64)
    kaa, kbb, kab = ((x @ y.T / d + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    n, m = len(a), len(b)
    within_a = (kaa.sum() - np.trace(kaa)) / (n * (n - 1))
    within_b = (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
    return float(within_a + within_b - 2 * kab.mean())
