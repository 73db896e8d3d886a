"""The mixture's exact prefix value against brute-force enumeration of every continuation, and by hand."""

import itertools

import numpy as np
import pytest

from tests.test_mixture_predictive import GAMMAS, TASK, WEIGHTS, expert_step_probability
from vbvf.policies.mixture_predictive import token_log_predictive
from vbvf.policies.mixture_value import prefix_values

H = 4
ALPHABET = list(range(TASK.vocab_size)) + [TASK.eos]


def trace_probability(gamma, gold, tokens) -> float:
    return float(np.prod([expert_step_probability(TASK, gamma, gold, tokens[:s], tokens[s]) for s in range(len(tokens))]))


def enumerated_value(gold, prefix, kind) -> float:
    """E[outcome | prefix] by summing over γ and every continuation to H tokens, each weighed by its exact probability."""
    weights = np.asarray(WEIGHTS) / sum(WEIGHTS)
    posterior = weights * [trace_probability(g, gold, prefix) for g in GAMMAS]
    posterior /= posterior.sum()
    value = 0.0
    for g, w in zip(GAMMAS, posterior):
        if w == 0:  # this expert cannot have emitted the prefix
            continue
        for tail in itertools.product(ALPHABET, repeat=H - len(prefix)):
            tokens = list(prefix) + list(tail)
            prob = trace_probability(g, gold, tokens) / trace_probability(g, gold, prefix)
            t = int(TASK.solve_time(np.array([tokens]), gold[None])[0])
            outcome = float(t <= H) if kind == "success" else max(H - t + 1, 0) / H
            value += w * prob * outcome
    return value


def possible_prefixes(gold):
    """Every prefix of length 0..H the mixture can emit (eos only right after solving)."""
    for length in range(H + 1):
        for prefix in itertools.product(ALPHABET, repeat=length):
            if any(trace_probability(g, gold, prefix) > 0 for g in GAMMAS):
                yield list(prefix)


@pytest.mark.parametrize("kind", ["success", "return"])
def test_prefix_value_matches_enumeration(kind):
    prompt = TASK.train_prompts[:1]
    gold = TASK.gold(prompt)[0]
    checked = 0
    for prefix in possible_prefixes(gold):
        trace = np.array([prefix + [TASK.pad] * (H - len(prefix))])
        got = prefix_values(TASK, GAMMAS, WEIGHTS, prompt, trace, H, kind)[0, len(prefix)]
        assert got == pytest.approx(enumerated_value(gold, prefix, kind), abs=1e-12), (prefix, kind)
        checked += 1
    assert checked > 50


def test_value_is_a_martingale_under_the_predictive():
    """Σ_a P(a | prefix) U(prefix + a) = U(prefix): the value is the mixture's own expectation of its future."""
    prompt = TASK.train_prompts[1:2]
    gold = TASK.gold(prompt)[0]
    for prefix in ([], [gold[0]], [gold[1], gold[1]]):
        def value(tokens):
            trace = np.array([tokens + [TASK.pad] * (H - len(tokens))])
            return prefix_values(TASK, GAMMAS, WEIGHTS, prompt, trace, H)[0, len(tokens)]

        expected = 0.0
        for a in ALPHABET:
            logp, _ = token_log_predictive(TASK, GAMMAS, WEIGHTS, prompt, np.array([prefix + [a]]))
            expected += np.exp(logp[0, -1]) * value(prefix + [a])
        assert expected == pytest.approx(value(prefix), abs=1e-12)


def test_values_by_hand():
    """One expert γ = 1 solves in exactly k steps; a solved prefix keeps its return; eos unsolved is worth 0."""
    prompt = TASK.train_prompts[:1]
    g0, g1 = TASK.gold(prompt)[0]
    other = next(d for d in range(TASK.vocab_size) if d != g0)
    traces = np.array([[g0, g1, TASK.eos, TASK.pad], [other, TASK.eos, TASK.pad, TASK.pad]])
    prompts = np.repeat(prompt, 2, axis=0)
    sure = prefix_values(TASK, [1.0], None, prompts, traces[:1], H)
    assert sure[0].tolist() == pytest.approx([3 / 4] * 5)  # T = 2 from the start: R_H/H = (4 − 2 + 1)/4
    values = prefix_values(TASK, [0.5], None, prompts, traces, H, "success")
    p = 0.5 + 0.5 / TASK.vocab_size
    assert values[0, 0] == pytest.approx(1 - (1 - p) ** 4 - 4 * p * (1 - p) ** 3)  # P(Bin(4, p) ≥ 2)
    assert values[0, 2:].tolist() == [1.0, 1.0, 1.0]
    assert values[1, 2:].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="exceed the budget"):
        prefix_values(TASK, [0.5], None, prompts, traces, 3)
