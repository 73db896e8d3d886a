"""VB-BoN at equal compute: BoN@N at budget H picks the verifier's argmax among N base traces of at
most ⌊H/N⌋ tokens each, so it generates at most H tokens per prompt in total (SPEC §2).

The pool holds ``m`` disjoint groups of ``N_max`` base traces per test prompt; BoN@N uses the
first N of each group, cut to ⌊H/N⌋ tokens (the base does not condition on the budget, so a cut
trace is what generation with that budget gives). The N grid is nested: every N is scored on the
same samples. ``vb.bon.pool: tiered`` samples candidate j only as long as the longest ⌊H/N⌋ with
N > j needs (``candidate_tiers``): the same traces in distribution, for N up to 64 about a
twentieth of the tokens.

**Return of the pick** (``vb.bon.return_convention``). The picked trace's solve time counts
within its own ⌊H/N⌋ tokens (unsolved there: R_H = 0); its T in J_H adds the tokens of the other
candidates that must exist before the answer does:

- ``after_all`` (default): the pick is known only once all N candidates are generated and scored,
  so T = (tokens of the other N − 1 candidates) + t_pick. For N = 1 this is the trace's own T.
- ``sequential``: candidates are generated in order and the answer counts as soon as the pick
  solves, T = (tokens of the candidates before it) + t_pick. An optimistic bound (it needs the pick
  before the later candidates exist), kept to show how much the convention matters.

Tokens are those actually generated (eos included, never pad), each candidate ≤ ⌊H/N⌋, so
T ≤ N·⌊H/N⌋ ≤ H. Ties go to the earliest candidate.
"""

from __future__ import annotations

import numpy as np

from vbvf.tasks import UNSOLVED

CONVENTIONS = ("after_all", "sequential")
POOLS = ("full", "tiered")


def candidate_budget(horizon: int, n: int) -> int:
    """Tokens each of BoN@N's candidates may generate at budget H: ⌊H/N⌋."""
    return horizon // n


def candidate_tiers(horizons: list[int], n_grid: list[int]) -> list[tuple[int, int, int]]:
    """``(first, stop, budget)`` per run of candidate indices j ∈ [first, stop) that need the same
    longest budget: the largest ⌊H/N⌋ over the (H, N) of the grid with N > j (``vb.bon.pool: tiered``)."""
    def budget(j: int) -> int:
        return max(candidate_budget(h, n) for h in horizons for n in n_grid if n > j)

    tiers, n_max = [], max(n_grid)
    for j in range(n_max):
        if tiers and tiers[-1][2] == budget(j):
            tiers[-1] = (tiers[-1][0], j + 1, tiers[-1][2])
        else:
            tiers.append((j, j + 1, budget(j)))
    return tiers


def best_of_n(scores: np.ndarray, solve_time: np.ndarray, tokens: np.ndarray, convention: str = "after_all") -> tuple[np.ndarray, np.ndarray]:
    """Pick the argmax-score candidate of each group and give its solve time in BoN's tokens.

    scores, solve_time, tokens: [..., N], the N candidates of each group, already cut to ⌊H/N⌋
    (``solve_time`` is UNSOLVED where a candidate does not solve within it). Returns the BoN solve
    time under ``convention`` (UNSOLVED where the pick is unsolved) and the tokens spent by all N
    candidates, both [...].
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"vb.bon.return_convention must be one of {CONVENTIONS}, got {convention!r}")
    pick = scores.argmax(axis=-1)[..., None]
    t_pick = np.take_along_axis(solve_time, pick, axis=-1)[..., 0]
    tokens = np.asarray(tokens, dtype=np.int64)
    if convention == "after_all":
        before = tokens.sum(axis=-1) - np.take_along_axis(tokens, pick, axis=-1)[..., 0]
    else:
        before = np.where(np.arange(tokens.shape[-1]) < pick, tokens, 0).sum(axis=-1)
    solved = t_pick != UNSOLVED
    return np.where(solved, before + np.where(solved, t_pick, 0), UNSOLVED), tokens.sum(axis=-1)
