"""Bi-level return R_H and the per-prompt performance summaries built on it (SPEC §2)."""

from __future__ import annotations

import numpy as np


def bilevel_return(solve_time: np.ndarray, horizon: int) -> np.ndarray:
    """R_H(τ) = H − T + 1 if T ≤ H, else 0 (raw units; divide by H to normalise)."""
    solve_time = np.asarray(solve_time)
    return np.where(solve_time <= horizon, horizon - np.minimum(solve_time, horizon) + 1, 0).astype(np.float64)


def success(solve_time: np.ndarray, horizon: int) -> np.ndarray:
    """1.0 where the trace solves within the budget (T ≤ H), else 0.0."""
    return (np.asarray(solve_time) <= horizon).astype(np.float64)
