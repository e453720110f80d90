"""report.html from a fixture report: what it draws, and what a reader sees in headless Chromium."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("torch")  # the report module reads the ROC points of deidlint.verify.compare

from deidlint.verify import html_report  # noqa: E402
from tests import chromium_support  # noqa: E402


def fixture_report() -> tuple[dict[str, Any], dict[str, np.ndarray], np.ndarray]:
    """Two models, two comparisons in today's layout plus fields of a later one, one ROC list."""
    rng = np.random.default_rng(0)
    models = []
    for name in ("raw", "remove"):
        wen = rng.normal(1.0, 0.1, 12)
        models.append(
            {
                "name": name, "prompts": 12, "wen_mean": float(wen.mean()), "wen_heldout_mean": 0.9,
                "memorized_rate": 0.1, "trace_attribution_share": 0.2,
                "per_prompt": [{"index": i, "wen": float(w), "duplicates": 3 if i < 3 else 1} for i, w in enumerate(wen)],
                "heldout_wen": rng.normal(0.9, 0.1, 8).tolist(),
                "analyses": {
                    "outliers": {"zscore": {"rule": "z > 3", "count": 0, "indices": []}},
                    "trace_presence": {"zscore": [{
                        "family": "any", "memorized_with": 0, "memorized_total": 0, "share_memorized": None,
                        "share_memorized_ci": None, "non_memorized_with": 5, "non_memorized_total": 12,
                        "share_non_memorized": 5 / 12, "share_non_memorized_ci": [0.2, 0.7], "difference": None, "ci": None,
                    }]},
                    "pooled_tokens": [{"token": "___", "mean_attribution": 0.3, "occurrences": 4, "trace_occurrences": 4}],
                    "top_prompts": [
                        {"index": i, "wen": 1.0, "z": 0.5, "tokens": ["no", "change", "since", "___", "."],
                         "attribution": [0.1, 0.2, 0.1, 0.5, 0.05], "trace": [False, False, False, True, False]}
                        for i in (0, 4)
                    ],
                },
            }
        )  # fmt: skip
    models[0]["detection"] = {"roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.1, "tpr": 0.8}, {"fpr": 1.0, "tpr": 1.0}]}
    comparison = {
        "strategy": "remove", "memorized_rate_raw": 0.1, "memorized_rate_cleaned": 0.05, "memorized_rate_reduction": 0.5,
        "ci": [-0.2, 0.9], "undefined_replicates": 0,
        "differences_cleaned_minus_raw": {
            "wen_mean": {"difference": -0.01, "ci": [-0.03, 0.01], "undefined_replicates": 0},
            "copy_rate": {"difference": None, "ci": None, "note": "undefined"},
        },
        "paired": {"p95_difference": -0.02, "p95_difference_ci": [-0.05, 0.01],
                   "share_above": {"value": 0.01, "ci": [0.0, 0.03]}},
    }  # fmt: skip
    mask = copy.deepcopy(comparison)
    mask["strategy"] = "mask"
    replication = {
        "description": "validated descriptor", "threshold": 0.8,
        "models": {
            model["name"]: {"p95_similarity": 0.7, "share_above_threshold": 0.05, "nearest_is_own_image_rate": 0.1,
                            "similarity": rng.uniform(0, 1, (12, 2)).tolist(),
                            "nearest_image": rng.integers(0, 5, (12, 2)).tolist()}
            for model in models
        },
    }  # fmt: skip
    report = {"settings": {"command": "verify", "data": "fixture", "device": "cpu"}, "caveats": ["fixture"],
              "models": models, "comparisons": [comparison, mask], "replication": replication}  # fmt: skip
    generated = {model["name"]: rng.integers(0, 256, (12, 2, 16, 16), dtype=np.uint8) for model in models}
    return report, generated, rng.integers(0, 256, (5, 16, 16), dtype=np.uint8)


#: Per model: histogram, ROC, attribution, copies (4 x 2); and one panel per measure with an interval (4).
EXPECTED_FIGURES = 12


def test_intervals_are_read_generically() -> None:
    report, _, _ = fixture_report()
    found = {measure: (estimate, ci) for measure, estimate, ci in html_report.intervals(report["comparisons"][0])}
    assert found == {
        "memorized_rate_reduction": (0.5, [-0.2, 0.9]),
        "differences_cleaned_minus_raw.wen_mean": (-0.01, [-0.03, 0.01]),
        "paired.p95_difference": (-0.02, [-0.05, 0.01]),
        "paired.share_above": (0.01, [0.0, 0.03]),
    }


def test_roc_curves_from_lists_and_planted_duplicates() -> None:
    report, _, _ = fixture_report()
    curves = html_report.roc_curves(report["models"][0])
    assert [label for label, _, _ in curves] == ["detection", "planted duplicates vs single prompts (Wen metric)"]
    _, fpr, tpr = curves[1]
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    labelled = html_report._curve(np.array([3.0, 2.0, 1.0]), np.array([True, False, False]))
    assert labelled[0].tolist() == [0.0, 0.0, 0.5, 1.0] and labelled[1].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_page_is_self_contained_with_a_caption_per_figure() -> None:
    page = html_report.render(*fixture_report())
    assert page.count("<figure>") == EXPECTED_FIGURES == page.count("<figcaption>")
    assert "http://" not in page and "https://" not in page and "<script" not in page


@pytest.mark.skipif(not Path(chromium_support.CHROMIUM).exists(), reason="/usr/bin/chromium is absent (apt-get install chromium)")
def test_reader_sees_every_plot_with_its_caption_and_no_console_error(tmp_path: Path) -> None:
    pytest.importorskip("websocket", reason="websocket-client is absent (the test extra installs it)")
    path = tmp_path / "report.html"
    html_report.write(str(path), *fixture_report())
    seen = chromium_support.view(path)
    assert seen.errors == []
    assert len(seen.figures) == EXPECTED_FIGURES
    for figure in seen.figures:
        assert figure["loaded"] and figure["width"] > 100 and figure["height"] > 50
        assert len(figure["caption"]) > 20
    assert [r for r in seen.resources if not r.startswith("data:")] == []
    assert "Raw versus cleaned" in seen.headings and "Token attribution" in seen.headings
    # A broken image is what the check exists to catch.
    path.write_text(path.read_text().replace("base64,iVBOR", "base64,XXXXX", 1))
    assert not all(figure["loaded"] for figure in chromium_support.view(path).figures)
