"""The MATH arms through the real CLI on fixture problems and tiny local models: both arms,
the heterogeneity-controlled base, resume from the stage cache, and checks before compute."""

import pytest

from tests.conftest import load_results, run_cli
from tests.math.problems import write_problems
from vbvf.models.tiny_llama import save_tiny_models
from vbvf.pipeline.math_arms import run_math_arms


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("arms")
    save_tiny_models(root / "tiny")
    train = write_problems(root / "train.jsonl", 8, prefix="train/")
    test = write_problems(root / "test.jsonl", 3)
    args = ["experiment=math_arms_smoke", f"model.name_or_path={root / 'tiny' / 'policy'}", f"data.train.path={train}",
            f"data.eval.path={test}", f"cache_dir={root / 'cache'}"]
    return root, args


def test_math_arms_smoke_produces_both_arms_and_resumes(setup):
    root, args = setup
    run_cli([*args, f"hydra.run.dir={root / 'run1'}"], root)
    first = load_results(root / "run1")
    horizons = ["12", "24"]  # H = N·h for N in [1, 2], h = 12
    assert first["budget"]["horizons"] == [12, 24] and first["level"] == "high"
    assert list(first["arms"]["vf"]) == horizons
    for stats in first["arms"]["vf"].values():
        assert 0 <= stats["accuracy"] <= 1 and 0 < stats["tokens_mean"] and 0 <= stats["J_norm"]["value"] <= 1
    assert set(first["arms"]["vb"]) == {"majority_vote", "weighted_best_of_n", "best_of_n", "pass_at_n"}
    for method, per_h in first["arms"]["vb"].items():
        assert list(per_h) == horizons and [s["N"] for s in per_h.values()] == [1, 2]
    assert set(first["gaps"]) == {"weighted_best_of_n", "best_of_n"}
    for per_h in first["gaps"].values():
        assert all(g["low"] <= g["value"] <= g["high"] for g in per_h.values())
    assert set(first["base"]["stats"]) == set(horizons)
    base_data = first["base"]["sft_data"]  # heterogeneity=high: j ∈ {0..3} wrong attempts
    assert len(base_data["j_counts"]) == 4 and sum(base_data["j_counts"]) == base_data["traces"] > 0
    assert first["data_budget"]["vb"]["labelled"] == 4 * 2  # n problems × samples per problem
    assert sorted(s.split("/")[0] for s in first["stages"]["computed"]) == ["math_base", "math_verifier", "math_vf"]

    run_cli([*args, f"hydra.run.dir={root / 'run2'}"], root)  # a rerun trains nothing and samples nothing
    second = load_results(root / "run2")
    assert second["stages"]["computed"] == [] and len(second["stages"]["reused"]) == 3
    assert second["arms"] == first["arms"] and second["base"]["stats"] == first["base"]["stats"]


def test_pretrained_base_without_heterogeneity_sft(setup):
    root, args = setup
    run_cli([*args, "heterogeneity=none", f"hydra.run.dir={root / 'none'}"], root)
    results = load_results(root / "none")
    assert results["level"] == "none" and results["base"]["sft_data"] is None
    assert results["base"]["model"].endswith("policy")
    assert sorted(s.split("/")[0] for s in results["stages"]["computed"]) == ["math_verifier", "math_vf"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("heterogeneity.problems_offset=2", "heterogeneity.problems_offset=2 overlaps"),
        ("vb.verifier.labels=prefix", "vb.verifier.labels='prefix'"),
        ("vf.stitch.weights=[1.0]", r"vf.stitch.weights must be max_wrong \+ 1"),
        ("attempts.correct_source=gold", "attempts.correct_source='gold'"),
        ("selection.n_grid=[2,1]", "selection.n_grid"),
    ],
)
def test_bad_settings_fail_before_compute_naming_the_key(compose_config, tmp_path, override, message):
    cfg = compose_config(["experiment=math_arms_smoke", "model.name_or_path=/nonexistent", override])
    with pytest.raises(ValueError, match=message):
        run_math_arms(cfg, tmp_path)
    assert not any(tmp_path.iterdir())
