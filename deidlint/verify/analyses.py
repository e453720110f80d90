"""The seed paper's analyses of one scored model: outlier prompts, trace presence, pooled tokens.

Dutt (2025, "The Devil is in the Prompts"; code: Raman1121/diffusion_memorization) scores every
training prompt with Wen et al.'s metric, takes the outliers of that score as the memorized prompts
(two lists, ``outliers_zscore.csv`` and ``outliers_percentile.csv``, read by its
``examples/token_wise_significance.ipynb``), compares how often memorized and non-memorized
prompts contain de-identification traces (110 of 306 memorized prompts hold ``___`` against 20 of
80 non-memorized ones in its released lists), and ranks tokens by their attribution pooled per
token string over prompts (``generate_token_wise_significance_score.py``: one list of values per
decoded token, ranked by their mean). The code that wrote the two outlier lists is not in the
released repository, so the cut-offs here (:data:`Z_THRESHOLD`, :data:`PERCENTILE`) are
deidlint's, stated in the report.

Trace families are deidlint's rule packs (``mimic``: ``___``, ``openi``: ``XXXX``, ``physionet``:
``[** **]`` ...), found with :func:`deidlint.scan` (category ``trace``); ``any`` is their union.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from deidlint.verify.metrics import trace_flags, trace_share

Z_THRESHOLD = 3.0
"""A prompt is a z-score outlier when its metric is this many standard deviations above the mean."""
PERCENTILE = 95.0
"""A prompt is a percentile outlier when its metric is above this percentile of all prompts."""
TOP_POOLED_TOKENS = 20
TOP_PROMPTS = 8
"""Prompts whose per-token attribution the report shows."""
ANY = "any"


def trace_findings(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, family)`` of each trace in a prompt, the family being the rule's pack."""
    from deidlint import scan

    return [(f.start, f.end, f.rule.pack) for f in scan(text) if f.rule.category == "trace"]


def outliers(wen: np.ndarray) -> dict[str, dict[str, Any]]:
    """Memorized prompts as outliers of the metric, by z-score and by percentile."""
    mean, std = float(wen.mean()), float(wen.std())
    z = (wen - mean) / std if std > 0 else np.zeros_like(wen)
    cut = float(np.percentile(wen, PERCENTILE))
    by_z = np.flatnonzero(z > Z_THRESHOLD)
    by_percentile = np.flatnonzero(wen > cut)
    return {
        "zscore": {
            "rule": f"z = (wen - mean) / std over the model's training prompts, z > {Z_THRESHOLD:g}",
            "mean": mean,
            "std": std,
            "threshold": mean + Z_THRESHOLD * std,
            "count": int(by_z.size),
            "indices": [int(i) for i in by_z[np.argsort(-wen[by_z])]],
        },
        "percentile": {
            "rule": f"wen above the {PERCENTILE:g}th percentile of the model's training prompts",
            "threshold": cut,
            "count": int(by_percentile.size),
            "indices": [int(i) for i in by_percentile[np.argsort(-wen[by_percentile])]],
        },
    }


def trace_presence(
    memorized: np.ndarray, families: Sequence[set[str]], replicates: int, seed: int
) -> list[dict[str, Any]]:
    """Share of memorized against non-memorized prompts holding a trace, per family, with CIs.

    The intervals resample the memorized and the non-memorized prompts separately (each group
    keeps its size), 95% percentile intervals of each share and of their difference.
    """
    names = [ANY, *sorted({family for found in families for family in found})]
    rng = np.random.default_rng(seed)
    groups = np.flatnonzero(memorized), np.flatnonzero(~memorized)
    draws = [
        (rng.integers(0, len(group), (replicates, len(group))) if len(group) else np.zeros((replicates, 0), dtype=int))
        for group in groups
    ]
    rows = []
    for name in names:
        holds = np.array([bool(found) if name == ANY else name in found for found in families], dtype=float)
        shares = [holds[group].mean() if len(group) else float("nan") for group in groups]
        resampled = [holds[group][draw].mean(axis=1) if len(group) else np.full(replicates, np.nan) for group, draw in
                     zip(groups, draws, strict=True)]  # fmt: skip
        rows.append(
            {
                "family": name,
                "memorized_with": int(holds[groups[0]].sum()),
                "memorized_total": int(len(groups[0])),
                "share_memorized": _finite(shares[0]),
                "share_memorized_ci": _interval(resampled[0]),
                "non_memorized_with": int(holds[groups[1]].sum()),
                "non_memorized_total": int(len(groups[1])),
                "share_non_memorized": _finite(shares[1]),
                "share_non_memorized_ci": _interval(resampled[1]),
                "difference": _finite(shares[0] - shares[1]),
                "ci": _interval(resampled[0] - resampled[1]),
            }
        )
    return rows


