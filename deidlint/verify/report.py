"""Summaries, comparisons and the files a run writes: report.json, report.md, plots, score caches.

``report.json`` (:data:`SCHEMA_VERSION`) has a pinned part that CI gates and dashboards parse:
``models`` (one entry per trained or scored model, replicates included, with ``name``,
``wen_mean``, ``memorized_rate``, ``copy_rate``, ``trace_attribution_share``) and
``comparisons`` (one per strategy with ``strategy``, ``memorized_rate_reduction`` and ``ci``).
``memorized_rate`` is the share of training prompts above the one threshold fixed on the raw
model's held-out prompts (:mod:`deidlint.verify.compare`), and ``memorized_rate_reduction`` the
paired reduction of that share, raw minus cleaned (0 when cleaning changes nothing). Everything
else is there so a reader can check the numbers: the threshold and how it was fixed, detection
quality, per-prompt values, settings, protocol, precision, versions, seeds.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deidlint.verify import compare as cp
from deidlint.verify import mitigation_table, replication, review
from deidlint.verify.metrics import PromptScores, roc_auc, trace_flags, trace_share
from deidlint.verify.replication import CopyDetector, TrainingImages

SCHEMA_VERSION = 3
"""Of ``report.json``: 3 measures copies with the validated descriptor (2 with pixel correlation);
2 fixed one threshold on the raw model for every model (1 re-fitted it per model)."""
SCORE_CACHE_VERSION = 2
"""Of the score caches; a cache of another version is recomputed, never read."""

TOP_TOKENS = 15
MIN_TOKEN_OCCURRENCES = 3
PLOTTED_PROMPTS = 8


@dataclass
class ModelRun:
    """One scored model: its prompts, per-prompt scores and run facts."""

    name: str
    strategy: str | None
    items: list[str]
    """Training prompts as this model saw them, one per scored item."""
    heldout_items: list[str]
    train: PromptScores
    heldout: PromptScores
    training: dict[str, Any] | None
    scoring: dict[str, Any]
    replicate: int = 0
    """Training replicate (``--seeds``): replicate ``k`` of every model shares training seed ``seed + k``."""
    model: str = ""
    """The model this is a replicate of (``raw``, a strategy or a mitigation); ``name`` when empty."""
    mitigation: str | None = None
    """A mitigation of :mod:`deidlint.verify.mitigations` (on raw prompts): at inference on the raw
    model, or at training in a model of its own."""

    @property
    def is_raw(self) -> bool:
        return self.strategy is None and self.mitigation is None

    @property
    def base(self) -> str:
        return self.model or self.name


@dataclass
class _Arrays:
    """Per-item arrays of one model, kept for the bootstrap."""

    wen: np.ndarray
    heldout_wen: np.ndarray
    copied: np.ndarray
    """Per item, the share of its generations above the validated copy threshold."""
    trace_share: np.ndarray
    """Per item, NaN where the prompt has no trace token."""


def build_report(
    runs: Sequence[ModelRun],
    *,
    counts: np.ndarray,
    images: TrainingImages,
    detector: CopyDetector,
    settings: dict[str, Any],
    versions: dict[str, str],
    data_info: dict[str, Any],
    quantile: float,
    replicates: int,
    seed: int,
    memorized_items: np.ndarray | None = None,
    ground_truth: str | None = None,
) -> dict[str, Any]:
    """Everything of ``report.json``.

    ``memorized_items`` (boolean per scored item) marks known memorized prompts, from
    ``--memorized`` or the demo's planted duplicates (``ground_truth`` says which); detection
    quality is reported against held-out prompts where it is given.
    """
    scan = _scanner()
    raws = [run for run in runs if run.is_raw] or list(runs[:1])
    threshold = cp.fixed_threshold(np.stack([run.heldout.wen for run in raws]), quantile)
    models, arrays, copies = [], {}, {}
    for run in runs:
        copies[run.name] = replication.model_replication(detector, run.train.thumbnails, images.item_image)
        summary, arrays[run.name] = _summarise(run, counts, copies[run.name], threshold, scan)
        if memorized_items is not None:
            summary["detection"] = cp.detection(run.train.wen[memorized_items], run.heldout.wen)
            for row in summary["per_prompt"]:
                row["known_memorized"] = bool(memorized_items[row["index"]])
        models.append(summary)
    comparisons: list[dict[str, Any]] = []
    mitigation_comparisons: list[dict[str, Any]] = []
    raw_runs = [run for run in runs if run.is_raw]
    if raw_runs:
        for group, key in ((comparisons, "strategy"), (mitigation_comparisons, "mitigation")):
            for name in dict.fromkeys(getattr(run, key) for run in runs if getattr(run, key) is not None):
                treated = [run for run in runs if getattr(run, key) == name]
                pairs = [(raw, other) for raw in raw_runs for other in treated if raw.replicate == other.replicate]
                group.append(_compare(key, name, pairs, arrays, threshold, replicates, seed))
    scoring = settings["scoring"]
    return {
        "format": "deidlint-verify-report",
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "versions": versions,
        "seeds": {
            "run": seed,
            "initial_noise": "per item and generation: SeedSequence([seed, item, generation]); held-out items use item 1000000+j",
            "training": "replicate k trains with seed+k; per step: SeedSequence([seed+k, step]); batch order per epoch: "
            "default_rng([seed+k, epoch])",
            "bootstrap": seed,
        },
        "data": data_info,
        "threshold": {
            "value": threshold,
            "scale": "relative: each model's metric divided by its heldout_scale, the median of its own metric on the "
            "held-out prompts",
            "quantile": quantile,
            "false_positive_rate": 1 - quantile,
            "fitted_on": f"the raw model's metric on {len(raws[0].heldout_items)} held-out prompts"
            + (f" x {len(raws)} training replicates" if len(raws) > 1 else ""),
        },
        "detection_ground_truth": ground_truth,
        "calibration": {
            "memorized": (
                f"A training prompt counts as above the threshold when its Wen metric, divided by the median of the same "
                f"model's metric on the held-out prompts, exceeds {threshold:.4f}: the {quantile:.0%} quantile of that ratio "
                f"for the raw model on {len(raws[0].heldout_items)} held-out prompts it was never trained on, a "
                f"{1 - quantile:.0%} false-positive rate on unseen prompts. The threshold is fixed once and used for every "
                "model (never re-fitted); the held-out median only sets each model's scale, which a training seed moves "
                "and memorization of training prompts does not."
            ),
            "detection": (
                "ROC AUC and true-positive rate at 1% false positives (Wen et al.'s measures) of known memorized training "
                f"prompts ({ground_truth}) against the held-out prompts, per model."
                if ground_truth
                else "No ground truth of memorized prompts (pass --memorized FILE): detection quality is not measured."
            ),
            "copy": replication.describe(detector) + " copy_rate is the share of a model's generations above that threshold.",
            "wen_metric": (
                f"||eps(x_t, c) - eps(x_t, empty)||_2 over the whole latent, averaged over {scoring['sampling_steps']} DDIM "
                f"steps and {scoring['generations']} generation(s) with guidance {scoring['guidance']} (Wen et al., ICLR 2024)."
            ),
            "attribution": (
                "Per token: L2 norm of the Wen metric's gradient with respect to the text encoder's output embedding of "
                "that token (x_t held fixed), averaged over steps and generations. Trace tokens are those overlapping a "
                "deidlint.scan finding of category 'trace'; the share is taken over non-special tokens within the "
                f"model's {settings['max_prompt_tokens']}-token context."
            ),
            "bootstrap": (
                f"{replicates} bootstrap replicates, 95% percentile intervals. Paired measures resample training images and "
                "training replicate pairs (ci), images only (ci_images) or replicate pairs only (ci_replicates); the "
                "thresholds (the metric's and the copy detector's) stay fixed. Copy-rate and attribution differences "
                "resample the same way."
            ),
        },
        "copy_threshold": detector.threshold,
        "replication": {
            "description": replication.describe(detector),
            "threshold": detector.threshold,
            "validation": detector.validation,
            "null": detector.null,
            "models": copies,
        },
        "models": models,
        "comparisons": comparisons,
        "mitigation_comparisons": mitigation_comparisons,
    }


def _summarise(
    run: ModelRun,
    counts: np.ndarray,
    copies: dict[str, Any],
    threshold: float,
    scan: Callable[[str], list[tuple[int, int]]] | None,
) -> tuple[dict[str, Any], _Arrays]:
    """One ``models[]`` entry; ``copies`` is the model's :func:`replication.model_replication`."""
    wen, heldout_wen = run.train.wen, run.heldout.wen
    scale = cp.heldout_scale(heldout_wen)
    memorized = wen / scale > threshold
    items = len(wen)
    copied = np.asarray(copies["copied_share"], dtype=float)

    shares = np.full(items, np.nan)
    trace_tokens = content_tokens = findings = visible = 0
    token_stats: dict[str, list[float]] = defaultdict(list)
    trace_token_names: set[str] = set()
    for index, prompt in enumerate(run.items):
        spans = scan(prompt) if scan is not None else []
        offsets = run.train.offsets[index]
        flags = trace_flags(offsets, spans) if scan is not None else None
        attribution = run.train.attributions[index]
        share = trace_share(attribution, flags)
        if share is not None:
            shares[index] = share
        if flags is not None and flags.any():
            trace_tokens += int(flags.sum())
            content_tokens += len(flags)
            trace_token_names.update(token for token, flag in zip(run.train.tokens[index], flags, strict=True) if flag)
        if offsets:
            last = max(end for _, end in offsets)
            findings += len(spans)
            visible += sum(end <= last for _, end in spans)
        for token, value in zip(run.train.tokens[index], attribution, strict=True):
            token_stats[token].append(float(value))
    have_traces = np.isfinite(shares)
    means = {
        token: float(np.mean(values))
        for token, values in token_stats.items()
        if len(values) >= MIN_TOKEN_OCCURRENCES and np.isfinite(values).all()
    }
    top = [
        {"token": token, "mean_attribution": mean, "occurrences": len(token_stats[token]), "trace": token in trace_token_names}
        for token, mean in sorted(means.items(), key=lambda item: -item[1])[:TOP_TOKENS]
    ]
    summary = {
        "name": run.name,
        "model": run.base,
        "replicate": run.replicate,
        "strategy": run.strategy,
        "mitigation": run.mitigation,
        "prompts": items,
        "wen_mean": float(wen.mean()),
        "wen_median": float(np.median(wen)),
        "wen_p95": float(np.percentile(wen, cp.PERCENTILE)),
        "wen_heldout_mean": float(heldout_wen.mean()),
        "memorized_rate": float(memorized.mean()),
        "memorized_count": int(memorized.sum()),
        "heldout_scale": scale,
        "heldout_share_above_threshold": cp.share_above(heldout_wen, threshold, scale),
        "copy_rate": copies["share_above_threshold"],
        "copy_similarity_mean": copies["similarity_mean"],
        "copy_similarity_p95": copies["p95_similarity"],
        "nearest_is_own_image_rate": copies["nearest_is_own_image_rate"],
        "trace_attribution_share": float(shares[have_traces].mean()) if have_traces.any() else None,
        "trace_token_share": trace_tokens / content_tokens if content_tokens else None,
        "prompts_with_traces": int(have_traces.sum()) if scan is not None else None,
        "trace_findings": findings if scan is not None else None,
        "trace_findings_within_context": visible if scan is not None else None,
        "duplicated_vs_single_auc": roc_auc(wen[counts > 1], wen[counts == 1]),
        "train_vs_heldout_auc": roc_auc(wen, heldout_wen),
        "top_tokens": top,
        "training": run.training,
        "scoring": run.scoring,
        "per_prompt": [
            {
                "index": index,
                "duplicates": int(counts[index]),
                "wen": float(wen[index]),
                "above_threshold": bool(memorized[index]),
                "copy_similarity": max(copies["similarity"][index]),
                "copied_share": copies["copied_share"][index],
                "trace_share": None if np.isnan(shares[index]) else float(shares[index]),
            }
            for index in range(items)
        ],
        "heldout_wen": [float(value) for value in heldout_wen],
    }
    if scan is None:
        summary["trace_note"] = "deidlint.scan is not available, so trace tokens could not be located"
    return summary, _Arrays(wen=wen, heldout_wen=heldout_wen, copied=copied, trace_share=shares)


