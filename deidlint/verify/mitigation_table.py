"""The mitigation table: raw, each cleaning strategy and each mitigation on one trained model family.

The seed paper's third finding is that the inference-time mitigations leave a model's reliance on
memorized trace tokens in place; this table lets a curator check that on their own data, beside
what cleaning the data does, and at what cost. One row per model (replicates pooled):

- memorization: the share of training prompts above the fixed threshold and its paired reduction
  against raw, the paired reduction of the mean Wen metric (both with the bootstrap intervals of
  :mod:`deidlint.verify.compare`), and replication, the share of generations above the validated
  copy threshold (:mod:`deidlint.verify.replication`);
- the trace-token share of the metric's attribution;
- utility (:mod:`deidlint.verify.utility`): how often a label classifier, trained on the real
  training images, finds the prompt's own label in the generated image (balanced accuracy, with a
  bootstrap interval over prompts), and the kernel distance between generated and real held-out
  images in the copy descriptor's feature space;
- extra compute: training steps and sampling seconds per generated image.

The embedding mitigation optimises the very metric the table reports, so its metric columns are
partly circular; replication and utility are its independent measures (the report says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from deidlint.verify import replication
from deidlint.verify.mitigation_records import MITIGATIONS
from deidlint.verify.utility import LabelClassifier, balanced_accuracy, kernel_inception_distance

if TYPE_CHECKING:
    from deidlint.verify.report import ModelRun

KID_SCALE = 1000
"""KID is reported times 1000, as the literature prints it."""


@dataclass
class Utility:
    """What the utility columns are measured with, validated on real images."""

    classifier: LabelClassifier | None
    item_labels: np.ndarray | None
    encoder: replication.Encoder
    heldout_features: np.ndarray
    summary: dict[str, Any]


def build_utility(
    item_thumbnails: np.ndarray,
    item_labels: Sequence[int] | None,
    heldout_thumbnails: np.ndarray,
    heldout_labels: Sequence[int] | None,
    detector: replication.CopyDetector,
    label_names: tuple[str, str],
    seed: int,
) -> Utility:
    """Train the label classifier on the training items' real images and state how far it can be
    trusted: its balanced accuracy on the real held-out images, and that of a classifier trained
    on shuffled labels (the null, near 0.5). The kernel distance of the real training images to
    the held-out ones is the scale a generation's distance is read on."""
    heldout_features = replication.embed(detector.encoder, replication.as_input(heldout_thumbnails))
    real_kid = kid(replication.embed(detector.encoder, replication.as_input(item_thumbnails)), heldout_features)
    summary: dict[str, Any] = {"kid_real_training_vs_heldout": real_kid, "kid_scale": KID_SCALE, "labels": None}
    classifier, labels = None, None
    usable = item_labels is not None and heldout_labels is not None and len(set(item_labels)) == 2
    if usable:
        assert item_labels is not None and heldout_labels is not None
        labels = np.asarray(item_labels, dtype=np.int64)
        classifier = LabelClassifier.train(item_thumbnails, labels, seed=seed)
        shuffled = LabelClassifier.train(item_thumbnails, np.random.default_rng(seed).permutation(labels), seed=seed)
        truth = np.asarray(heldout_labels)
        summary["labels"] = {
            "names": list(label_names),
            "training_images": len(labels),
            "heldout_images": len(truth),
            "heldout_balanced_accuracy": classifier.balanced_accuracy(heldout_thumbnails, truth),
            "shuffled_labels_heldout_balanced_accuracy": shuffled.balanced_accuracy(heldout_thumbnails, truth),
        }
    return Utility(classifier, labels, detector.encoder, heldout_features, summary)


def kid(a: np.ndarray, b: np.ndarray, a_rows: np.ndarray | None = None, b_rows: np.ndarray | None = None) -> float:
    """Unbiased KID (cubic polynomial kernel) times :data:`KID_SCALE`, optionally on resampled rows."""
    a = a if a_rows is None else a[a_rows]
    b = b if b_rows is None else b[b_rows]
    return KID_SCALE * kernel_inception_distance(a, b)


