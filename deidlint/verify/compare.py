"""Measures with a known null: detection quality, and raw against cleaned paired per image.

Every number here has a value it takes when nothing happens, and the tests check it:

- Detection quality (where ground truth exists: known memorized prompts or planted duplicates)
  is ROC AUC and the true-positive rate at 1% false positives against prompts the model never
  saw, as Wen et al. report it; a metric that cannot tell scores 0.5 and about 0.01.
- One threshold is fixed once, at a quantile of the raw model's held-out metric, and used for
  every model; it is never re-fitted per model. The metric is taken relative to the median of
  the same model's metric on held-out prompts (prompts it never trained on, which memorization
  cannot move): a different training seed moves a model's whole metric scale (the null test in
  ``tests/test_verify_compare.py`` shows it: on the absolute scale two raw models alike but for
  their seed differ in the share above one threshold by far more than its interval allows). On
  the raw model's held-out prompts the share above the threshold is the chosen false-positive
  rate; on another model's it is only near it, since a seed changes the spread too.
- Raw against cleaned is paired per training image: the raw model on the raw prompt against the
  cleaned model on the cleaned prompt, replicate ``k`` of one against replicate ``k`` of the
  other (same training seed, so the same batches and noise). Reductions are raw minus cleaned,
  so 0 means cleaning changed nothing, with bootstrap intervals over images, over training
  replicates, and over both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from deidlint.verify.metrics import roc_auc

DETECTION_FPR = 0.01
"""False-positive rate at which the true-positive rate is reported (Wen et al.: 1%)."""

PERCENTILE = 95
"""Upper percentile of the metric compared between models (the tail where memorization shows)."""


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, fpr: float = DETECTION_FPR) -> float | None:
    """Share of positives above the lowest threshold that keeps false positives at most ``fpr``.

    With ``m`` negatives at most ``floor(fpr * m)`` of them may lie above the threshold, so with
    fewer than ``1 / fpr`` negatives the threshold is the largest negative score.
    """
    if len(positive) == 0 or len(negative) == 0:
        return None
    allowed = int(np.floor(fpr * len(negative)))
    threshold = np.sort(negative)[::-1][allowed]
    return float((positive > threshold).mean())


def detection(positive: np.ndarray, negative: np.ndarray) -> dict[str, Any]:
    """ROC AUC and TPR at :data:`DETECTION_FPR` of memorized (positive) against unseen prompts."""
    return {
        "positives": len(positive),
        "negatives": len(negative),
        "auc": roc_auc(positive, negative),
        "tpr_at_1pct_fpr": tpr_at_fpr(positive, negative),
        "false_positives_allowed": int(np.floor(DETECTION_FPR * len(negative))),
        "roc": roc_points(positive, negative),
    }


def roc_points(positive: np.ndarray, negative: np.ndarray) -> list[dict[str, float]]:
    """The ROC curve behind :func:`detection`'s AUC, one point per distinct score (ties step
    together), so the HTML report draws exactly the curve whose area the report states."""
    if len(positive) == 0 or len(negative) == 0:
        return []
    scores = np.concatenate([positive, negative]).astype(float)
    hits = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], hits[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tpr = np.r_[0.0, np.cumsum(hits)[last] / hits.sum()]
    fpr = np.r_[0.0, np.cumsum(1 - hits)[last] / (1 - hits).sum()]
    return [{"fpr": float(f), "tpr": float(t)} for f, t in zip(fpr, tpr, strict=True)]


def heldout_scale(heldout: np.ndarray) -> float:
    """A model's metric scale: the median of its metric on prompts it never trained on."""
    return float(np.median(heldout))


