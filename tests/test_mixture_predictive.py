"""The mixture's exact predictive against brute-force enumeration and against the sampler."""

import itertools

import numpy as np
import pytest

from vbvf.policies.mixture_predictive import bayes_nll, token_log_predictive
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

TASK = PlantedTask(vocab_size=3, prompt_length=2, gold_map="elementwise", n_train=4, n_test=2, seed=3)
GAMMAS, WEIGHTS = [1.0, 0.5, 0.1], [0.2, 0.3, 0.5]
LENGTH = 4


def expert_step_probability(task, gamma, gold, prefix, token):
    """μ_γ by its definition: emit the next missing gold token w.p. γ, else a uniform digit; eos once solved."""
    matched = 0
    for a in prefix:
        if matched < len(gold) and a == gold[matched]:
            matched += 1
    if matched == len(gold):
        return float(token == task.eos)
    if token >= task.vocab_size:
        return 0.0
    return gamma * (token == gold[matched]) + (1 - gamma) / task.vocab_size


def enumerate_traces(task, gold):
    """Every budget-LENGTH trace the mixture can emit, as (tokens with pad after eos, exact probability)."""
    out = []
    for body in itertools.product(list(range(task.vocab_size)) + [task.eos], repeat=LENGTH):
        prob = sum(w * np.prod([expert_step_probability(task, g, gold, body[:t], body[t]) for t in range(LENGTH)])
                   for g, w in zip(GAMMAS, np.asarray(WEIGHTS) / sum(WEIGHTS)))
        if prob > 0:
            tokens = list(body)
            if task.eos in tokens:  # after eos the sampler pads; the enumerated tail must be all eos-free pad
                first = tokens.index(task.eos)
                if any(a != task.eos for a in tokens[first + 1:]):
                    continue
                tokens = tokens[: first + 1] + [task.pad] * (LENGTH - first - 1)
            out.append((tokens, prob))
    return out


def test_predictive_matches_enumeration_of_the_mixture():
    prompt = TASK.train_prompts[:1]
    gold = TASK.gold(prompt)[0]
    for tokens, _ in enumerate_traces(TASK, gold):
        logp, mask = token_log_predictive(TASK, GAMMAS, WEIGHTS, prompt, np.array([tokens]))
        for t in range(int(mask.sum())):
            # brute force: P(a_t | a_<t) = Σ_γ w_γ P_γ(a_≤t) / Σ_γ w_γ P_γ(a_<t)
            w = np.asarray(WEIGHTS) / sum(WEIGHTS)
            joint = [np.prod([expert_step_probability(TASK, g, gold, tokens[:s], tokens[s]) for s in range(t + 1)]) for g in GAMMAS]
            before = [np.prod([expert_step_probability(TASK, g, gold, tokens[:s], tokens[s]) for s in range(t)]) for g in GAMMAS]
            expected = np.dot(w, joint) / np.dot(w, before)
            assert np.exp(logp[0, t]) == pytest.approx(expected, rel=1e-10), (tokens, t)


def test_trace_probabilities_sum_to_one_and_match_the_sampler():
    prompt = TASK.train_prompts[:1]
    gold = TASK.gold(prompt)[0]
    traces = enumerate_traces(TASK, gold)
    arr = np.array([t for t, _ in traces])
    logp, mask = token_log_predictive(TASK, GAMMAS, WEIGHTS, np.repeat(prompt, len(arr), axis=0), arr)
    predictive = np.exp(np.where(mask, logp, 0.0).sum(axis=1))
    assert predictive.sum() == pytest.approx(1.0, abs=1e-12)
    assert predictive == pytest.approx(np.array([p for _, p in traces]), rel=1e-10)
    # the sampler draws from the same law: empirical frequencies of every trace within 5 standard errors
    draws = 200_000
    sampled = ProceduralPolicy(TASK, GAMMAS, WEIGHTS).sample(prompt, draws, LENGTH, seed=11)[0]
    index = {tuple(t): i for i, t in enumerate(arr.tolist())}
    counts = np.bincount([index[tuple(t)] for t in sampled.tolist()], minlength=len(arr))
    se = np.sqrt(predictive * (1 - predictive) / draws)
    assert np.all(np.abs(counts / draws - predictive) <= 5 * se + 1e-12)


def test_bayes_nll_is_the_entropy_of_a_single_expert():
    # one expert, no posterior to learn: per-step NLL before solving is the entropy of (p, (1-γ)/V, ...)
    task = PlantedTask(vocab_size=8, prompt_length=3, gold_map="elementwise", n_train=200, n_test=10)
    gamma = 0.5
    prompts = task.train_prompts[np.arange(20000) % 200]
    traces = ProceduralPolicy(task, [gamma]).sample(prompts, 1, 64, seed=0)[:, 0]
    p, q = gamma + (1 - gamma) / 8, (1 - gamma) / 8
    # Wald: E[T] = k/p steps, each costing the step entropy in expectation; eos costs 0 nats
    per_trace = 3 / p * -(p * np.log(p) + 7 * q * np.log(q))
    tokens = (traces != task.pad).sum(axis=1).mean()
    assert bayes_nll(task, [gamma], [], prompts, traces) == pytest.approx(per_trace / tokens, rel=0.02)
