"""The VF arm: rejection-sample successful traces from π_b, cut them at T, and SFT a student on them.

Also the control "SFT on the sharpest expert μ_1" (traces that solve at T = k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import UNSOLVED, PlantedTask


@dataclass
class RejectionSample:
    """Accepted traces (cut at T, then eos) and what it cost to find them."""

    prompts: np.ndarray  # [accepted, k]
    traces: np.ndarray  # [accepted, H]: a_1..a_T, eos, pad
    solve_time: np.ndarray  # [accepted]
    samples_drawn: int
    tokens_drawn: int
    prompts_without_success: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.prompts) / max(self.samples_drawn, 1)


def cut_at_solve(task: PlantedTask, traces: np.ndarray, solve_time: np.ndarray) -> np.ndarray:
    """Keep a_1..a_T, then eos, then pad (a budget-H trace solved at T = H keeps no room for eos)."""
    traces = np.asarray(traces).copy()
    steps = np.arange(1, traces.shape[1] + 1)
    traces[steps[None, :] == solve_time[:, None] + 1] = task.eos
    traces[steps[None, :] > solve_time[:, None] + 1] = task.pad
    return traces


def rejection_sample(
    task: PlantedTask, policy, prompts: np.ndarray, horizon: int, per_round: int, max_rounds: int, seed: int
) -> RejectionSample:
    """For each prompt, draw ``per_round`` traces per round until one solves within H (at most ``max_rounds``).

    Keeps the first success per prompt; prompts with none are dropped and counted.
    """
    gold = task.gold(prompts)
    accepted = np.full(len(prompts), -1)
    kept_traces = np.full((len(prompts), horizon), task.pad, dtype=np.int32)
    kept_t = np.full(len(prompts), UNSOLVED, dtype=np.int64)
    drawn = tokens = 0
    for round_ in range(max_rounds):
        todo = np.flatnonzero(accepted < 0)
        if todo.size == 0:
            break
        traces = policy.sample(prompts[todo], per_round, horizon, seed + round_)
        t = task.solve_time(traces.reshape(-1, horizon), np.repeat(gold[todo], per_round, axis=0)).reshape(len(todo), per_round)
        drawn += traces.shape[0] * per_round
        tokens += int((traces != task.pad).sum())
        ok = t <= horizon
        rows = np.flatnonzero(ok.any(axis=1))
        first = ok[rows].argmax(axis=1)  # the first success of each prompt that has one
        accepted[todo[rows]] = 1
        kept_traces[todo[rows]] = traces[rows, first]
        kept_t[todo[rows]] = t[rows, first]
    keep = accepted > 0
    return RejectionSample(
        prompts=prompts[keep],
        traces=cut_at_solve(task, kept_traces[keep], kept_t[keep]),
        solve_time=kept_t[keep],
        samples_drawn=drawn,
        tokens_drawn=tokens,
        prompts_without_success=int((~keep).sum()),
    )


def expert_traces(task: PlantedTask, prompts: np.ndarray, horizon: int, seed: int) -> np.ndarray:
    """Traces of the sharpest expert μ_1 (T = k), the VF control's data: [n, H]."""
    return ProceduralPolicy(task, [1.0]).sample(prompts, 1, horizon, seed)[:, 0]