def fixed_threshold(raw_heldout: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the raw model's relative metric on held-out prompts.

    ``raw_heldout`` is ``(replicates, prompts)``; each replicate is divided by its own
    :func:`heldout_scale`, then all are pooled.
    """
    rows = np.atleast_2d(np.asarray(raw_heldout, dtype=float))
    return float(np.quantile(rows / np.median(rows, axis=1, keepdims=True), quantile))


Statistic = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float], float]
"""``(raw, cleaned, raw scale, cleaned scale, threshold) -> value``: metric arrays
``(replicates, images)`` paired row by row and column by column, scales ``(replicates, 1)``."""

MEASURES: dict[str, tuple[Statistic, str]] = {
    "wen_mean_reduction": (
        lambda raw, clean, *_: float((raw - clean).mean()),
        "mean over images and replicates of the raw model's metric on the raw prompt minus the cleaned model's on the "
        "cleaned prompt",
    ),
    "wen_p95_reduction": (
        lambda raw, clean, *_: float(np.mean(np.percentile(raw, PERCENTILE, axis=1) - np.percentile(clean, PERCENTILE, axis=1))),
        f"{PERCENTILE}th percentile of the metric over training images, raw minus cleaned, mean over replicates",
    ),
    "share_above_threshold_reduction": (
        lambda raw, clean, raw_scale, clean_scale, threshold: float(
            (raw / raw_scale > threshold).mean() - (clean / clean_scale > threshold).mean()
        ),
        "share of training images whose metric, relative to its model's held-out median, exceeds the fixed threshold, "
        "raw minus cleaned, mean over replicates",
    ),
}
"""The paired measures; each is 0 in expectation when cleaning changes nothing."""


def paired_measures(
    raw: np.ndarray,
    clean: np.ndarray,
    scales: tuple[np.ndarray, np.ndarray],
    threshold: float,
    replicates: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Each of :data:`MEASURES` with the intervals of :func:`intervals`.

    ``raw`` and ``clean`` are ``(training replicates, images)``, row ``k`` of one paired with row
    ``k`` of the other; ``scales`` their models' :func:`heldout_scale` per replicate (held fixed
    in the bootstrap, as the threshold is).
    """
    raw, clean = np.atleast_2d(np.asarray(raw, dtype=float)), np.atleast_2d(np.asarray(clean, dtype=float))
    if raw.shape != clean.shape:
        raise ValueError(f"raw {raw.shape} and cleaned {clean.shape} scores are not paired")
    pairs, images = raw.shape
    raw_scale, clean_scale = (np.asarray(scale, dtype=float).reshape(pairs, 1) for scale in scales)
    out: dict[str, dict[str, Any]] = {}
    for name, (statistic, meaning) in MEASURES.items():

        def resampled(rows: np.ndarray, columns: np.ndarray, statistic: Statistic = statistic) -> float:
            return statistic(raw[rows][:, columns], clean[rows][:, columns], raw_scale[rows], clean_scale[rows], threshold)

        value = resampled(np.arange(pairs), np.arange(images))
        out[name] = {"value": value, "meaning": meaning, **intervals(resampled, pairs, images, replicates, seed)}
    return out


def intervals(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    pairs: int,
    images: int,
    replicates: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, Any]:
    """Percentile bootstrap intervals of ``statistic(replicate rows, image columns)``, a statistic of
    arrays paired row by row (training replicate pairs) and column by column (training images).

    ``ci`` resamples both (the interval to read), ``ci_images`` images only, ``ci_replicates``
    replicate pairs only (``None`` with one pair: then the interval says nothing about how much
    another training seed would move the result). A seed gives the same draws to every statistic,
    so the intervals of several measures come from one set of resamples. A resample where the
    statistic is undefined (not finite) is left out and counted in ``undefined_replicates``; an
    interval with no defined resample is ``None``.
    """
    rng = np.random.default_rng(seed)
    draws: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
        "ci": [(_resample(rng, pairs), _resample(rng, images)) for _ in range(replicates)],
        "ci_images": [(np.arange(pairs), _resample(rng, images)) for _ in range(replicates)],
        "ci_replicates": [(_resample(rng, pairs), np.arange(images)) for _ in range(replicates)] if pairs > 1 else [],
    }
    tail = (1 - level) / 2 * 100
    out: dict[str, Any] = {}
    undefined = 0
    for kind, samples in draws.items():
        values = np.array([statistic(rows, columns) for rows, columns in samples], dtype=float)
        finite = values[np.isfinite(values)]
        undefined += int(values.size - finite.size)
        out[kind] = [float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))] if finite.size else None
    out["undefined_replicates"] = undefined
    return out


def _resample(rng: np.random.Generator, size: int) -> np.ndarray:
    """Indices of one bootstrap sample: ``size`` draws with replacement from ``range(size)``."""
    return np.asarray(rng.integers(0, size, size=(size,)))


def share_above(values: np.ndarray, threshold: float, scale: float | np.ndarray) -> float:
    """Share of ``values`` whose ratio to ``scale`` (:func:`heldout_scale`, per row) exceeds ``threshold``."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    return float((values / np.asarray(scale, dtype=float).reshape(-1, 1) > threshold).mean())
