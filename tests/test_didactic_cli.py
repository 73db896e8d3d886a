"""The didactic pipeline through the real CLI."""

import math

import pytest

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


def test_smoke_experiment_has_every_arm_at_every_horizon(tmp_path):
    proc = run_cli(["experiment=didactic_smoke", f"hydra.run.dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}"], tmp_path)
    assert "labelled traces" in proc.stdout and "w/o success" in proc.stdout
    results = load_results(tmp_path)
    horizons = {str(h) for h in results["horizons"]}
    expected = {"vf", "vf_expert", "vb_bon@1", "vb_bon@2", "vb_rl", "rl_true", "vb_progress", "rl_true_progress", "optimal"}
    assert expected <= set(results["arms"])
    for name, per_h in results["arms"].items():
        assert set(per_h) == horizons, name
        for stats in per_h.values():
            for key in ("J", "J_norm", "success"):
                est = stats[key]
                assert all(math.isfinite(est[k]) for k in ("value", "low", "high"))
                assert est["low"] <= est["value"] <= est["high"]
            assert stats["tokens_mean"] > 0
            assert stats["tokens_per_prompt_mean"] <= stats["tokens_per_prompt_max"]
    for horizon in horizons:  # equal compute: BoN@N has N candidates of ⌊H/N⌋ tokens, ≤ H in all
        for n in (1, 2):
            bon = results["arms"][f"vb_bon@{n}"][horizon]
            assert bon["candidate_budget"] == int(horizon) // n and bon["return_convention"] == "after_all"
            assert bon["tokens_mean"] <= int(horizon) // n and bon["tokens_per_prompt_max"] <= int(horizon)
            assert bon["compute_matched"] and results["arms"]["vf"][horizon]["compute_matched"]
    assert set(results["gaps"]) == {name for name in results["arms"] if name.startswith("vb_")}
    assert set(results["progress_vs_outcome"]) == horizons and "progress vs outcome" in proc.stdout
    for horizon, diff in results["progress_vs_outcome"].items():  # paired over the same test prompts
        arms = results["arms"]
        assert diff["vf_arm"] == "vb_rl"
        assert diff["value"] == pytest.approx(arms["vb_progress"][horizon]["J"]["value"] - arms["vb_rl"][horizon]["J"]["value"])
    assert results["data_budget"]["n_prompts"] == 8
    assert (tmp_path / "run_performance.png").exists() and (tmp_path / "run_performance.pdf").exists()
