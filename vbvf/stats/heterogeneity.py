"""Heterogeneity σ²_x and anti-concentration c_x(ε) of a policy, per prompt (SPEC §2).

Both take a returns array of shape [prompts, samples]: row x holds m sampled returns R_H(τ)
for prompt x. Prompts with σ_x = 0 are degenerate for anti-concentration: they are flagged,
reported apart, and never divided by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _check_returns(returns: np.ndarray) -> np.ndarray:
    returns = np.asarray(returns, dtype=np.float64)
    if returns.ndim != 2 or returns.shape[1] < 2:
        raise ValueError(f"returns must have shape [prompts, samples >= 2], got {returns.shape}")
    return returns


def heterogeneity(returns: np.ndarray) -> np.ndarray:
    """Per-prompt unbiased variance σ²_x = Var_{τ∼π(·|x)} R_H(τ), shape [prompts]."""
    return _check_returns(returns).var(axis=1, ddof=1)


@dataclass(frozen=True)
class AntiConcentration:
    """c_x(ε) per prompt (NaN where degenerate) and the mask of degenerate prompts (σ_x = 0)."""

    values: np.ndarray
    degenerate: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """c_x(ε) of the non-degenerate prompts only."""
        return self.values[~self.degenerate]


def anti_concentration(returns: np.ndarray, eps: float) -> AntiConcentration:
    """c_x(ε) = P_τ(R_H(τ) ≥ μ_x + ε·σ_x), with μ_x, σ_x the sample mean and unbiased std."""
    returns = _check_returns(returns)
    mean = returns.mean(axis=1, keepdims=True)
    std = np.sqrt(heterogeneity(returns))[:, None]
    degenerate = np.ptp(returns, axis=1) == 0  # exact: all m samples equal, so σ_x = 0
    values = (returns >= mean + eps * std).mean(axis=1)
    return AntiConcentration(values=np.where(degenerate, np.nan, values), degenerate=degenerate)