def _compare(
    key: str,
    name: str,
    pairs: Sequence[tuple[ModelRun, ModelRun]],
    arrays: dict[str, _Arrays],
    threshold: float,
    replicates: int,
    seed: int,
) -> dict[str, Any]:
    """Raw versus one cleaned (``key`` ``strategy``) or mitigated (``mitigation``) model on the same
    items, paired per image and training replicate."""
    raw_wen = np.stack([raw.train.wen for raw, _ in pairs])
    clean_wen = np.stack([clean.train.wen for _, clean in pairs])
    scales = tuple(np.array([cp.heldout_scale(run.heldout.wen) for run in side]) for side in zip(*pairs, strict=True))
    measures = cp.paired_measures(raw_wen, clean_wen, (scales[0], scales[1]), threshold, replicates, seed)
    shares = measures["share_above_threshold_reduction"]

    def paired(field: str) -> tuple[np.ndarray, np.ndarray]:
        """``(replicate pairs, images)`` of one per-item array, raw and treated."""
        raw = np.stack([getattr(arrays[run.name], field) for run, _ in pairs])
        return raw, np.stack([getattr(arrays[run.name], field) for _, run in pairs])

    def mean(values: np.ndarray) -> float:
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    differences: dict[str, dict[str, object]] = {}
    fields = {"copy_rate": "copied", "trace_attribution_share": "trace_share"}
    for offset, (measure, field) in enumerate(fields.items(), start=1):
        raw, clean = paired(field)

        def statistic(rows: np.ndarray, columns: np.ndarray, raw: np.ndarray = raw, clean: np.ndarray = clean) -> float:
            return mean(clean[rows][:, columns]) - mean(raw[rows][:, columns])

        value = statistic(np.arange(len(pairs)), np.arange(raw.shape[1]))
        if not np.isfinite(value):
            note = "undefined: no trace tokens remain in one of the models"
            differences[measure] = {"difference": None, "ci": None, "note": note}
            continue
        found = cp.intervals(statistic, len(pairs), raw.shape[1], replicates, seed + offset)
        differences[measure] = {"difference": value, **found}
    return {
        key: name,
        "replicate_pairs": len(pairs),
        "memorized_rate_raw": cp.share_above(raw_wen, threshold, scales[0]),
        "memorized_rate_cleaned": cp.share_above(clean_wen, threshold, scales[1]),
        "memorized_rate_reduction": shares["value"],
        "ci": shares["ci"],
        "measures": measures,
        "differences_cleaned_minus_raw": differences,
    }


