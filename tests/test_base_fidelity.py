"""The CPU default's LM base reproduces its mixture (reduced size: mixture=low, no arms), and an
untrained base is flagged in words."""

from tests.conftest import load_results, run_cli

NO_ARMS = ["vf.enabled=false", "vf.expert_control=false", "vb.bon.enabled=false", "vb.rl.enabled=false",
           "vb.rl.true_reward_control=false", "controls.optimal=false"]


def test_cpu_default_base_is_faithful_at_reduced_size(tmp_path):
    # the CPU default's task, model and optimiser, with fewer traces and the low preset (fastest to converge)
    run_cli(["experiment=didactic", "mixture=low", "base_lm.n_traces=20000", "base_lm.n_heldout=1000",
             "base_lm.target_nll_gap=0.02", *NO_ARMS, "torch_threads=2",
             f"hydra.run.dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}"], tmp_path)
    fidelity = load_results(tmp_path)["base_fidelity"]
    assert fidelity["nll"]["reached_target"], fidelity["nll"]
    assert fidelity["nll"]["heldout_gap"] <= 0.02 and fidelity["nll"]["test_prompts"]["gap"] < 0.05
    assert fidelity["faithful"] and fidelity["max_abs_J_norm_diff"] <= 0.10, fidelity["per_horizon"]
    for row in fidelity["per_horizon"].values():
        # success is estimated from 64 prompts × 16 samples per policy (SE of the difference ≈ 0.02): the test asks
        # that the paired 95% CI of the difference is consistent with |Δ success| ≤ 0.05, not the point estimate
        ci = row["success"]["diff_ci"]
        assert ci["low"] <= 0.05 and ci["high"] >= -0.05, row["success"]
        assert abs(row["median_sigma"]["diff"]) <= 0.5 * row["median_sigma"]["procedural"] + 0.5
    assert fidelity["warnings"] == []


def test_an_untrained_base_is_flagged(tmp_path):
    proc = run_cli(["experiment=didactic_smoke", *NO_ARMS, f"hydra.run.dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}"], tmp_path)
    fidelity = load_results(tmp_path)["base_fidelity"]
    assert not fidelity["faithful"] and not fidelity["nll"]["reached_target"]
    assert "NOT faithful" in proc.stdout and "missed its NLL target" in proc.stdout
