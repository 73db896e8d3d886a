"""Statistics against hand-computed values and closed forms."""

import numpy as np
import pytest

from vbvf.stats import (
    anti_concentration,
    anti_concentration_summary,
    bilevel_return,
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


def test_scaling_fit_reports_nonpositive_gaps_instead_of_crashing():
    fit = scaling_fit([8, 16, 32], [np.full(5, 1.0), np.full(5, -1.0), np.full(5, 2.0)], n_resamples=50)
    assert np.isnan(fit.alpha) and "≤ 0" in fit.note
