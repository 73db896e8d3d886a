"""Budget-H traces of a base model on MATH, built from independent single attempts (SPEC §4).

A budget-H trace is a concatenation of attempts drawn independently (with replacement) from a
problem's m sampled attempts. T is the token count up to the end of the first correct attempt,
and ∞ when that end does not fall within H. A sample that itself holds several attempts (a base
SFT'd on multi-attempt traces) is solved at ``solved_at`` tokens into it, the end of its first
correct attempt. Returns are left to ``vbvf.stats.bilevel_return``.
"""

from __future__ import annotations

import numpy as np


def solve_times(
    attempt_tokens: np.ndarray, attempt_correct: np.ndarray, horizon: int, n_traces: int, seed: int = 0,
    solved_at: np.ndarray | None = None,
) -> np.ndarray:
    """T of ``n_traces`` budget-``horizon`` traces per problem: float array [problems, n_traces].

    ``attempt_tokens`` (ints) and ``attempt_correct`` (bools) have shape [problems, m];
    ``solved_at`` (same shape, default ``attempt_tokens``) is where a correct sample is solved.
    """
    tokens = np.asarray(attempt_tokens, dtype=np.int64)
    correct = np.asarray(attempt_correct, dtype=bool)
    offset = tokens if solved_at is None else np.where(correct, np.asarray(solved_at, dtype=float), 0).astype(np.int64)
    if tokens.ndim != 2 or tokens.shape != correct.shape or offset.shape != tokens.shape:
        raise ValueError(f"need matching [problems, m] arrays, got {tokens.shape}, {correct.shape} and {offset.shape}")
    rng = np.random.default_rng(seed)
    times = np.full((tokens.shape[0], n_traces), np.inf)
    rows = np.arange(n_traces)
    for x in np.flatnonzero(correct.any(axis=1)):
        draws = horizon // max(1, int(tokens[x].min())) + 1  # enough attempts to pass H
        picks = rng.integers(0, tokens.shape[1], size=(n_traces, draws))
        lengths = tokens[x][picks]
        solve = lengths.cumsum(axis=1) - lengths + offset[x][picks]  # start of the sample + its solve point
        solved = correct[x][picks] & (solve <= horizon)
        first = solved.argmax(axis=1)
        times[x] = np.where(solved.any(axis=1), solve[rows, first], np.inf)
    return times
