"""The exact value of a prefix under the procedural mixture: the Bayes reference of the progress reward.

Under μ_γ every step before solving emits the next missing gold token with probability p_γ,
independently of the past, so a prefix that has matched s of the k gold tokens solves within r
more steps iff at least k − s of those r steps make progress. The mixture weighs this by its
posterior over γ given the prefix, w_γ(s, f) (``mixture_predictive``):

    P(T ≤ t + r | x, a_1..a_t) = Σ_γ w_γ(s, f) · P(Binomial(r, p_γ) ≥ k − s).

Two values of a prefix at budget H follow (``kind``):

- ``success``: P(T ≤ H | prefix_t), the posterior probability of solving within H;
- ``return``:  E[R_H/H | prefix_t] = (1/H) Σ_{h=1}^{H} P(T ≤ h | prefix_t), where the terms with
  h ≤ t are 1 if the prefix solved by h, else 0.

A solved prefix has value 1 (success) or (H − T + 1)/H (return); a prefix that stopped unsolved
(eos) has value 0. At the end of a budget-H trace both equal the trace's own outcome, so the
increments of either value along a trace sum to that outcome minus the value of the empty prefix.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import binom

from vbvf.policies.mixture_predictive import log_posterior, mixture_log_terms
from vbvf.tasks.planted import PlantedTask

VALUE_KINDS = ("return", "success")


def value_ahead(p: np.ndarray, k: int, horizon: int, kind: str) -> np.ndarray:
    """Per expert, the value of an unsolved prefix by missing gold tokens and remaining budget: [G, k + 1, H + 1].

    ``success``: P(Bin(r, p_γ) ≥ need); ``return``: (1/H) Σ_{r'=1}^{r} P(Bin(r', p_γ) ≥ need).
    """
    need = np.arange(k + 1)[None, :, None]
    steps = np.arange(horizon + 1)[None, None, :]
    tail = binom.sf(need - 1, steps, p[:, None, None])  # P(X ≥ need) = P(X > need − 1)
    if kind == "success":
        return tail
    ahead = np.cumsum(tail, axis=2) - tail[:, :, :1]  # Σ over r' = 1..r (the r' = 0 term dropped)
    return ahead / horizon


def prefix_values(
    task: PlantedTask, gammas: Sequence[float], weights: Sequence[float] | None, prompts: np.ndarray,
    traces: np.ndarray, horizon: int, kind: str = "return",
) -> np.ndarray:
    """The mixture's value U_t of every prefix a_1..a_t, t = 0..L, of budget-H traces: float64 [n, L + 1].

    ``traces`` [n, L ≤ H] are task tokens as the samplers return them (digits, eos, pad after);
    ``prompts`` [n, k] their prompts. Column 0 is the value of the empty prefix (the prompt alone).
    """
    if kind not in VALUE_KINDS:
        raise ValueError(f"value kind {kind!r}: expected one of {VALUE_KINDS}")
    if task.solve_mode != "subsequence":
        raise ValueError("the mixture's value assumes task.solve_mode=subsequence (greedy matching of gold tokens)")
    traces = np.asarray(traces)
    n, length = traces.shape
    if length > horizon:
        raise ValueError(f"traces of {length} tokens exceed the budget H={horizon}")
    log_prior, log_p, log_other = mixture_log_terms(task, gammas, weights)
    ahead = value_ahead(np.exp(log_p), task.prompt_length, horizon, kind)
    gold, k, rows = task.gold(prompts), task.prompt_length, np.arange(n)

    matched = np.zeros(n, dtype=np.int64)  # s
    others = np.zeros(n, dtype=np.int64)  # f
    stopped = np.zeros(n, dtype=bool)  # ended unsolved (eos, or any non-digit)
    solve_time = np.zeros(n, dtype=np.int64)
    out = np.empty((n, length + 1))
    for t in range(length + 1):
        if t > 0:
            token = traces[:, t - 1]
            running = (matched < k) & ~stopped
            progress = running & (token == gold[rows, np.minimum(matched, k - 1)])
            stopped |= running & (token >= task.vocab_size)
            others += running & (token < task.vocab_size) & ~progress
            matched += progress
            solve_time[progress & (matched == k)] = t
        posterior = np.exp(log_posterior(log_prior, log_p, log_other, matched, others))
        running_value = (posterior * ahead[:, k - np.minimum(matched, k), horizon - t].T).sum(axis=1)
        solved_value = 1.0 if kind == "success" else (horizon - solve_time + 1) / horizon
        out[:, t] = np.where(matched >= k, solved_value, np.where(stopped, 0.0, running_value))
    return out
