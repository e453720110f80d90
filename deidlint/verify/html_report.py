"""``report.html``: one self-contained page a reviewer can open anywhere (plots inline, no network).

Everything is drawn from ``report.json`` (so the page shows what the JSON says and nothing else)
plus the images, which the JSON does not hold: generated thumbnails and the distinct training
images they are matched with. Paired differences are read generically from ``comparisons[]``: any
number that has a confidence interval beside it (a sibling ``ci``, or ``<name>_ci``) is drawn,
so new measures appear without changes here. ROC curves are drawn wherever ground truth exists:
``roc`` lists of ``{fpr, tpr}`` points anywhere in a model's entry, per-prompt boolean labels
(``known_memorized``), and the planted duplicates (``duplicates`` > 1) of the per-prompt rows.

Prompt text appears only as the tokens of the top prompts, in the user's own output folder.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deidlint.atomic import atomic_output
from deidlint.verify.compare import roc_points

ESTIMATE_NAMES = ("difference", "value", "estimate", "mean_difference")
LABEL_FIELDS = ("known_memorized",)


@dataclass(frozen=True)
class Figure:
    """One plot of the page and the caption that says what it shows."""

    section: str
    png: bytes
    caption: str


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    _pyplot().close(figure)
    return buffer.getvalue()


def intervals(comparison: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, float, list[float]]]:
    """``(measure, estimate, [low, high])`` for every number in a comparison that has an interval."""
    for key, value in comparison.items():
        if isinstance(value, Mapping):
            yield from intervals(value, f"{path}{key}.")
        elif key.endswith("_ci") and _is_interval(value) and _is_number(comparison.get(key[:-3])):
            yield f"{path}{key[:-3]}", float(comparison[key[:-3]]), [float(v) for v in value]
    ci = comparison.get("ci")
    if ci is None or not _is_interval(ci):
        return
    # The number a bare ``ci`` belongs to: a conventionally named one, else the only difference or
    # reduction beside it, else the only number beside it (never a guess among several).
    numbers = {key: value for key, value in comparison.items() if _is_number(value) and isinstance(value, float)}
    named = [key for key in ESTIMATE_NAMES if key in numbers]
    measured = [key for key in numbers if "difference" in key or "reduction" in key]
    chosen = named[:1] or (measured if len(measured) == 1 else list(numbers) if len(numbers) == 1 else [])
    for key in chosen:
        label = path.rstrip(".") if key in ESTIMATE_NAMES and path else f"{path}{key}"
        yield label, float(numbers[key]), [float(v) for v in ci]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and bool(np.isfinite(value))


def _is_interval(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)


def roc_curves(model: Mapping[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, fpr, tpr)`` of every ROC curve a model's entry holds or its per-prompt rows imply."""
    curves = [(label, np.array([p["fpr"] for p in points]), np.array([p["tpr"] for p in points]))
              for label, points in _roc_lists(model, "")]  # fmt: skip
    rows = model.get("per_prompt") or []
    scores = np.array([row["wen"] for row in rows], dtype=float)
    for field in LABEL_FIELDS:
        if rows and all(isinstance(row.get(field), bool) for row in rows):
            curves.append((f"{field} prompts (Wen metric)", *_curve(scores, np.array([row[field] for row in rows]))))
    if rows and all("duplicates" in row for row in rows):
        labels = np.array([row["duplicates"] > 1 for row in rows])
        if labels.any() and not labels.all():
            curves.append(("planted duplicates vs single prompts (Wen metric)", *_curve(scores, labels)))
    return curves


