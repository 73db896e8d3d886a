"""Bootstrap confidence intervals over prompts (and seeds), via scipy.stats.bootstrap."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval and the number of resampled units."""

    value: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def mean_ci(units: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> Estimate:
    """Mean of per-unit values (a unit is a prompt, or a (seed, prompt) pair) with a percentile CI.

    A constant sample gets a zero-width interval (scipy refuses to bootstrap it).
    """
    units = np.asarray(units, dtype=np.float64).ravel()
    if units.size == 0:
        raise ValueError("mean_ci needs at least one unit")
    value = float(units.mean())
    if units.size == 1 or np.ptp(units) == 0:
        return Estimate(value, value, value, int(units.size))
    result = stats.bootstrap(
        (units,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return Estimate(value, float(ci.low), float(ci.high), int(units.size))


def paired_difference_ci(
    a: np.ndarray, b: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> Estimate:
    """mean(a − b) over paired units (same prompts and seeds in both arms) with a bootstrap CI."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired units must match in shape, got {a.shape} and {b.shape}")
    return mean_ci(a - b, confidence, n_resamples, seed)
