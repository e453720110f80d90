"""The seed paper's analyses on small cases whose answers are known (made-up prompts, no report text)."""

from __future__ import annotations

import numpy as np
import pytest

from deidlint.verify import analyses


def words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Whitespace tokens and their character spans (a stand-in for a tokenizer's offsets)."""
    tokens, offsets, start = [], [], 0
    for token in text.split():
        start = text.index(token, start)
        tokens.append(token)
        offsets.append((start, start + len(token)))
        start += len(token)
    return tokens, offsets


def test_outliers_by_zscore_and_percentile() -> None:
    wen = np.r_[np.random.default_rng(0).normal(1.0, 0.05, 98), 5.0, 4.0]
    found = analyses.outliers(wen)
    assert found["zscore"]["indices"] == [98, 99]
    assert found["zscore"]["threshold"] == pytest.approx(wen.mean() + 3 * wen.std())
    assert found["percentile"]["count"] == 5 and found["percentile"]["indices"][:2] == [98, 99]
    assert analyses.outliers(np.ones(5))["zscore"]["count"] == 0


def test_trace_presence_counts_per_family_with_intervals() -> None:
    memorized = np.array([True] * 4 + [False] * 6)
    families = [{"mimic"}, {"mimic", "openi"}, set(), {"mimic"}, {"openi"}, set(), set(), set(), set(), {"mimic"}]
    rows = {row["family"]: row for row in analyses.trace_presence(memorized, families, replicates=400, seed=0)}
    assert list(rows) == ["any", "mimic", "openi"]
    mimic = rows["mimic"]
    assert (mimic["memorized_with"], mimic["memorized_total"], mimic["non_memorized_with"]) == (3, 4, 1)
    assert mimic["share_memorized"] == pytest.approx(0.75) and mimic["share_non_memorized"] == pytest.approx(1 / 6)
    assert mimic["difference"] == pytest.approx(0.75 - 1 / 6)
    low, high = mimic["ci"]
    assert low <= mimic["difference"] <= high and high - low > 0.1
    assert rows["any"]["memorized_with"] == 3 and rows["any"]["non_memorized_with"] == 2
    empty = analyses.trace_presence(np.zeros(3, dtype=bool), [set(), set(), {"mimic"}], replicates=10, seed=0)
    assert empty[0]["share_memorized"] is None and empty[0]["share_memorized_ci"] is None


def test_tokens_pool_per_string_like_the_author() -> None:
    tokens = [["a", "___", "b"], ["___", "a"]]
    attributions = [np.array([1.0, 4.0, 0.5]), np.array([2.0, 3.0])]
    flags = [np.array([False, True, False]), np.array([True, False])]
    ranked = analyses.pooled_tokens(tokens, attributions, flags)
    assert [entry["token"] for entry in ranked] == ["___", "a", "b"]
    assert ranked[0] == {"token": "___", "mean_attribution": 3.0, "occurrences": 2, "trace_occurrences": 2}
    assert ranked[1]["mean_attribution"] == pytest.approx(2.0) and ranked[1]["trace_occurrences"] == 0


def test_analyse_model_finds_traces_and_their_share() -> None:
    prompts = ["Comparison to ___ . No change.", "Heart size normal .", "Seen by Dr. ___ on XXXX ."] + [
        f"Lungs clear {i} ." for i in range(27)
    ]
    split = [words(prompt) for prompt in prompts]
    tokens, offsets = [t for t, _ in split], [o for _, o in split]
    attributions = [np.ones(len(t)) for t in tokens]
    attributions[0][2] = 3.0  # "___" carries 3 of the 8 units of the first prompt
    wen = np.r_[9.0, np.full(29, 1.0) + np.linspace(0, 0.1, 29)]
    result = analyses.analyse_model(prompts, wen, tokens, offsets, attributions, replicates=50, seed=0)
    assert result["outliers"]["zscore"]["indices"] == [0]
    rows = {row["family"]: row for row in result["trace_presence"]["zscore"]}
    assert rows["mimic"]["memorized_with"] == 1 and rows["mimic"]["non_memorized_with"] == 1
    assert rows["openi"]["non_memorized_with"] == 1
    assert result["trace_attribution_share"]["by_outlier_rule"]["zscore"]["memorized"] == pytest.approx(3 / 8)
    top = result["top_prompts"][0]
    assert top["index"] == 0 and top["trace"] == [False, False, True, False, False, False]
    assert top["families"] == ["mimic"]
