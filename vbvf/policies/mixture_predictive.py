"""The exact next-token predictive of a procedural mixture: the Bayes reference an LM base is held to.

A trace of the mixture draws one γ, then runs μ_γ. Before the trace is solved, μ_γ emits the next
missing gold token with probability p_γ = γ + (1 − γ)/V and each other digit with (1 − γ)/V; once
solved it emits eos. The likelihood of a prefix with s progress steps and f other steps is
p_γ^s ((1 − γ)/V)^f, so the posterior over γ depends only on (s, f) and the predictive is

    P(next = needed gold token | prefix) = Σ_γ w_γ(s, f) p_γ
    P(next = d | prefix) = Σ_γ w_γ(s, f) (1 − γ)/V   for every other digit d
    P(next = eos | solved prefix) = 1,

with w_γ(s, f) ∝ w_γ p_γ^s ((1 − γ)/V)^f. Progress steps are exactly the greedy subsequence
matches, so s is the number of gold tokens matched so far. No LM can have a lower expected
per-token NLL on mixture traces than this predictive; the gap to it measures how well the LM
reproduces its training distribution.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import logsumexp

from vbvf.policies.lm import generated_mask
from vbvf.policies.procedural import ProceduralPolicy, progress_probability
from vbvf.tasks.planted import PlantedTask


def mixture_log_terms(task: PlantedTask, gammas: Sequence[float], weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log w_γ, log p_γ and log((1 − γ)/V) [G] of the mixture, validated and normalised as the sampler does."""
    mixture = ProceduralPolicy(task, gammas, weights)
    p = progress_probability(mixture.gammas, task.vocab_size)
    with np.errstate(divide="ignore"):
        return np.log(mixture.weights), np.log(p), np.log((1 - mixture.gammas) / task.vocab_size)


def log_posterior(log_prior: np.ndarray, log_p: np.ndarray, log_other: np.ndarray, matched: np.ndarray,
                  others: np.ndarray) -> np.ndarray:
    """log w_γ(s, f) [n, G]: the posterior over γ after s progress steps and f other steps.

    ``log_prior``, ``log_p`` and ``log_other`` [G] are log w_γ, log p_γ and log((1 − γ)/V); f·log 0
    is −inf only when f > 0 (γ = 1 never errs).
    """
    errs = np.zeros((len(matched), len(log_prior)))
    np.multiply(others[:, None], log_other, out=errs, where=others[:, None] > 0)
    log_post = log_prior + matched[:, None] * log_p + errs
    return log_post - logsumexp(log_post, axis=1, keepdims=True)


def token_log_predictive(
    task: PlantedTask, gammas: Sequence[float], weights: Sequence[float] | None, prompts: np.ndarray, traces: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log P(a_t | x, a_<t) under the mixture for every generated token, and the mask of generated tokens.

    ``traces`` [n, L] are budget-L traces as the samplers return them (a_1.., eos, pad after);
    returns float64 [n, L] log-probabilities (−inf where the mixture cannot emit the token) and a
    bool mask, True on every token up to and including eos (pad is never scored).
    """
    traces = np.asarray(traces)
    log_prior, log_p, log_other = mixture_log_terms(task, gammas, weights)
    gold = task.gold(prompts)
    n, length = traces.shape
    k = task.prompt_length

    matched = np.zeros(n, dtype=np.int64)  # s: gold tokens matched before step t
    others = np.zeros(n, dtype=np.int64)  # f: non-progress steps before step t
    out = np.full((n, length), -np.inf)
    for t in range(length):
        token = traces[:, t]
        solved = matched >= k
        needed = gold[np.arange(n), np.minimum(matched, k - 1)]
        log_post = log_posterior(log_prior, log_p, log_other, matched, others)
        log_needed = logsumexp(log_post + log_p, axis=1)
        log_digit = logsumexp(log_post + log_other, axis=1)
        is_digit = token < task.vocab_size
        progress = ~solved & (token == needed)
        out[:, t] = np.where(
            solved, np.where(token == task.eos, 0.0, -np.inf),
            np.where(progress, log_needed, np.where(is_digit, log_digit, -np.inf)),
        )
        matched += progress
        others += ~solved & is_digit & ~progress
    return out, generated_mask(task, traces)


def bayes_nll(task: PlantedTask, gammas: Sequence[float], weights: Sequence[float] | None, prompts: np.ndarray, traces: np.ndarray) -> float:
    """Mean per-token NLL (nats) of the mixture's exact predictive over the generated tokens of ``traces``."""
    logp, mask = token_log_predictive(task, gammas, weights, prompts, traces)
    return float(-logp[mask].mean())
