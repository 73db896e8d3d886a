"""Scaling of the gap with the budget (SPEC §2): log Δ = a + α·log H, and Δ = a + b·√H.

The exponent's CI is a bootstrap over test prompts, and over seeds × prompts (two-way cluster,
``vbvf.stats.bootstrap``) when seeds are pooled: each resample redraws seeds and prompts (the
same draw at every H when every H has the same seeds and prompts, as when one test set is
evaluated at each budget), recomputes Δ(H) and refits α. A resample in which some Δ(H) ≤ 0 has
no log-log fit: it is dropped and the dropped share reported. α is *identified* only when the
point estimate has Δ(H) > 0 at every H and at most ``max_dropped_share`` of the resamples were
dropped; otherwise the fit makes no α claim: CI NaN, ``half_in_ci`` None, and a note says why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from vbvf.stats.bootstrap import ci_method, two_way_means, two_way_weights


@dataclass(frozen=True)
class ScalingFit:
    """Fitted exponent α (with CI, if identified), the √H fit and the share of resamples dropped."""

    alpha: float  # the point fit (NaN if some Δ(H) ≤ 0); a claim only if alpha_identified
    alpha_low: float
    alpha_high: float
    intercept: float
    alpha_identified: bool
    half_in_ci: bool | None  # None when α is not identified
    sqrt_intercept: float
    sqrt_slope: float
    sqrt_r2: float
    horizons: list[float]
    gaps: list[float]
    n_resamples: int
    share_nonpositive_resamples: float  # resamples dropped: some Δ(H) ≤ 0, no log-log fit
    ci_method: str
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


def resampled_gaps(differences: list[np.ndarray], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Δ(H) of each resample, [R, len(H)]; one seed × prompt draw for every H when their shapes agree."""
    shapes = {d.shape for d in differences}
    if len(shapes) == 1:
        weights = two_way_weights(*differences[0].shape, n_resamples, rng)
        return np.stack([two_way_means(d, *weights) for d in differences], axis=1)
    return np.stack([two_way_means(d, *two_way_weights(*d.shape, n_resamples, rng)) for d in differences], axis=1)


def scaling_fit(
    horizons: Sequence[float],
    differences: Sequence[np.ndarray],
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    max_dropped_share: float = 0.1,
) -> ScalingFit:
    """Fit Δ(H) over the grid; ``differences[i]`` holds VB − VF returns at ``horizons[i]``, per
    (seed, prompt) as [seeds, prompts], or per prompt of one seed as [prompts]."""
    horizons = np.asarray(horizons, dtype=np.float64)
    differences = [np.atleast_2d(np.asarray(d, dtype=np.float64)) for d in differences]
    if len(horizons) != len(differences) or len(horizons) < 2:
        raise ValueError("scaling_fit needs one difference array per H and at least two H values")
    gaps = np.array([d.mean() for d in differences])
    alpha, intercept = loglog_slope(horizons, gaps)
    sqrt_a, sqrt_b, sqrt_r2 = sqrt_fit(horizons, gaps)

    resampled = resampled_gaps(differences, n_resamples, np.random.default_rng(seed))
    kept = resampled[(resampled > 0).all(axis=1)]
    share_dropped = 1.0 - len(kept) / n_resamples
    identified = bool(np.isfinite(alpha)) and share_dropped <= max_dropped_share
    low = high = float("nan")
    if identified:
        slopes = np.polyfit(np.log(horizons), np.log(kept).T, 1)[0]
        tail = (1 - confidence) / 2
        low, high = (float(q) for q in np.quantile(slopes, [tail, 1 - tail]))
    if not np.isfinite(alpha):
        note = "some Δ(H) ≤ 0: the log-log exponent is undefined (α not identified)"
    elif not identified:
        note = (f"{share_dropped:.1%} of resamples had some Δ(H) ≤ 0 (more than {max_dropped_share:.0%}): "
                "α not identified, no CI")
    else:
        note = f"{share_dropped:.1%} of resamples had some Δ(H) ≤ 0 and were left out of the α CI" if share_dropped else ""
    return ScalingFit(
        alpha=alpha,
        alpha_low=low,
        alpha_high=high,
        intercept=intercept,
        alpha_identified=identified,
        half_in_ci=bool(low <= 0.5 <= high) if identified else None,
        sqrt_intercept=sqrt_a,
        sqrt_slope=sqrt_b,
        sqrt_r2=sqrt_r2,
        horizons=horizons.tolist(),
        gaps=gaps.tolist(),
        n_resamples=n_resamples,
        share_nonpositive_resamples=share_dropped,
        ci_method=ci_method(max(d.shape[0] for d in differences)),
        note=note,
    )
