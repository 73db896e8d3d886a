"""Compute-optimal selection by difficulty on synthetic stored samples whose best method per
group is known by construction: the verifier is right on hard problems, the majority on easy ones."""

import json

import numpy as np
import pytest

from analysis.compute_optimal import compute_optimal, main, pass_rate_bins, stored_samples

METHODS = ["majority_vote", "best_of_n", "pass_at_n"]


def synthetic_run(tmp_path):
    """8 problems × 4 samples. Levels 1 (easy, rows 0–3) and 2 (hard, rows 4–7).

    Easy: 3 of 4 samples right with the same answer, the verifier prefers the wrong one.
    Hard: 1 of 4 right (the last sample), wrong answers agree with each other, the verifier picks the right one.
    """
    correct = np.zeros((8, 4), dtype=bool)
    keys = np.empty((8, 4), dtype="<U4")
    scores = np.zeros((8, 4))
    correct[:4, 1:], keys[:4] = True, ["9", "7", "7", "7"]
    scores[:4, 0] = 1.0
    correct[4:, 3], keys[4:] = True, ["5", "5", "5", "8"]
    scores[4:, 3] = 1.0
    tokens = np.full((8, 4), 10)
    np.savez_compressed(tmp_path / "graded.npz", base_correct=correct, base_answer_keys=keys, base_scores=scores,
                        base_tokens=tokens, levels=np.array([1] * 4 + [2] * 4))
    config = {"seed": 0, "data": {"n": 8}, "selection": {"n_grid": [1, 4], "methods": METHODS}}
    (tmp_path / "results.json").write_text(json.dumps({"experiment": "synthetic", "config_hash": "abc", "config": config}))
    return tmp_path


def test_best_method_per_level_and_bin_and_the_optimal_curve(tmp_path):
    graded, levels = stored_samples(synthetic_run(tmp_path))
    result = compute_optimal(graded, levels, [1, 4], METHODS, n_bins=4)
    easy, hard = result["by"]["level"]["level 1"], result["by"]["level"]["level 2"]
    assert easy["accuracy"] == {"majority_vote": [0.0, 1.0], "best_of_n": [0.0, 0.0], "pass_at_n": [0.0, 1.0]}
    assert hard["accuracy"] == {"majority_vote": [0.0, 0.0], "best_of_n": [0.0, 1.0], "pass_at_n": [0.0, 1.0]}
    assert easy["best"][1] == "majority_vote" and hard["best"][1] == "best_of_n"  # the oracle is never picked
    assert result["overall"]["majority_vote"] == [0.0, 0.5] and result["overall"]["best_of_n"] == [0.0, 0.5]
    assert result["compute_optimal"]["level"] == [0.0, 1.0]  # picking per level beats either method alone
    bins = result["by"]["pass_rate_bin"]
    assert {g: b["problems"] for g, b in bins.items()} == {"pass 0.25–0.50": 4, "pass 0.75–1.00": 4}
    assert result["compute_optimal"]["pass_rate_bin"] == [0.0, 1.0]
    assert result["tokens_mean"] == [10.0, 40.0]


def test_pass_rate_bins_have_fixed_width_and_close_at_one():
    correct = np.array([[0, 0], [1, 0], [1, 1]], dtype=bool)
    assert pass_rate_bins(correct, 2) == ["pass 0.00–0.50", "pass 0.50–1.00", "pass 0.50–1.00"]


def test_cli_writes_table_and_figure(tmp_path):
    run = synthetic_run(tmp_path)
    main([str(run), "--bins", "4"])
    table = (run / "compute_optimal.md").read_text()
    assert "| level 2 | 4 | 4 | best_of_n |" in table and "| level 1 | 4 | 4 | majority_vote |" in table
    assert json.loads((run / "compute_optimal.json").read_text())["compute_optimal"]["level"] == pytest.approx([0.0, 1.0])
    assert (run / "compute_optimal.png").stat().st_size > 0 and (run / "compute_optimal.pdf").is_file()
