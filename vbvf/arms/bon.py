"""VB-BoN: sample N traces from π_b, keep the verifier's argmax; evaluated for every N of a grid.

The pool holds ``m`` disjoint groups of ``N_max`` base traces per test prompt; BoN@N uses the
first N of each group, so the N grid is nested and every N is scored on the same samples.
Tokens spent per pick are the generated tokens of all N candidates (within budget H).
"""

from __future__ import annotations

import numpy as np


def best_of_n(scores: np.ndarray, solve_time: np.ndarray, tokens: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick the argmax-score trace among the first ``n`` of each group.

    scores, solve_time, tokens: [prompts, groups, N_max]. Returns the picked solve times and the
    tokens spent per pick, both [prompts, groups]. Ties go to the earliest candidate.
    """
    if not 1 <= n <= scores.shape[-1]:
        raise ValueError(f"vb.bon.n_grid entries must lie in [1, {scores.shape[-1]}], got {n}")
    pick = scores[..., :n].argmax(axis=-1)[..., None]
    chosen = np.take_along_axis(solve_time[..., :n], pick, axis=-1)[..., 0]
    return chosen, tokens[..., :n].sum(axis=-1)
