"""What the pipelines and arms need of a policy and of a verifier, declared once.

Didactic: a ``TracePolicy`` (``ProceduralPolicy``, ``LMPolicy``, an RL or VF student) samples token
traces; a ``TraceVerifier`` (``vbvf.arms.verifier.Verifier``) scores them in R_H units. MATH: an
``OutcomeScorer`` scores (prompt, completion) pairs and a ``ProcessScorer`` the steps of partial
solutions (``vbvf.policies.scorer.HFScorer`` is both); samplers are ``vbvf.policies.samplers.Sampler``.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class TracePolicy(Protocol):
    def sample(self, prompts: np.ndarray, n_samples: int, horizon: int, seed: int) -> np.ndarray:
        """``n_samples`` traces of budget H per prompt: int tokens [prompts, n_samples, H]."""


@runtime_checkable
class TraceVerifier(Protocol):
    def score(self, prompts: np.ndarray, traces: np.ndarray, horizon: int) -> np.ndarray:
        """Estimated R_H of each trace cut to budget H."""


@runtime_checkable
class OutcomeScorer(Protocol):
    def score_outcomes(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """One score per (prompt, completion): the verifier's belief that the final answer is right."""


@runtime_checkable
class ProcessScorer(Protocol):
    def process_scores(self, prompt: str, step_lists: list[list[str]]) -> list[list[float]]:
        """One score per step of each partial solution, from the prefix ending at that step."""