def _scanner() -> Callable[[str], list[tuple[int, int]]] | None:
    """Trace spans of a text via ``deidlint.scan`` (``None`` while the scanner is unavailable)."""
    try:
        from deidlint import scan
    except ImportError:
        return None

    def spans(text: str) -> list[tuple[int, int]]:
        return [(finding.start, finding.end) for finding in scan(text) if _category(finding) == "trace"]

    return spans


def _category(finding: Any) -> str | None:
    category = getattr(finding, "category", None)
    if category is None and getattr(finding, "rule", None) is not None:
        category = getattr(finding.rule, "category", None)
    return category


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The few numbers printed at the end of a run."""
    lines = [f"threshold {report['threshold']['value']:.4f} ({report['threshold']['fitted_on']}, "
             f"{report['threshold']['false_positive_rate']:.0%} false positives)"]
    for model in report["models"]:
        share = model["trace_attribution_share"]
        found = model.get("detection")
        lines.append(
            f"{model['name']}: wen_mean {model['wen_mean']:.4f}, above threshold {model['memorized_rate']:.3f} "
            f"(held out {model['heldout_share_above_threshold']:.3f}), copy_rate {model['copy_rate']:.3f}, "
            f"trace_attribution_share {'n/a' if share is None else f'{share:.3f}'}"
            + (f", detection AUC {_fmt(found['auc'])} TPR@1%FPR {_fmt(found['tpr_at_1pct_fpr'])}" if found else "")
        )
    for comparison in [*report["comparisons"], *report.get("mitigation_comparisons", [])]:
        measures = comparison["measures"]
        treated = "cleaned" if "strategy" in comparison else "mitigated"
        lines.append(
            f"{comparison.get('strategy') or comparison['mitigation']}: reduction (raw - {treated}, "
            f"{comparison['replicate_pairs']} replicate pair(s)): "
            + "; ".join(f"{name} {entry['value']:+.4f} {_interval(entry['ci'], 4)}" for name, entry in measures.items())
        )
    return lines


def write_all(report: dict[str, Any], runs: Sequence[ModelRun], images: TrainingImages, out: Path) -> list[Path]:
    """Write plots, report.json and report.md; returns their paths."""
    plots = _plots(report, runs, images, out)
    report["plots"] = [str(path.relative_to(out)) for path in plots]
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(_markdown(report))
    return [json_path, md_path, *plots]


def _plots(report: dict[str, Any], runs: Sequence[ModelRun], images: TrainingImages, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    raw = next((run for run in runs if run.is_raw), None)
    panels = [(raw, run) for run in runs if run.strategy is not None and run.replicate == 0] or [(None, run) for run in runs]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for axis, (first, second) in zip(axes[0], panels, strict=True):
        shown = [run for run in (first, second) if run is not None]
        values = np.concatenate([np.concatenate([run.train.wen, run.heldout.wen]) for run in shown])
        bins = np.linspace(values.min(), values.max(), 30) if values.max() > values.min() else 10
        for run, colour in zip(shown, ("tab:red", "tab:blue"), strict=False):
            axis.hist(run.train.wen, bins=bins, alpha=0.5, color=colour, label=f"{run.name} (trained prompts)")
            axis.hist(run.heldout.wen, bins=bins, histtype="step", linestyle="--", color=colour, label=f"{run.name} (held out)")
            axis.axvline(report["threshold"]["value"] * cp.heldout_scale(run.heldout.wen), color=colour, linewidth=1)
        axis.set_xlabel("Wen metric ||eps(x_t,c) - eps(x_t,empty)||")
        axis.set_ylabel("prompts")
        axis.set_title(" vs ".join(run.name for run in shown))
        axis.legend(fontsize=7)
    figure.tight_layout()
    paths = [folder / "wen_histograms.png"]
    figure.savefig(paths[0], dpi=110)
    plt.close(figure)

    for run in runs:
        order = np.argsort(-run.train.wen)[:PLOTTED_PROMPTS]
        copies = report["replication"]["models"][run.name]
        figure, axes = plt.subplots(2, len(order), figsize=(1.5 * len(order), 3.9), squeeze=False)
        for column, index in enumerate(order):
            similarity, nearest = copies["similarity"][index], copies["nearest_image"][index]
            best = int(np.argmax(similarity))
            axes[0][column].imshow(run.train.thumbnails[index][best], cmap="gray", vmin=0, vmax=255)
            axes[0][column].set_title(f"#{index} wen {run.train.wen[index]:.2f}", fontsize=6)
            axes[1][column].imshow(images.thumbnails[nearest[best]], cmap="gray", vmin=0, vmax=255)
            own = " own" if nearest[best] == images.item_image[index] else ""
            axes[1][column].set_title(f"sim {similarity[best]:.3f}{own}", fontsize=6)
            for row in (0, 1):
                axes[row][column].axis("off")
        figure.suptitle(f"{run.name}: generated (top) vs nearest training image (bottom), highest-scoring prompts", fontsize=8)
        figure.tight_layout()
        path = folder / f"copies_{run.name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        paths.append(path)
    return paths


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _markdown(report: dict[str, Any]) -> str:
    settings, calibration = report["settings"], report["calibration"]
    lines = [
        "# deidlint verify report",
        "",
        f"Command `{settings['command']}`, model `{json.dumps(settings['model'])}`, data `{settings['data']}`, "
        f"device `{settings['device']}`, seed {settings['seed']}, wall time {report.get('wall_s', 'n/a')} s.",
        "",
        "## Protocol",
        "",
        *_protocol_lines(settings),
        "",
        "## Data",
        "",
        f"{report['data']['training_rows']} training rows, {report['data']['training_prompts']} distinct training prompts "
        f"({report['data']['duplicated_prompts']} duplicated), {report['data']['heldout_prompts']} held-out prompts.",
        "",
        *[f"- {note}" for note in report["data"]["notes"]],
        "",
        "## Models",
        "",
        f"Threshold {report['threshold']['value']:.4f}: the {report['threshold']['quantile']:.0%} quantile of "
        f"{report['threshold']['fitted_on']}, fixed once and used for every model.",
        "",
        "| model | Wen mean (trained) | Wen mean (held out) | above threshold (trained) | above threshold (held out) "
        "| detection AUC | TPR at 1% FPR | copy rate | trace attribution share | trace token share | steps/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model in report["models"]:
        training, found = model["training"] or {}, model.get("detection") or {}
        lines.append(
            f"| {model['name']} | {_fmt(model['wen_mean'], 4)} | {_fmt(model['wen_heldout_mean'], 4)} | "
            f"{_fmt(model['memorized_rate'])} ({model['memorized_count']}/{model['prompts']}) | "
            f"{_fmt(model['heldout_share_above_threshold'])} | {_fmt(found.get('auc'))} | {_fmt(found.get('tpr_at_1pct_fpr'))} | "
            f"{_fmt(model['copy_rate'])} | {_fmt(model['trace_attribution_share'])} | {_fmt(model['trace_token_share'])} | "
            f"{_fmt(training.get('steps_per_s'), 2)} |"
        )
    lines += _comparison_lines(report["comparisons"])
    lines += mitigation_table.markdown_lines(report)
    lines += ["", "## Caveats", ""] + [f"- {caveat}" for caveat in report.get("caveats", [])]
    lines += ["", "## Calibration", ""] + [f"- **{name}**: {text}" for name, text in calibration.items()]
    lines += ["", "## Tokens with the largest attribution", ""]
    for model in report["models"]:
        tokens = ", ".join(
            f"`{entry['token']}`{' (trace)' if entry['trace'] else ''} {entry['mean_attribution']:.3g}"
            for entry in model["top_tokens"][:10]
        )
        lines.append(f"- {model['name']}: {tokens or 'n/a'}")
    lines += review.markdown_lines(report)
    lines += ["", "## Plots", ""] + [f"![{path}]({path})" for path in report.get("plots", [])]
    return "\n".join(lines) + "\n"


def _protocol_lines(settings: dict[str, Any]) -> list[str]:
    """Training, sampling protocol, precision and replicates, as report.md states them."""
    protocol, precision, training = settings["protocol"], settings["precision"], settings["training"]
    lines = []
    if training is not None:
        lines.append(
            f"- Training: {training['steps']} steps per model at batch {training['batch_size']}, learning rate "
            f"{training['learning_rate']:g}, linear warm-up {training['warmup_steps']} steps, prompt dropout "
            f"{training['cond_dropout']}; {settings['replicates']} training replicate(s) per model (seeds "
            f"{settings['seed']}..{settings['seed'] + settings['replicates'] - 1})."
        )
    lines.append(
        f"- Sampling protocol `{protocol['name']}`: DDIM, {protocol['sampling_steps']} steps, {protocol['generations']} "
        f"generation(s) per prompt, guidance {protocol['guidance']}."
        + (f" {protocol['deviation']}" if protocol["deviation"] else "")
    )
    lines.append(
        f"- Precision: training {precision['training']}, scoring {precision['scoring']}, frozen text encoder and VAE "
        f"{precision['frozen']}."
    )
    return lines


def _comparison_lines(comparisons: list[dict[str, Any]]) -> list[str]:
    """The raw-versus-cleaned table: paired reductions (raw minus cleaned; 0 = no effect)."""
    if not comparisons:
        return []
    names = list(comparisons[0]["measures"])
    lines = [
        "",
        "## Raw versus cleaned (paired per training image; reductions are raw minus cleaned, 0 when cleaning changes nothing)",
        "",
        "| strategy | replicate pairs | above threshold raw -> cleaned | "
        + " | ".join(f"{name} [95% CI]" for name in names)
        + " | copy rate difference [95% CI] |",
        "| --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]
    for comparison in comparisons:
        measures, copies = comparison["measures"], comparison["differences_cleaned_minus_raw"]["copy_rate"]
        lines.append(
            f"| {comparison['strategy']} | {comparison['replicate_pairs']} | {_fmt(comparison['memorized_rate_raw'])} -> "
            f"{_fmt(comparison['memorized_rate_cleaned'])} | "
            + " | ".join(f"{_fmt(measures[name]['value'], 4)} {_interval(measures[name]['ci'], 4)}" for name in names)
            + f" | {_fmt(copies['difference'])} {_interval(copies['ci'])} |"
        )
    lines += ["", *[f"- `{name}`: {entry['meaning']}." for name, entry in comparisons[0]["measures"].items()]]
    return lines


def _interval(ci: list[float] | None, digits: int = 3) -> str:
    return "" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def save_scores(path: Path, key: str, train: PromptScores, heldout: PromptScores, timing: dict[str, Any]) -> None:
    """Cache one model's scores (no pickle: plain arrays plus a JSON header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"version": SCORE_CACHE_VERSION, "key": key, "timing": timing}
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    for prefix, scores in (("train", train), ("heldout", heldout)):
        lengths = np.array([len(tokens) for tokens in scores.tokens], dtype=np.int64)
        arrays[f"{prefix}_wen_per_step"] = scores.wen_per_step
        arrays[f"{prefix}_thumbnails"] = scores.thumbnails
        arrays[f"{prefix}_lengths"] = lengths
        arrays[f"{prefix}_tokens"] = np.array([token for tokens in scores.tokens for token in tokens], dtype=str)
        arrays[f"{prefix}_attributions"] = np.concatenate(scores.attributions) if scores.attributions else np.zeros(0)
        has_offsets = all(offsets is not None for offsets in scores.offsets)
        arrays[f"{prefix}_offsets"] = (
            np.array([pair for offsets in scores.offsets for pair in offsets or []], dtype=np.int64).reshape(-1, 2)
            if has_offsets
            else np.zeros((0, 2), dtype=np.int64)
        )
        arrays[f"{prefix}_has_offsets"] = np.array(has_offsets)
    staging = path.with_suffix(".tmp.npz")
    # mypy matches **arrays against the keyword allow_pickle too, which numpy before 2.1 lacks
    # (passing it there would save it as one more array); no array here is named allow_pickle.
    np.savez_compressed(staging, **arrays)  # type: ignore[arg-type]
    staging.replace(path)