def pooled_tokens(
    tokens: Sequence[Sequence[str]], attributions: Sequence[np.ndarray], flags: Sequence[np.ndarray | None]
) -> list[dict[str, Any]]:
    """Tokens ranked by their attribution pooled per token string over prompts (the author's way).

    Every occurrence counts, however rare the token (the author keeps no minimum); ``occurrences``
    says how many values each mean rests on, ``trace_occurrences`` how many were inside a trace.
    """
    values: dict[str, list[float]] = defaultdict(list)
    in_trace: dict[str, int] = defaultdict(int)
    for row, attribution, flag in zip(tokens, attributions, flags, strict=True):
        for position, (token, value) in enumerate(zip(row, attribution, strict=True)):
            if np.isfinite(value):
                values[token].append(float(value))
                in_trace[token] += int(flag is not None and bool(flag[position]))
    ranked = sorted(values.items(), key=lambda item: -float(np.mean(item[1])))[:TOP_POOLED_TOKENS]
    return [
        {
            "token": token,
            "mean_attribution": float(np.mean(found)),
            "occurrences": len(found),
            "trace_occurrences": in_trace[token],
        }
        for token, found in ranked
    ]


def analyse_model(
    prompts: Sequence[str],
    wen: np.ndarray,
    tokens: Sequence[Sequence[str]],
    offsets: Sequence[Sequence[tuple[int, int]] | None],
    attributions: Sequence[np.ndarray],
    *,
    replicates: int,
    seed: int,
) -> dict[str, Any]:
    """All of the seed paper's analyses for one model's training prompts (``report.json`` ``analyses``)."""
    findings = [trace_findings(prompt) for prompt in prompts]
    families = [{family for _, _, family in found} for found in findings]
    flags = [trace_flags(offset, [(start, end) for start, end, _ in found])
             for offset, found in zip(offsets, findings, strict=True)]  # fmt: skip
    shares = np.array([np.nan if (share := trace_share(a, f)) is None else share
                       for a, f in zip(attributions, flags, strict=True)])  # fmt: skip
    found_outliers = outliers(wen)
    z = (wen - found_outliers["zscore"]["mean"]) / found_outliers["zscore"]["std"] if wen.std() > 0 else np.zeros_like(wen)
    presence = {}
    share_by_group = {}
    for offset, (name, found) in enumerate(found_outliers.items(), start=1):
        memorized = np.zeros(len(wen), dtype=bool)
        memorized[found["indices"]] = True
        presence[name] = trace_presence(memorized, families, replicates, seed + offset)
        share_by_group[name] = {
            "memorized": _mean(shares[memorized]),
            "non_memorized": _mean(shares[~memorized]),
        }
    top = np.argsort(-wen)[:TOP_PROMPTS]
    return {
        "outliers": found_outliers,
        "trace_presence": presence,
        "pooled_tokens": pooled_tokens(tokens, attributions, flags),
        "trace_attribution_share": {
            "rule": "per prompt holding a trace: its attribution on trace tokens over its attribution on all content tokens",
            "all_prompts_with_traces": _mean(shares),
            "prompts_with_traces": int(np.isfinite(shares).sum()),
            "by_outlier_rule": share_by_group,
        },
        "top_prompts": [
            {
                "index": int(index),
                "wen": float(wen[index]),
                "z": float(z[index]),
                "tokens": list(tokens[index]),
                "attribution": [_finite(float(value)) for value in attributions[index]],
                "trace": [bool(flag) for flag in flags[index]] if flags[index] is not None else None,
                "families": sorted(families[index]),
            }
            for index in top
        ],
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _interval(values: np.ndarray) -> list[float] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]
