"""The utility measures against their nulls: a classifier that learned nothing scores 0.5, and the
kernel distance between two samples of one distribution is 0 in expectation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from deidlint.verify.dataset import DEMO_FILE  # noqa: E402
from deidlint.verify.utility import LabelClassifier, balanced_accuracy, kernel_inception_distance  # noqa: E402
from tests.conftest import SHARED  # noqa: E402

PNEUMONIAMNIST = SHARED / "data" / "pneumoniamnist" / "pneumoniamnist.npz"


@pytest.fixture(scope="module")
def demo() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with np.load(DEMO_FILE) as bundle:
        images, labels = bundle["images"], bundle["labels"].astype(int)
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:192], order[192:]
    return images[train], labels[train], images[test], labels[test]


@pytest.fixture(scope="module")
def classifier(demo: tuple[np.ndarray, ...]) -> LabelClassifier:
    return LabelClassifier.train(demo[0], demo[1])


def test_the_classifier_tells_pneumonia_from_normal_on_held_out_images(demo: tuple[np.ndarray, ...],
                                                                       classifier: LabelClassifier) -> None:
    assert classifier.balanced_accuracy(demo[2], demo[3]) > 0.85
    again = LabelClassifier.train(demo[0], demo[1])
    assert np.array_equal(again.probability(demo[2]), classifier.probability(demo[2]))  # seeded


def test_a_classifier_of_shuffled_labels_scores_chance(demo: tuple[np.ndarray, ...]) -> None:
    shuffled = np.random.default_rng(1).permutation(demo[1])
    assert 0.3 < LabelClassifier.train(demo[0], shuffled).balanced_accuracy(demo[2], demo[3]) < 0.7


@pytest.mark.skipif(not PNEUMONIAMNIST.is_file(), reason=f"{PNEUMONIAMNIST} is absent (../shared is not beside the repo)")
def test_the_demo_classifier_on_the_official_test_split(classifier: LabelClassifier) -> None:
    """Measured 0.82 balanced accuracy on PneumoniaMNIST's 624 test images (trained on 192 demo images)."""
    with np.load(PNEUMONIAMNIST) as data:
        assert classifier.balanced_accuracy(data["test_images"], data["test_labels"].ravel()) > 0.75


def test_balanced_accuracy_ignores_the_class_balance() -> None:
    labels = np.array([1] * 90 + [0] * 10)
    assert balanced_accuracy(np.ones(100), labels) == 0.5  # the majority class buys nothing
    assert balanced_accuracy(labels, labels) == 1.0


def test_kernel_distance_is_zero_in_expectation_under_the_null() -> None:
    rng = np.random.default_rng(0)
    null = [kernel_inception_distance(rng.normal(size=(64, 16)), rng.normal(size=(64, 16))) for _ in range(200)]
    shifted = [kernel_inception_distance(rng.normal(size=(64, 16)), rng.normal(0.5, 1, size=(64, 16))) for _ in range(20)]
    spread = np.std(null) / np.sqrt(len(null))
    assert abs(np.mean(null)) < 3 * spread  # unbiased: its mean is 0 within its standard error
    assert min(null) < 0 < max(null)
    assert np.mean(shifted) > max(null)
