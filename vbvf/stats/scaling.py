"""Scaling of the gap with the budget (SPEC §2): log Δ = a + α·log H, and Δ = a + b·√H.

The exponent's CI is a bootstrap over units (prompts × seeds): each resample redraws the units
of every H (jointly when the same units appear at every H, as when one test set is evaluated at
each budget), recomputes Δ(H) and refits α. A resample in which some Δ(H) ≤ 0 has no log-log
fit; such resamples are counted and reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ScalingFit:
    """Fitted exponent α (with CI), the √H fit and the share of resamples that had no log fit."""

    alpha: float
    alpha_low: float
    alpha_high: float
    intercept: float
    half_in_ci: bool
    sqrt_intercept: float
    sqrt_slope: float
    sqrt_r2: float
    horizons: list[float]
    gaps: list[float]
    n_resamples: int
    share_nonpositive_resamples: float
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def loglog_slope(horizons: np.ndarray, gaps: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of log Δ on log H; NaN if some Δ ≤ 0."""
    gaps = np.asarray(gaps, dtype=np.float64)
    if np.any(gaps <= 0) or len(gaps) < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(horizons), np.log(gaps), 1)
    return float(slope), float(intercept)


def sqrt_fit(horizons: np.ndarray, gaps: np.ndarray) -> tuple[float, float, float]:
    """Δ = a + b·√H by least squares: (a, b, R²)."""
    fit = stats.linregress(np.sqrt(np.asarray(horizons, dtype=np.float64)), np.asarray(gaps, dtype=np.float64))
    return float(fit.intercept), float(fit.slope), float(fit.rvalue**2)


def scaling_fit(
    horizons: Sequence[float],
    differences: Sequence[np.ndarray],
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> ScalingFit:
    """Fit Δ(H) over the grid; ``differences[i]`` holds per-unit VB − VF returns at ``horizons[i]``."""
    horizons = np.asarray(horizons, dtype=np.float64)
    differences = [np.asarray(d, dtype=np.float64).ravel() for d in differences]
    if len(horizons) != len(differences) or len(horizons) < 2:
        raise ValueError("scaling_fit needs one difference array per H and at least two H values")
    gaps = np.array([d.mean() for d in differences])
    alpha, intercept = loglog_slope(horizons, gaps)
    sqrt_a, sqrt_b, sqrt_r2 = sqrt_fit(horizons, gaps)

    rng = np.random.default_rng(seed)
    paired = len({d.size for d in differences}) == 1
    slopes = np.empty(n_resamples)
    for r in range(n_resamples):
        if paired:
            idx = rng.integers(0, differences[0].size, differences[0].size)
            resampled = [d[idx].mean() for d in differences]
        else:
            resampled = [d[rng.integers(0, d.size, d.size)].mean() for d in differences]
        slopes[r] = loglog_slope(horizons, np.array(resampled))[0]
    finite = slopes[np.isfinite(slopes)]
    share_bad = 1.0 - finite.size / n_resamples
    tail = (1 - confidence) / 2
    if np.isfinite(alpha) and finite.size:
        low, high = (float(q) for q in np.quantile(finite, [tail, 1 - tail]))
    else:
        low = high = float("nan")
    note = "" if np.isfinite(alpha) else "some Δ(H) ≤ 0: the log-log exponent is undefined"
    if share_bad and np.isfinite(alpha):
        note = f"{share_bad:.1%} of resamples had some Δ(H) ≤ 0 and were left out of the α CI"
    return ScalingFit(
        alpha=alpha,
        alpha_low=low,
        alpha_high=high,
        intercept=intercept,
        half_in_ci=bool(low <= 0.5 <= high),
        sqrt_intercept=sqrt_a,
        sqrt_slope=sqrt_b,
        sqrt_r2=sqrt_r2,
        horizons=horizons.tolist(),
        gaps=gaps.tolist(),
        n_resamples=n_resamples,
        share_nonpositive_resamples=share_bad,
        note=note,
    )
