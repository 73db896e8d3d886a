"""Best-of-N at equal compute: candidates of ⌊H/N⌋ tokens, the pick's T counted in BoN's tokens."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from vbvf.arms.bon import best_of_n, candidate_budget, candidate_tiers
from vbvf.pipeline.arms import gaps
from vbvf.stats import bilevel_return
from vbvf.tasks import UNSOLVED


def test_candidate_budget_splits_H_over_N():
    assert [candidate_budget(16, n) for n in (1, 3, 4, 16, 32)] == [16, 5, 4, 1, 0]


def test_best_of_n_by_hand():
    # two groups of three candidates at h = 4; tokens include eos (a solved candidate stops early)
    scores = np.array([[[0.1, 0.9, 0.5], [0.7, 0.2, 0.8]]])
    solve_time = np.array([[[UNSOLVED, 3, 2], [UNSOLVED, 4, 1]]])
    tokens = np.array([[[4, 4, 3], [4, 4, 2]]])
    t, spent = best_of_n(scores, solve_time, tokens, "after_all")
    # group 0 picks #2 (t 3): the others' 4 + 3 tokens, then 3; group 1 picks #3 (t 1): 4 + 4 + 1
    assert t.tolist() == [[10, 9]] and spent.tolist() == [[11, 10]]
    t, _ = best_of_n(scores, solve_time, tokens, "sequential")
    assert t.tolist() == [[4 + 3, 4 + 4 + 1]]
    # the pick is unsolved: no return, whatever the others did
    t, _ = best_of_n(scores[..., :1], solve_time[..., :1], tokens[..., :1])
    assert t.tolist() == [[UNSOLVED, UNSOLVED]]
    with pytest.raises(ValueError, match="return_convention"):
        best_of_n(scores, solve_time, tokens, "parallel")


def test_one_candidate_is_the_trace_itself_and_N_candidates_stay_within_H():
    rng = np.random.default_rng(0)
    horizon = 24
    for n in (1, 2, 3, 5, 24):
        h = candidate_budget(horizon, n)
        t = np.where(rng.random((50, 4, n)) < 0.5, rng.integers(1, h + 1, (50, 4, n)), UNSOLVED)
        tokens = np.where(t == UNSOLVED, h, np.minimum(t + 1, h))
        picked, spent = best_of_n(rng.random((50, 4, n)), t, tokens)
        solved = picked != UNSOLVED
        assert spent.max() <= n * h <= horizon
        assert (picked[solved] <= spent[solved]).all()  # the answer exists no later than all N candidates
        assert (bilevel_return(picked, horizon)[solved] >= horizon - spent[solved] + 1).all()
        if n == 1:
            assert (picked == t[..., 0]).all()


def test_gaps_refuse_an_arm_that_spent_more_than_H_tokens_per_prompt():
    cfg = OmegaConf.create({"seed": 0, "eval": {"confidence": 0.95, "n_bootstrap": 50}})
    arm = {"per_prompt_return": [1.0, 2.0], "compute_matched": True, "tokens_per_prompt_max": 8}
    results = {"arms": {"vf": {"8": arm}, "vb_bon@2": {"8": arm | {"per_prompt_return": [2.0, 4.0]}}},
               "arm_roles": {"vf": "vf", "vb_bon@2": "vb"}}
    assert gaps(results, cfg)["vb_bon@2"]["8"]["value"] == 1.5
    results["arms"]["vb_bon@2"]["8"] |= {"compute_matched": False, "tokens_per_prompt_max": 16}
    with pytest.raises(ValueError, match="equal compute"):
        gaps(results, cfg)


def test_candidate_tiers_cover_every_cut_and_nothing_more():
    horizons, grid = [16, 32, 64, 128, 256], [1, 4, 16, 64]
    tiers = candidate_tiers(horizons, grid)
    assert tiers == [(0, 1, 256), (1, 4, 64), (4, 16, 16), (16, 64, 4)]
    budget = {j: b for first, stop, b in tiers for j in range(first, stop)}
    assert sorted(budget) == list(range(64))
    for j, b in budget.items():  # long enough for every (H, N) that uses candidate j, and no longer
        assert b == max(candidate_budget(h, n) for h in horizons for n in grid if n > j)


def test_a_gap_follows_the_arms_role_not_its_name():
    cfg = OmegaConf.create({"seed": 0, "eval": {"confidence": 0.95, "n_bootstrap": 50}})
    arm = {"per_prompt_return": [1.0, 2.0], "compute_matched": True, "tokens_per_prompt_max": 8}
    results = {"arms": {"vf": {"8": arm}, "my_search": {"8": arm}, "vb_named_control": {"8": arm}},
               "arm_roles": {"vf": "vf", "my_search": "vb", "vb_named_control": "control"}}
    assert set(gaps(results, cfg)) == {"my_search"}
