"""Bootstrap confidence intervals: over test prompts (one seed, scipy.stats.bootstrap), and a
two-way cluster bootstrap over seeds × prompts when seeds are pooled.

Every seed evaluates the same test prompts, so pooled (seed, prompt) values are not independent:
a prompt's difficulty is shared by all seeds, a seed's trained model by all prompts. The two-way
cluster bootstrap resamples seeds and prompts independently, with replacement, and averages over
the cross product of the draws; treating the pairs as independent units understates the spread.
"""

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


PROMPTS, SEEDS_X_PROMPTS = "bootstrap over test prompts", "two-way cluster bootstrap over seeds × prompts"


def ci_method(n_seeds: int) -> str:
    """What a CI resamples: the test prompts of one seed, or seeds × prompts when seeds are pooled."""
    return PROMPTS if n_seeds == 1 else SEEDS_X_PROMPTS


def two_way_weights(n_seeds: int, n_prompts: int, n_resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """How often each seed and each prompt is drawn in each resample, drawn independently: [R, S], [R, P]."""
    seeds = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_resamples)
    prompts = rng.multinomial(n_prompts, np.full(n_prompts, 1 / n_prompts), size=n_resamples)
    return seeds, prompts


def two_way_means(units: np.ndarray, seed_counts: np.ndarray, prompt_counts: np.ndarray) -> np.ndarray:
    """Mean of ``units`` [S, P] over the cross product of each resample's seeds and prompts: [R]."""
    n_seeds, n_prompts = units.shape
    return np.einsum("rs,sp,rp->r", seed_counts, units, prompt_counts) / (n_seeds * n_prompts)


def cluster_mean_ci(units: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> Estimate:
    """Mean of per-(seed, prompt) values ``units`` [S, P] with a percentile CI (``ci_method(S)``).

    One seed is the prompt bootstrap of ``mean_ci``; several are resampled two-way (module doc).
    """
    units = np.asarray(units, dtype=np.float64)
    if units.ndim != 2 or units.size == 0:
        raise ValueError(f"cluster_mean_ci needs units of shape [seeds, prompts], got {units.shape}")
    if units.shape[0] == 1:
        return mean_ci(units[0], confidence, n_resamples, seed)
    means = two_way_means(units, *two_way_weights(*units.shape, n_resamples, np.random.default_rng(seed)))
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Estimate(float(units.mean()), float(low), float(high), int(units.size))