def model_utility(utility: Utility, generated: np.ndarray, replicates: int, seed: int) -> dict[str, Any]:
    """Label agreement and KID of one model's generations ``(items, generations, side, side)``."""
    items, generations = generated.shape[:2]
    flat = generated.reshape(items * generations, *generated.shape[2:])
    features = replication.embed(utility.encoder, replication.as_input(flat))
    rng = np.random.default_rng(seed)
    draws = [(rng.integers(0, items, items), rng.integers(0, len(utility.heldout_features), len(utility.heldout_features)))
             for _ in range(replicates)]  # fmt: skip
    rows_of = np.arange(items * generations).reshape(items, generations)
    out: dict[str, Any] = {
        "kid": kid(features, utility.heldout_features),
        "kid_ci": _interval([kid(features, utility.heldout_features, rows_of[t].ravel(), h) for t, h in draws]),
        "label_agreement": None,
        "label_agreement_ci": None,
    }
    if utility.classifier is not None and utility.item_labels is not None:
        predicted = (utility.classifier.probability(flat) > 0.5).reshape(items, generations)
        wanted = np.repeat(utility.item_labels[:, None], generations, axis=1)
        out["label_agreement"] = balanced_accuracy(predicted.ravel(), wanted.ravel())
        out["label_agreement_ci"] = _interval(
            [balanced_accuracy(predicted[t].ravel(), wanted[t].ravel()) for t, _ in draws]
        )
    return out


def rows(
    report: dict[str, Any], runs: Sequence[ModelRun], utility: Utility, *, replicates: int, seed: int
) -> list[dict[str, Any]]:
    """``report.json``'s ``mitigations[]``: one row per model, replicates pooled."""
    models = {model["name"]: model for model in report["models"]}
    compared = {c["strategy"]: c for c in report["comparisons"]} | {
        c["mitigation"]: c for c in report.get("mitigation_comparisons", [])
    }
    copies = report.get("replication", {}).get("models", {})
    groups: dict[str, list[ModelRun]] = {}
    for run in runs:
        groups.setdefault(run.base, []).append(run)
    raw_cost = _sampling_cost([run for run in runs if run.is_raw])
    raw_train_cost = _training_cost([run for run in runs if run.is_raw])
    table = []
    for offset, (base, group) in enumerate(groups.items()):
        first = group[0]
        comparison = compared.get(base)
        kind = _kind(first)
        cost, train_cost = _sampling_cost(group), _training_cost(group)
        trains = kind != "inference-time"
        # Replicates pooled as further generations of each prompt, so one interval over prompts covers them all.
        pooled = np.concatenate([run.train.thumbnails for run in group], axis=1)
        usefulness = model_utility(utility, pooled, replicates, seed + offset)
        table.append({
            "name": base,
            "kind": kind,
            "source": MITIGATIONS[base].source if base in MITIGATIONS else None,
            "replicates": len(group),
            "memorized_rate": _mean([models[run.name]["memorized_rate"] for run in group]),
            "memorized_rate_reduction": comparison["memorized_rate_reduction"] if comparison else None,
            "memorized_rate_reduction_ci": comparison["ci"] if comparison else None,
            "wen_mean": _mean([models[run.name]["wen_mean"] for run in group]),
            "wen_mean_reduction": comparison["measures"]["wen_mean_reduction"]["value"] if comparison else None,
            "wen_mean_reduction_ci": comparison["measures"]["wen_mean_reduction"]["ci"] if comparison else None,
            "replication_share": _mean([copies[run.name]["share_above_threshold"] for run in group if run.name in copies]),
            "replication_p95": _mean([copies[run.name]["p95_similarity"] for run in group if run.name in copies]),
            "trace_attribution_share": _mean([models[run.name]["trace_attribution_share"] for run in group]),
            "label_agreement": usefulness["label_agreement"],
            "label_agreement_ci": usefulness["label_agreement_ci"],
            "kid": usefulness["kid"],
            "kid_ci": usefulness["kid_ci"],
            "training_steps": first.training["steps"] if trains and first.training else 0,
            "training_s_per_step": train_cost if trains else None,
            "training_cost_vs_raw": train_cost / raw_train_cost if trains and train_cost and raw_train_cost else None,
            "sampling_s_per_image": cost,
            "sampling_cost_vs_raw": cost / raw_cost if cost and raw_cost else None,
        })  # fmt: skip
    return table


