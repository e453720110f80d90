"""The copy detector: validated on augmented copies, calibrated null on images it never saw."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deidlint.verify import replication  # noqa: E402
from deidlint.verify.dataset import DEMO_FILE  # noqa: E402
from deidlint.verify.metrics import thumbnails_of  # noqa: E402


def demo_thumbnails() -> np.ndarray:
    with np.load(DEMO_FILE) as bundle:
        images = torch.from_numpy(bundle["images"]).float()[:, None]
    pixels = torch.nn.functional.interpolate(images, size=(32, 32), mode="bilinear").round().clamp(0, 255)
    return thumbnails_of(pixels.to(torch.uint8).numpy(), 32)


def test_detector_separates_copies_and_its_null_is_the_chosen_rate() -> None:
    thumbnails = demo_thumbnails()
    order = np.random.default_rng(0).permutation(len(thumbnails))
    train, heldout = thumbnails[order[:128]], thumbnails[order[128:]]
    detector = replication.build_detector(train, heldout, seed=0, steps=150)
    assert detector.validation["auc"] > 0.75
    # Held-out real images are non-copies: the share above the threshold is the chosen 5%, within
    # what 128 draws allow (binomial, 99.9%: at most 15 of 128).
    null = detector.null
    assert null["heldout_images"] == 128 and null["expected_share"] == replication.COPY_FPR
    assert null["above_threshold"] <= 15
    # Exact reproductions of training images are found, and found to be their own image.
    own = np.arange(10)
    exact = replication.model_replication(detector, train[own][:, None], own)
    assert exact["share_above_threshold"] == 1.0 and exact["nearest_is_own_image_rate"] == 1.0
    fresh = replication.model_replication(detector, heldout[:, None], np.zeros(len(heldout), dtype=int))
    assert fresh["share_above_threshold"] == pytest.approx(null["share_above_threshold"])
    assert "ROC AUC" in replication.describe(detector)