def _roc_lists(value: Any, path: str) -> Iterator[tuple[str, list[dict[str, float]]]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "roc" and isinstance(inner, list) and inner and all(isinstance(p, Mapping) for p in inner):
                yield path.rstrip(".") or "roc", inner
            elif key != "per_prompt":
                yield from _roc_lists(inner, f"{path}{key}.")


def _curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points of a score, one per distinct threshold (ties step together)."""
    points = roc_points(scores[labels], scores[~labels])
    return np.array([p["fpr"] for p in points]), np.array([p["tpr"] for p in points])


def _histograms(report: Mapping[str, Any]) -> Iterator[Figure]:
    plt = _pyplot()
    for model in report["models"]:
        trained = np.array([row["wen"] for row in model.get("per_prompt", [])], dtype=float)
        heldout = np.array(model.get("heldout_wen", []), dtype=float)
        if trained.size == 0:
            continue
        figure, axis = plt.subplots(figsize=(6, 3))
        values = np.concatenate([trained, heldout])
        bins = np.linspace(values.min(), values.max(), 30) if values.max() > values.min() else 10
        axis.hist(trained, bins=bins, alpha=0.6, label=f"trained prompts ({trained.size})")
        if heldout.size:
            axis.hist(heldout, bins=bins, histtype="step", linewidth=1.5, label=f"held-out prompts ({heldout.size})")
        axis.set_xlabel("Wen metric ||eps(x_t,c) - eps(x_t,empty)||")
        axis.set_ylabel("prompts")
        axis.legend(fontsize=7)
        yield Figure("Metric per model", _png(figure), f"{model['name']}: distribution of the Wen metric on the prompts it "
                     "was trained on and on held-out prompts it never saw.")  # fmt: skip


def _differences(report: Mapping[str, Any]) -> Iterator[Figure]:
    plt = _pyplot()
    measures: dict[str, list[tuple[str, float, list[float]]]] = {}
    for comparison in report.get("comparisons", []):
        for measure, estimate, ci in intervals(comparison):
            measures.setdefault(measure, []).append((str(comparison.get("strategy", "?")), estimate, ci))
    for measure, rows in measures.items():
        figure, axis = plt.subplots(figsize=(6, 0.6 + 0.45 * len(rows)))
        for position, (_, estimate, (low, high)) in enumerate(rows):
            axis.errorbar([estimate], [position], xerr=[[estimate - low], [high - estimate]], fmt="o", capsize=4)
        axis.axvline(0, color="grey", linewidth=1, linestyle="--")
        axis.set_yticks(range(len(rows)), [strategy for strategy, _, _ in rows])
        axis.set_ylim(-0.6, len(rows) - 0.4)
        axis.set_xlabel(measure)
        yield Figure("Raw versus cleaned", _png(figure), f"{measure}: estimate and 95% interval per strategy "
                     "(dashed line: no difference).")  # fmt: skip


def _rocs(report: Mapping[str, Any]) -> Iterator[Figure]:
    plt = _pyplot()
    for model in report["models"]:
        curves = roc_curves(model)
        if not curves:
            continue
        figure, axis = plt.subplots(figsize=(4, 4))
        for label, fpr, tpr in curves:
            axis.plot(fpr, tpr, label=label)
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel("false-positive rate")
        axis.set_ylabel("true-positive rate")
        axis.legend(fontsize=6, loc="lower right")
        yield Figure("Detection where ground truth exists", _png(figure),
                     f"{model['name']}: ROC curves of " + "; ".join(label for label, _, _ in curves) + ".")  # fmt: skip


def _attributions(report: Mapping[str, Any]) -> Iterator[Figure]:
    plt = _pyplot()
    for model in report["models"]:
        prompts = [p for p in (model.get("analyses") or {}).get("top_prompts", []) if p.get("tokens")]
        if not prompts or all(value is None for p in prompts for value in p["attribution"]):
            continue
        figure, axes = plt.subplots(len(prompts), 1, figsize=(9, 1.7 * len(prompts)), squeeze=False)
        for axis, prompt in zip(axes[:, 0], prompts, strict=True):
            values = [0.0 if value is None else value for value in prompt["attribution"]]
            trace = prompt["trace"] or [False] * len(values)
            axis.bar(range(len(values)), values, color=["tab:red" if flag else "tab:blue" for flag in trace])
            axis.set_xticks(range(len(values)), prompt["tokens"], rotation=90, fontsize=5)
            axis.set_title(f"prompt #{prompt['index']}  wen {prompt['wen']:.3f}  z {prompt['z']:.2f}", fontsize=7)
            axis.tick_params(axis="y", labelsize=6)
        yield Figure("Token attribution", _png(figure), f"{model['name']}: per-token attribution of the {len(prompts)} "
                     "highest-scoring prompts; trace tokens in red.")  # fmt: skip


def _copies(report: Mapping[str, Any], generated: Mapping[str, np.ndarray], training: np.ndarray | None) -> Iterator[Figure]:
    plt = _pyplot()
    replication = report.get("replication") or {}
    for model in report["models"]:
        found = (replication.get("models") or {}).get(model["name"])
        images = generated.get(model["name"])
        if found is None or images is None or training is None:
            continue
        order = [p["index"] for p in (model.get("analyses") or {}).get("top_prompts", [])] or list(range(min(8, len(images))))
        figure, axes = plt.subplots(2, len(order), figsize=(1.3 * len(order), 3.2), squeeze=False)
        for column, index in enumerate(order):
            nearest = found["nearest_image"][index]
            similarity = found["similarity"][index]
            best = int(np.argmax(similarity))
            axes[0][column].imshow(images[index][best], cmap="gray", vmin=0, vmax=255)
            axes[0][column].set_title(f"#{index}", fontsize=6)
            axes[1][column].imshow(training[nearest[best]], cmap="gray", vmin=0, vmax=255)
            axes[1][column].set_title(f"sim {similarity[best]:.3f}", fontsize=6)
            for row in (0, 1):
                axes[row][column].axis("off")
        threshold = replication.get("threshold")
        shown = "" if threshold is None else f" (copy threshold {threshold:.3f})"
        yield Figure("Generated images and their nearest training images", _png(figure),
                     f"{model['name']}: generated image (top) of the highest-scoring prompts beside its nearest training "
                     f"image in the validated descriptor (bottom), with their similarity{shown}.")  # fmt: skip


def figures(report: Mapping[str, Any], generated: Mapping[str, np.ndarray], training: np.ndarray | None) -> list[Figure]:
    """Every plot of the page, in reading order."""
    return [*_histograms(report), *_differences(report), *_rocs(report), *_attributions(report),
            *_copies(report, generated, training)]  # fmt: skip


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if _is_interval(value):
        return f"[{value[0]:.3g}, {value[1]:.3g}]"
    return str(value)


def _tables(report: Mapping[str, Any]) -> str:
    parts = ["<h2>Models</h2>", _table(
        ["model", "prompts", "Wen mean", "Wen mean (held out)", "memorized rate", "trace attribution share"],
        [[m["name"], m.get("prompts"), m.get("wen_mean"), m.get("wen_heldout_mean"), m.get("memorized_rate"),
          m.get("trace_attribution_share")] for m in report["models"]],
    )]  # fmt: skip
    table = report.get("mitigations")
    if table:
        parts += ["<h2>Cleaning against the mitigations</h2>", _table(
            ["model", "kind", "above threshold", "reduction", "95% CI", "Wen mean reduction", "95% CI", "replication",
             "trace attribution", "label agreement", "95% CI", "KID x1000", "training steps", "training cost vs raw",
             "sampling s per image", "sampling cost vs raw"],
            [[r["name"], r["kind"], r["memorized_rate"], r["memorized_rate_reduction"], r["memorized_rate_reduction_ci"],
              r["wen_mean_reduction"], r["wen_mean_reduction_ci"], r["replication_share"], r["trace_attribution_share"],
              r["label_agreement"], r["label_agreement_ci"], r["kid"], r["training_steps"], r["training_cost_vs_raw"],
              r["sampling_s_per_image"], r["sampling_cost_vs_raw"]] for r in table],
        )]  # fmt: skip
    replication = report.get("replication")
    if replication:
        parts += [f"<h2>Replication</h2><p>{html.escape(replication.get('description', ''))}</p>", _table(
            ["model", "95th-percentile similarity", "share above threshold", "nearest is own image"],
            [[name, r.get("p95_similarity"), r.get("share_above_threshold"), r.get("nearest_is_own_image_rate")]
             for name, r in (replication.get("models") or {}).items()],
        )]  # fmt: skip
    for model in report["models"]:
        analyses = model.get("analyses")
        if not analyses:
            continue
        parts.append(f"<h2>Seed-paper analyses: {html.escape(model['name'])}</h2>")
        for rule, found in analyses["outliers"].items():
            parts.append(f"<p><b>{html.escape(rule)} outliers</b> ({html.escape(found['rule'])}): {found['count']} prompts.</p>")
            parts.append(_table(
                ["trace family", "memorized with trace", "share [95% CI]", "non-memorized with trace", "share [95% CI]",
                 "difference [95% CI]"],
                [[row["family"], f"{row['memorized_with']}/{row['memorized_total']}",
                  f"{_cell(row['share_memorized'])} {_cell(row['share_memorized_ci'])}",
                  f"{row['non_memorized_with']}/{row['non_memorized_total']}",
                  f"{_cell(row['share_non_memorized'])} {_cell(row['share_non_memorized_ci'])}",
                  f"{_cell(row['difference'])} {_cell(row['ci'])}"] for row in analyses["trace_presence"][rule]],
            ))  # fmt: skip
        parts.append(_table(
            ["token (pooled over prompts)", "mean attribution", "occurrences", "in a trace"],
            [[t["token"], t["mean_attribution"], t["occurrences"], t["trace_occurrences"]] for t in analyses["pooled_tokens"]],
        ))  # fmt: skip
    return "".join(parts)


STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em}"
    "figure{margin:1em 0 2em}figure img{max-width:100%}figcaption{font-size:.9em;color:#444}"
)


def render(report: Mapping[str, Any], generated: Mapping[str, np.ndarray], training: np.ndarray | None) -> str:
    """The page as one string: tables, then every figure with its caption, images as data URIs."""
    settings = report.get("settings", {})
    sections: dict[str, list[Figure]] = {}
    for figure in figures(report, generated, training):
        sections.setdefault(figure.section, []).append(figure)
    body = [
        "<h1>deidlint verify report</h1>",
        f"<p>Command <code>{html.escape(str(settings.get('command', '')))}</code>, data "
        f"<code>{html.escape(str(settings.get('data', '')))}</code>, device {html.escape(str(settings.get('device', '')))}."
        "</p>",
        *[f"<p class='caveat'>{html.escape(str(caveat))}</p>" for caveat in report.get("caveats", [])],
        _tables(report),
    ]
    for section, found in sections.items():
        body.append(f"<h2>{html.escape(section)}</h2>")
        for figure in found:
            data = base64.b64encode(figure.png).decode()
            body.append(f"<figure><img alt='{html.escape(figure.caption, quote=True)}' src='data:image/png;base64,{data}'>"
                        f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>")  # fmt: skip
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>deidlint verify report</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write(path: str, report: Mapping[str, Any], generated: Mapping[str, np.ndarray], training: np.ndarray | None) -> None:
    """Write ``report.html`` atomically."""
    page = render(report, generated, training).encode()
    with atomic_output(path) as handle:
        handle.write(page)