def _kind(run: ModelRun) -> str:
    if run.is_raw:
        return "raw"
    if run.strategy is not None:
        return "cleaning"
    assert run.mitigation is not None
    return "training-time" if MITIGATIONS[run.mitigation].stage == "training" else "inference-time"


def _training_cost(group: Sequence[ModelRun]) -> float | None:
    """Training seconds per step, mean over replicates (``None`` for reused models)."""
    costs = [run.training["wall_s"] / run.training["steps"] for run in group
             if run.training and run.training.get("steps") and run.training.get("wall_s")]  # fmt: skip
    return float(np.mean(costs)) if costs else None


def _sampling_cost(group: Sequence[ModelRun]) -> float | None:
    """Seconds of scoring per generated image (training and held-out prompts), mean over replicates."""
    costs = []
    for run in group:
        images = (len(run.items) + len(run.heldout_items)) * run.train.thumbnails.shape[1]
        if run.scoring.get("wall_s") and images:
            costs.append(run.scoring["wall_s"] / images)
    return float(np.mean(costs)) if costs else None


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def _interval(values: Sequence[float]) -> list[float] | None:
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))] if finite.size else None


def markdown_lines(report: dict[str, Any]) -> list[str]:
    """The table for ``report.md`` and README."""
    table = report.get("mitigations")
    if not table:
        return []
    labels = report.get("utility", {}).get("labels")
    lines = ["", "## Cleaning against the mitigations", ""]
    if labels:
        lines.append(
            f"Label classifier ({labels['names'][0]} vs {labels['names'][1]}): balanced accuracy "
            f"{labels['heldout_balanced_accuracy']:.3f} on {labels['heldout_images']} real held-out images "
            f"({labels['shuffled_labels_heldout_balanced_accuracy']:.3f} when trained on shuffled labels)."
        )
    lines.append(
        f"KID x{KID_SCALE} in the copy descriptor's space; real training images vs held-out: "
        f"{report['utility']['kid_real_training_vs_heldout']:.2f}."
    )
    lines += ["", "| model | kind | above threshold | reduction [95% CI] | Wen mean reduction [95% CI] | replication | "
              "trace attribution | label agreement | KID | training steps (cost vs raw) | sampling s per image (vs raw) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in table:
        lines.append(
            f"| {row['name']} | {row['kind']} | {_fmt(row['memorized_rate'])} | "
            f"{_with_ci(row['memorized_rate_reduction'], row['memorized_rate_reduction_ci'])} | "
            f"{_with_ci(row['wen_mean_reduction'], row['wen_mean_reduction_ci'])} | {_fmt(row['replication_share'])} | "
            f"{_fmt(row['trace_attribution_share'])} | {_with_ci(row['label_agreement'], row['label_agreement_ci'], '')} | "
            f"{_fmt(row['kid'], 2)} | {row['training_steps']} ({_ratio(row['training_cost_vs_raw'])}) | "
            f"{_fmt(row['sampling_s_per_image'], 4)} ({_ratio(row['sampling_cost_vs_raw'])}) |"
        )
    return lines


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _with_ci(value: float | None, ci: list[float] | None, sign: str = "+") -> str:
    """A value with its interval; differences carry their sign, levels (``sign`` empty) do not."""
    if value is None:
        return "n/a"
    return f"{value:{sign}.3f}" + (f" [{ci[0]:{sign}.3f}, {ci[1]:{sign}.3f}]" if ci else "")
