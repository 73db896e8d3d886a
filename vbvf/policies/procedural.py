"""Procedural experts μ_γ and their mixtures: exact, training-free policies on the planted task.

μ_γ emits, at each step, the next still-missing gold token with probability γ and a uniform
random digit otherwise, so per gold token the wait is geometric with p = γ + (1 − γ)/V and
E[T] = k/p, Var[T] = k(1 − p)/p². The sampler draws those waits directly: a step that makes no
progress emits a digit uniform over the V − 1 digits other than the one needed, which is
exactly the law of μ_γ's non-progress steps. After solving it emits eos, then pad.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vbvf.tasks.planted import PlantedTask


def progress_probability(gamma: np.ndarray | float, vocab_size: int) -> np.ndarray:
    """p = γ + (1 − γ)/V: the chance that one step of μ_γ emits the next gold token."""
    return np.asarray(gamma, dtype=np.float64) + (1 - np.asarray(gamma, dtype=np.float64)) / vocab_size


def sample_expert_traces(
    task: PlantedTask, gold: np.ndarray, gammas: np.ndarray, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    """One trace of budget H per row of ``gold`` [n, k] from μ_γ with per-row γ; int32 [n, H]."""
    n, k = gold.shape
    p = progress_probability(gammas, task.vocab_size)
    done = np.cumsum(rng.geometric(p[:, None], size=(n, k)), axis=1)  # 1-based completion step per gold token
    steps = np.arange(1, horizon + 1)
    # marks[:, t] = 1 where a gold token completes at step t (the steps of one row are distinct), so
    # its running sum counts the tokens done by step t: [n, H] arrays instead of [n, k, H] comparisons,
    # the same traces from the same draws with 0.5 GB less peak memory for the paper base's 400k
    # (benchmarks/bench_procedural.py; docs/PERFORMANCE.md "Procedural sampling")
    marks = np.zeros((n, horizon + 1), dtype=np.int8)
    rows, cols = np.repeat(np.arange(n), k), done.ravel()
    within = cols <= horizon
    marks[rows[within], cols[within]] = 1
    is_progress = marks[:, 1:].astype(bool)  # [n, H]: step t completes a gold token
    completed_before = np.cumsum(marks[:, :horizon], axis=1, dtype=np.int16)  # gold tokens done before step t
    needed = np.take_along_axis(gold, np.minimum(completed_before, k - 1), axis=1)
    other = rng.integers(0, task.vocab_size - 1, size=(n, horizon))
    other = other + (other >= needed)  # uniform over the digits that are not the needed one
    tokens = np.where(is_progress, needed, other).astype(np.int32)
    solve_step = done[:, -1:]
    tokens[steps == solve_step + 1] = task.eos
    tokens[steps > solve_step + 1] = task.pad
    return tokens


@dataclass
class ProceduralPolicy:
    """A mixture of μ_γ: each trace draws its γ from ``gammas`` with probabilities ``weights``."""

    task: PlantedTask
    gammas: Sequence[float]
    weights: Sequence[float] | None = None

    def __post_init__(self) -> None:
        self.gammas = np.asarray(self.gammas, dtype=np.float64)
        if self.gammas.ndim != 1 or self.gammas.size == 0 or np.any((self.gammas < 0) | (self.gammas > 1)):
            raise ValueError(f"mixture.gammas must be a non-empty list in [0, 1], got {self.gammas.tolist()}")
        weights = np.ones_like(self.gammas) if self.weights is None or len(self.weights) == 0 else self.weights
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != self.gammas.shape or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                f"mixture.weights must be non-negative, not all zero, one per gamma "
                f"({self.gammas.size}), got {weights.tolist()}"
            )
        self.weights = weights / weights.sum()

    def sample(self, prompts: np.ndarray, n_samples: int, horizon: int, seed: int) -> np.ndarray:
        """``n_samples`` traces of budget H per prompt: int32 tokens [prompts, n_samples, H]."""
        rng = np.random.default_rng(seed)
        gold = np.repeat(self.task.gold(prompts), n_samples, axis=0)
        gammas = rng.choice(self.gammas, size=gold.shape[0], p=self.weights)
        traces = sample_expert_traces(self.task, gold, gammas, horizon, rng)
        return traces.reshape(len(prompts), n_samples, horizon)
