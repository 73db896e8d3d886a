"""The didactic pipeline through the real CLI."""

import math

from tests.conftest import load_results, run_cli


def test_procedural_base_run_writes_results_and_prints_table(tmp_path):
    proc = run_cli(
        ["experiment=didactic", "base=procedural", "mixture=high", "eval.horizons=[8,32]",
         "eval.samples_per_prompt=16", "task.n_test=30", f"hydra.run.dir={tmp_path}"],
        tmp_path,
    )
    assert "base policy on test prompts" in proc.stdout
    results = load_results(tmp_path)
    assert results["horizons"] == [8, 32]
    assert results["sample_counts"] == {"test_prompts": 30, "samples_per_prompt": 16}
    assert set(results["base_stats"]) == {"8", "32"}
    for horizon, stats in results["base_stats"].items():
        j = stats["J"]
        assert j["low"] <= j["value"] <= j["high"] and all(math.isfinite(j[k]) for k in ("low", "high"))
        assert 0 <= stats["J_norm"]["value"] <= 1
        assert len(stats["heterogeneity"]["per_prompt_sigma"]) == 30
        assert set(stats["anti_concentration"]) == {"0.25", "0.5", "1.0", "2.0"}
    # the high mixture spreads returns: σ grows with the budget
    assert results["base_stats"]["32"]["heterogeneity"]["median_sigma"] > results["base_stats"]["8"]["heterogeneity"]["median_sigma"]
    assert results["arms"] == {} and len(results["config_hash"]) == 12
