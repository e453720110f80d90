"""The copy detector: validated on augmented copies, calibrated null on images it never saw."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from deidlint.verify import replication  # noqa: E402
from deidlint.verify.dataset import DEMO_FILE  # noqa: E402
from deidlint.verify.metrics import PromptScores, thumbnails_of  # noqa: E402
from deidlint.verify.report import ModelRun, build_report  # noqa: E402

NULL_BOUND = 20
"""Held-out images (of 128) above a 5% threshold fitted on 192 negatives: the 99.9% beta-binomial bound."""


def demo_thumbnails() -> np.ndarray:
    with np.load(DEMO_FILE) as bundle:
        images = torch.from_numpy(bundle["images"]).float()[:, None]
    pixels = torch.nn.functional.interpolate(images, size=(32, 32), mode="bilinear").round().clamp(0, 255)
    return thumbnails_of(pixels.to(torch.uint8).numpy(), 32)


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray, replication.CopyDetector]:
    """128 distinct training images (in the gallery's order), the rest held out, and the detector
    built on them."""
    thumbnails = demo_thumbnails()
    order = np.random.default_rng(0).permutation(len(thumbnails))
    train = replication.TrainingImages.of(thumbnails[order[:128]], range(128)).thumbnails
    heldout = thumbnails[order[128:]]
    assert len(train) == 128
    return train, heldout, replication.build_detector(train, heldout, seed=0, steps=150)


def test_detector_separates_copies_and_its_null_is_the_chosen_rate(
    split: tuple[np.ndarray, np.ndarray, replication.CopyDetector],
) -> None:
    train, heldout, detector = split
    assert detector.validation["auc"] > 0.75
    # Held-out real images are non-copies: the share above the threshold is the chosen 5%, within
    # what chance allows: the threshold is itself the 95% quantile of 192 validation negatives, so
    # the rate it gives is Beta(11, 183)-distributed, and 128 draws of it are beta-binomial, at most
    # 20 at 99.9% (measured over seeds 0-3 and two gallery orders: 3 to 18, mean 10.9).
    null = detector.null
    assert null["heldout_images"] == 128 and null["expected_share"] == replication.COPY_FPR
    assert null["above_threshold"] <= NULL_BOUND
    # Exact reproductions of training images are found, and found to be their own image.
    own = np.arange(10)
    exact = replication.model_replication(detector, train[own][:, None], own)
    assert exact["share_above_threshold"] == 1.0 and exact["nearest_is_own_image_rate"] == 1.0
    fresh = replication.model_replication(detector, heldout[:, None], np.zeros(len(heldout), dtype=int))
    assert fresh["share_above_threshold"] == pytest.approx(null["share_above_threshold"])
    assert "ROC AUC" in replication.describe(detector)


def _run(name: str, strategy: str | None, generated: np.ndarray) -> ModelRun:
    """A scored model whose generations are ``generated`` ``(items, generations, side, side)``; its
    metric is the same noise for every model, so only the copies differ."""
    items, generations = generated.shape[:2]
    rng = np.random.default_rng(7)

    def scores(count: int, thumbnails: np.ndarray) -> PromptScores:
        per_step = rng.uniform(1.0, 2.0, (count, generations, 3))
        return PromptScores(wen=per_step.mean(axis=(1, 2)), wen_per_step=per_step, tokens=[["a"]] * count,
                            offsets=[[(0, 1)]] * count, attributions=[np.ones(1)] * count, thumbnails=thumbnails)  # fmt: skip

    return ModelRun(name=name, strategy=strategy, items=["a"] * items, heldout_items=["a"] * 32,
                    train=scores(items, generated), heldout=scores(32, generated[:32]), training=None, scoring={})  # fmt: skip


def test_report_copy_rate_is_the_validated_share_with_a_null_that_covers_zero(
    split: tuple[np.ndarray, np.ndarray, replication.CopyDetector],
) -> None:
    """``models[].copy_rate`` is the share above the validated threshold: for generations that are
    held-out real images (the null) it is the detector's held-out share, for augmented copies of each
    item's own training image it is high; paired against the null, a model whose generations are
    other held-out images differs by an interval that covers 0, and the copying one does not."""
    train, heldout, detector = split
    items = 64
    images = replication.TrainingImages.of(np.concatenate([train, train[:8]]), list(range(items)))
    # The repeated rows are one gallery image, and the gallery's order is the detector's.
    assert (images.thumbnails == train).all() and images.item_image.tolist() == list(range(items))
    generator = torch.Generator().manual_seed(3)
    augmented = np.stack([replication.augment(replication.as_input(train[:items]), generator) for _ in range(2)], axis=1)
    copies = (augmented[:, :, 0] * 255).round().astype(np.uint8)
    copies = np.stack([thumbnails_of(np.ascontiguousarray(copies[:, g, None]), 32) for g in range(2)], axis=1)
    null = heldout[: 2 * items].reshape(items, 2, 32, 32)
    other = heldout[::-1][: 2 * items].reshape(items, 2, 32, 32)
    runs = [_run("raw", None, null), _run("remove", "remove", copies), _run("mask", "mask", other)]
    settings = {"scoring": {"sampling_steps": 3, "generations": 2, "guidance": 7.5}, "max_prompt_tokens": 77}
    report = build_report(runs, counts=np.ones(items, dtype=int), images=images, detector=detector, settings=settings,
                          versions={}, data_info={}, quantile=0.95, replicates=400, seed=0)  # fmt: skip
    models = {model["name"]: model for model in report["models"]}
    assert models["raw"]["copy_rate"] == pytest.approx(
        (np.asarray(report["replication"]["models"]["raw"]["similarity"]) > detector.threshold).mean()
    )
    # 128 held-out images as generations: the detector's null, within the same bound.
    assert models["raw"]["copy_rate"] <= NULL_BOUND / 128 and models["mask"]["copy_rate"] <= NULL_BOUND / 128
    assert models["remove"]["copy_rate"] > 0.5 and models["remove"]["nearest_is_own_image_rate"] > 0.5
    differences = {c["strategy"]: c["differences_cleaned_minus_raw"]["copy_rate"] for c in report["comparisons"]}
    low, high = differences["mask"]["ci"]
    assert low <= 0 <= high
    assert differences["remove"]["ci"][0] > 0.3
    assert report["schema_version"] == 3 and report["copy_threshold"] == detector.threshold
