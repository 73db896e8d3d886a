"""Progress rewards (the meta-RL view of test-time compute, MRT): credit each segment of a trace with
the increase it brings to a value of the prefix, instead of crediting every token with the outcome.

A ``ValueFn`` maps prompts [n, k] and budget-H traces [n, H] to the value U_t of every prefix
a_1..a_t, t = 0..H: float [n, H + 1], in units of R_H/H. With segments of ℓ tokens the progress
of segment j is U_{(j+1)ℓ} − U_{jℓ}; the progress of a whole trace telescopes to U_H − U_0.

- VB-progress: the verifier's score of the prefix read as a budget-H trace (its last step
  probability held for the budget left), U_t = (Σ_{h≤t} σ(v_h) + (H − t)·σ(v_t)) / H, U_0 = 0
  (prefix labels; outcome labels: U_t = σ(v_t)). U_H is the VB-RL reward, so the two arms share
  a trace's total and differ only in how it is credited to tokens.
- True progress (control): the procedural mixture's exact value of the prefix
  (``vbvf.policies.mixture_value``), E[R_H/H | prefix] or P(T ≤ H | prefix).

GRPO with a progress reward (``ProgressGRPOTrainer``) gives token t of segment j of completion i
the progress from its segment on (reward-to-go), baselined by the group's mean total:

    A_{i,t} = (U_{i,H} − U_{i,jℓ}) − mean_{i' ∈ group} (U_{i',H} − U_{i',0}).

With ℓ ≥ H there is one segment and A is GRPO's outcome advantage of the total U_H − U_0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from vbvf.policies.mixture_value import prefix_values
from vbvf.tasks.planted import PlantedTask

ValueFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ProgressReward:
    """A prefix value and the segment length ℓ (tokens) over which its increase is credited."""

    values: ValueFn
    segment_length: int

    def __post_init__(self) -> None:
        if self.segment_length < 1:
            raise ValueError(f"vb.rl.progress.segment_length must be >= 1, got {self.segment_length}")


def verifier_values(verifier, horizon: int) -> ValueFn:
    """U_t from the verifier's step probabilities: its score of the prefix at budget H, divided by H."""

    def values(prompts: np.ndarray, traces: np.ndarray) -> np.ndarray:
        probs = verifier.step_probabilities(prompts, np.asarray(traces)[:, :horizon])
        if verifier.labels == "prefix":
            left = horizon - np.arange(1, probs.shape[1] + 1)
            probs = (np.cumsum(probs, axis=1) + left * probs) / horizon
        return np.concatenate([np.zeros((len(probs), 1)), probs], axis=1)

    return values


def true_values(task: PlantedTask, gammas: Sequence[float], weights: Sequence[float] | None, horizon: int,
                kind: str) -> ValueFn:
    """U_t = the procedural mixture's exact value of the prefix (``kind``: return or success)."""

    def values(prompts: np.ndarray, traces: np.ndarray) -> np.ndarray:
        return prefix_values(task, gammas, weights, prompts, traces, horizon, kind)

    return values


def total_progress(values: np.ndarray) -> np.ndarray:
    """U_H − U_0 per trace: the progress of the whole trace, GRPO's outcome reward for it."""
    return values[:, -1] - values[:, 0]


def progress_before_segment(values: np.ndarray, segment_length: int, length: int) -> np.ndarray:
    """U_{jℓ} − U_0 for the first ``length`` tokens, token t in segment j = ⌊t/ℓ⌋: [n, length].

    Subtracted from a completion's outcome advantage it leaves each token the progress from its
    segment on.
    """
    starts = (np.arange(length) // segment_length) * segment_length
    return values[:, starts] - values[:, :1]
