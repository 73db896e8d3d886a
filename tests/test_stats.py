"""Statistics against hand-computed values and closed forms."""

import numpy as np
import pytest

from vbvf.stats import (
    anti_concentration,
    anti_concentration_summary,
    bilevel_return,
    ci_method,
    cluster_mean_ci,
    heterogeneity,
    mean_ci,
    paired_difference_ci,
    scaling_fit,
)
from vbvf.tasks import UNSOLVED


def test_bilevel_return_by_hand():
    t = np.array([1, 5, 10, 11, UNSOLVED])
    assert bilevel_return(t, 10).tolist() == [10, 6, 1, 0, 0]


def test_heterogeneity_is_unbiased_variance_per_prompt():
    returns = np.array([[0, 0, 1, 1], [2, 2, 2, 2], [1, 2, 3, 6]])
    # by hand: [0,0,1,1] mean .5, sum sq dev 1 -> 1/3; constant -> 0; [1,2,3,6] mean 3, ss 14 -> 14/3
    assert heterogeneity(returns) == pytest.approx([1 / 3, 0, 14 / 3])


def test_anti_concentration_by_hand_and_degenerate_prompts():
    returns = np.array([[0, 0, 1, 1], [2, 2, 2, 2], [1, 2, 3, 6]])
    ac = anti_concentration(returns, 0.5)
    # row 0: μ .5, σ .577 -> threshold .789: two of four; row 2: μ 3, σ 2.16 -> 4.08: one of four
    assert ac.degenerate.tolist() == [False, True, False]
    assert ac.values[0] == 0.5 and np.isnan(ac.values[1]) and ac.values[2] == 0.25
    assert anti_concentration(returns, 2.0).values[2] == 0.0  # 3 + 2·2.16 = 7.3 > 6
    assert anti_concentration(returns, 0.0).values[2] == 0.5  # R ≥ μ = 3: {3, 6}


def test_anti_concentration_summary_counts_degenerate_apart():
    returns = np.array([[0, 0, 1, 1], [2, 2, 2, 2], [1, 2, 3, 6]])
    summary = anti_concentration_summary(returns, [0.5], c0=0.3)["0.5"]
    assert summary["n_degenerate"] == 1 and summary["n_valid"] == 2
    assert summary["min"] == 0.25 and summary["share_ge_c0"] == 0.5


def test_mean_ci_covers_and_handles_constants():
    rng = np.random.default_rng(0)
    est = mean_ci(rng.normal(3.0, 1.0, 400), seed=1)
    assert est.low < 3.0 < est.high and est.high - est.low == pytest.approx(2 * 1.96 / 20, rel=0.2)
    const = mean_ci(np.full(10, 2.0))
    assert const.value == const.low == const.high == 2.0


def test_paired_difference_requires_matching_units():
    with pytest.raises(ValueError, match="paired"):
        paired_difference_ci(np.ones(3), np.ones(4))


def test_scaling_fit_recovers_known_exponent():
    rng = np.random.default_rng(0)
    horizons = np.array([16, 32, 64, 128, 256])
    units = [2.0 * h**0.5 + rng.normal(0, 0.5, 300) for h in horizons]
    fit = scaling_fit(horizons, units, n_resamples=500, seed=0)
    assert fit.alpha == pytest.approx(0.5, abs=0.03)
    assert fit.alpha_low < 0.5 < fit.alpha_high and fit.half_in_ci
    assert fit.sqrt_r2 > 0.99 and fit.sqrt_slope == pytest.approx(2.0, rel=0.05)
    linear = scaling_fit(horizons, [0.1 * h + rng.normal(0, 0.1, 300) for h in horizons], n_resamples=500)
    assert linear.alpha == pytest.approx(1.0, abs=0.03) and not linear.half_in_ci


def test_scaling_fit_makes_no_alpha_claim_when_a_gap_is_nonpositive():
    fit = scaling_fit([8, 16, 32], [np.full(5, 1.0), np.full(5, -1.0), np.full(5, 2.0)], n_resamples=50)
    assert np.isnan(fit.alpha) and "≤ 0" in fit.note and "not identified" in fit.note
    assert fit.half_in_ci is None and not fit.alpha_identified and np.isnan(fit.alpha_low)
    assert fit.share_nonpositive_resamples == 1.0


def test_scaling_fit_makes_no_alpha_claim_when_many_resamples_are_dropped():
    rng = np.random.default_rng(1)
    horizons = [16, 32, 64]
    # Δ > 0 at every H, but the smallest is half a standard error above 0: many resamples have Δ ≤ 0
    units = [rng.normal(0, 1, 100) + mean for mean in (0.05, 0.5, 1.0)]
    units[0] += 0.05 - units[0].mean()
    fit = scaling_fit(horizons, units, n_resamples=400, seed=0)
    assert np.isfinite(fit.alpha) and fit.share_nonpositive_resamples > 0.1
    assert not fit.alpha_identified and fit.half_in_ci is None and np.isnan(fit.alpha_high) and "not identified" in fit.note
    loose = scaling_fit(horizons, units, n_resamples=400, seed=0, max_dropped_share=0.9)
    assert loose.alpha_identified and loose.half_in_ci in (True, False) and loose.alpha_low < loose.alpha_high


def synthetic_pooled(rng, n_seeds=3, n_prompts=64, sd_seed=1.0, sd_prompt=2.0, sd_noise=2.0) -> np.ndarray:
    """Per-(seed, prompt) values with a seed effect, a prompt effect shared by all seeds, and noise."""
    return (rng.normal(0, sd_seed, (n_seeds, 1)) + rng.normal(0, sd_prompt, (1, n_prompts))
            + rng.normal(0, sd_noise, (n_seeds, n_prompts)))


def test_two_way_cluster_bootstrap_is_as_wide_as_the_truth_and_iid_is_not():
    rng = np.random.default_rng(0)
    datasets = [synthetic_pooled(rng) for _ in range(150)]
    true_width = np.subtract(*np.quantile([d.mean() for d in datasets], [0.975, 0.025]))  # ≈ 2.5
    cluster = [cluster_mean_ci(d, n_resamples=500, seed=i) for i, d in enumerate(datasets)]
    iid = [mean_ci(d, n_resamples=500, seed=i) for i, d in enumerate(datasets)]
    cluster_width = np.mean([e.high - e.low for e in cluster])
    iid_width = np.mean([e.high - e.low for e in iid])
    assert iid_width == pytest.approx(0.82, rel=0.15)  # (seed, prompt) pairs as iid units: far too narrow
    assert cluster_width > 2 * iid_width
    assert 0.65 * true_width < cluster_width < 1.25 * true_width  # 3 seeds: somewhat narrow, never iid-narrow
    covered = np.mean([e.low <= 0 <= e.high for e in cluster])
    assert covered > 0.75 and np.mean([e.low <= 0 <= e.high for e in iid]) < 0.65


def test_cluster_bootstrap_of_one_seed_is_the_prompt_bootstrap():
    units = np.random.default_rng(2).normal(size=(1, 40))
    assert cluster_mean_ci(units, seed=3) == mean_ci(units[0], seed=3)
    assert ci_method(1) == "bootstrap over test prompts"
    assert ci_method(3) == "two-way cluster bootstrap over seeds × prompts"
    const = cluster_mean_ci(np.full((3, 5), 2.0))
    assert const.value == const.low == const.high == 2.0 and const.n == 15
