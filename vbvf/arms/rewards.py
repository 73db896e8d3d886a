"""Rewards for the RL arms: callables from (prompts, traces) as task token arrays to one score per trace.

A ``RewardFn`` takes prompts [n, k] and traces [n, L] (task token ids, pad after eos) and returns
float rewards [n]. The true reward is the normalised bi-level return R_H/H (SPEC §2); a learned
verifier's score plugs into the same slot.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vbvf.stats.returns import bilevel_return
from vbvf.tasks.planted import PlantedTask

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def true_reward(task: PlantedTask, horizon: int) -> RewardFn:
    """R_H/H computed from the trace's solve time T: the "RL with the true reward" control."""

    def reward(prompts: np.ndarray, traces: np.ndarray) -> np.ndarray:
        solve_time = task.solve_time(traces, task.gold(prompts))
        return bilevel_return(solve_time, horizon) / horizon

    return reward


def verifier_reward(verifier, horizon: int) -> RewardFn:
    """The verifier's estimate of R_H/H (``Verifier.score`` / H): the reward of VB-RL."""

    def reward(prompts: np.ndarray, traces: np.ndarray) -> np.ndarray:
        return verifier.score(prompts, traces, horizon) / horizon

    return reward