def load_scores(path: Path, key: str) -> tuple[PromptScores, PromptScores, dict[str, Any]] | None:
    """Scores cached by :func:`save_scores` under the same key, else ``None``."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("version") != SCORE_CACHE_VERSION or meta.get("key") != key:
            return None
        loaded = []
        for prefix in ("train", "heldout"):
            bounds = np.cumsum(data[f"{prefix}_lengths"])[:-1]
            tokens = [list(part) for part in np.split(data[f"{prefix}_tokens"], bounds)]
            offsets: list[list[tuple[int, int]] | None]
            if bool(data[f"{prefix}_has_offsets"]):
                offsets = [[(int(a), int(b)) for a, b in part] for part in np.split(data[f"{prefix}_offsets"], bounds)]
            else:
                offsets = [None] * len(tokens)
            wen_per_step = data[f"{prefix}_wen_per_step"]
            loaded.append(
                PromptScores(
                    wen=wen_per_step.mean(axis=(1, 2)),
                    wen_per_step=wen_per_step,
                    tokens=[[str(token) for token in row] for row in tokens],
                    offsets=offsets,
                    attributions=np.split(data[f"{prefix}_attributions"], bounds),
                    thumbnails=data[f"{prefix}_thumbnails"],
                )
            )
    return loaded[0], loaded[1], meta["timing"]


def concat_scores(parts: Sequence[PromptScores]) -> PromptScores:
    """Join the scores of consecutive prompt chunks (one per process)."""
    return PromptScores(
        wen=np.concatenate([part.wen for part in parts]),
        wen_per_step=np.concatenate([part.wen_per_step for part in parts]),
        tokens=[row for part in parts for row in part.tokens],
        offsets=[row for part in parts for row in part.offsets],
        attributions=[row for part in parts for row in part.attributions],
        thumbnails=np.concatenate([part.thumbnails for part in parts]),
    )
