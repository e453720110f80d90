"""The report sections a reviewer asked for (issue 12): the seed paper's analyses, their markdown, report.html.

Every ``models[]`` entry gains ``analyses`` (:func:`deidlint.verify.analyses.analyse_model`);
``report.md`` states them and the ``replication`` section (the validated copy detector, built
with the report), and ``report.html`` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deidlint.verify import analyses, html_report

if TYPE_CHECKING:
    from deidlint.verify.replication import TrainingImages
    from deidlint.verify.report import ModelRun

REFERENCE_ATTRIBUTION = (
    "Per token, as the seed paper's code computes it (--reference-attribution; get_text_cond_grad of Wen et al.'s "
    "local_sd_pipeline.py): along a trajectory whose guidance runs reversed (conditional and unconditional embeddings "
    "swapped), the L2 norm of the gradient of one norm over all generations of a prompt with respect to the text "
    "embedding, divided by twice the generations, averaged over steps. Not the intended attribution: per-token shares "
    "differ from it."
)


def add_sections(report: dict[str, Any], runs: Sequence[ModelRun], *, seed: int, replicates: int) -> None:
    """Add each model's ``analyses`` to a built report, in place."""
    by_name = {model["name"]: model for model in report["models"]}
    for run in runs:
        by_name[run.name]["analyses"] = analyses.analyse_model(
            run.items, run.train.wen, run.train.tokens, run.train.offsets, run.train.attributions,
            replicates=replicates, seed=seed,
        )  # fmt: skip
    if report["settings"]["scoring"].get("reference_attribution"):
        report["calibration"]["attribution"] = REFERENCE_ATTRIBUTION
    report["calibration"]["outliers"] = (
        f"Memorized prompts as the seed paper finds them, as outliers of the Wen metric over a model's training prompts: "
        f"z-score above {analyses.Z_THRESHOLD:g}, or above the {analyses.PERCENTILE:g}th percentile (cut-offs chosen by "
        "deidlint: the author's outlier code is not released). Trace families are deidlint's rule packs; intervals "
        f"resample memorized and non-memorized prompts separately ({replicates} replicates)."
    )


def markdown_lines(report: dict[str, Any]) -> list[str]:
    """The sections' statements for ``report.md``."""
    lines: list[str] = []
    found = report.get("replication")
    if found:
        lines += ["", "## Replication (validated descriptor)", "", found["description"], "",
                  "| model | 95th-percentile similarity | share above threshold | nearest is own image |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        lines += [f"| {name} | {m['p95_similarity']:.3f} | {m['share_above_threshold']:.3f} | "
                  f"{m['nearest_is_own_image_rate']:.3f} |" for name, m in found["models"].items()]  # fmt: skip
    for model in report["models"]:
        result = model.get("analyses")
        if not result:
            continue
        lines += ["", f"## Seed-paper analyses: {model['name']}", ""]
        for rule, outliers in result["outliers"].items():
            lines.append(f"- {rule} outliers ({outliers['rule']}): {outliers['count']} prompts")
            for row in result["trace_presence"][rule]:
                lines.append(
                    f"  - {row['family']}: {row['memorized_with']}/{row['memorized_total']} memorized "
                    f"({_share(row['share_memorized'])}) vs {row['non_memorized_with']}/{row['non_memorized_total']} "
                    f"non-memorized ({_share(row['share_non_memorized'])}) hold a trace; difference "
                    f"{_share(row['difference'])} {_ci(row['ci'])}"
                )
        share = result["trace_attribution_share"]
        lines.append(f"- trace attribution share over {share['prompts_with_traces']} prompts with traces: "
                     f"{_share(share['all_prompts_with_traces'])}")  # fmt: skip
        tokens = ", ".join(f"`{t['token']}` {t['mean_attribution']:.3g} (n={t['occurrences']}"
                           f"{', trace' if t['trace_occurrences'] else ''})" for t in result["pooled_tokens"][:10])  # fmt: skip
        lines.append(f"- tokens by attribution pooled per token string: {tokens or 'n/a'}")
    return lines


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(ci: list[float] | None) -> str:
    return "" if ci is None else f"[95% CI {ci[0]:.3f}, {ci[1]:.3f}]"


def write_html(report: dict[str, Any], runs: Sequence[ModelRun], images: TrainingImages, out: Path) -> Path:
    """Write ``report.html`` beside ``report.json``; returns its path."""
    path = out / "report.html"
    html_report.write(str(path), report, {run.name: run.train.thumbnails for run in runs}, images.thumbnails)
    return path

