"""μ_γ matches its closed forms: per-token geometric waits give E[T] = k/p, Var[T] = k(1−p)/p²."""

import numpy as np
import pytest
from scipy import stats

from vbvf.policies import ProceduralPolicy, progress_probability
from vbvf.tasks import UNSOLVED, PlantedTask


@pytest.mark.parametrize(
    "vocab_size,k,gamma", [(10, 5, 0.5), (10, 5, 0.0625), (4, 3, 0.0), (20, 4, 1.0), (7, 6, 0.25)]
)
def test_solve_time_mean_and_variance_match_closed_form(vocab_size, k, gamma):
    task = PlantedTask(vocab_size=vocab_size, prompt_length=k, n_train=20, n_test=40, seed=1)
    p = float(progress_probability(gamma, vocab_size))
    mean, var = k / p, k * (1 - p) / p**2
    horizon = int(mean + 12 * np.sqrt(var)) + k  # P(T > H) is negligible
    traces = ProceduralPolicy(task, [gamma]).sample(task.test_prompts, 500, horizon, seed=7)
    gold = np.repeat(task.gold(task.test_prompts), 500, axis=0)
    t = task.solve_time(traces.reshape(-1, horizon), gold)
    assert np.all(t != UNSOLVED)
    n = t.size
    # mean: 5-sigma z-test; variance: 99.9999% CI of the sample variance (normal approx via kurtosis)
    assert abs(t.mean() - mean) < 5 * np.sqrt(var / n) + 1e-9
    if var > 0:
        kurt = stats.kurtosis(t, fisher=False)
        se_var = np.sqrt((kurt - (n - 3) / (n - 1)) / n) * var
        assert abs(t.var(ddof=1) - var) < 5 * se_var
    else:
        assert np.all(t == k)


def test_traces_end_with_eos_then_pad_and_only_digits_before():
    task = PlantedTask(n_train=20, n_test=20)
    traces = ProceduralPolicy(task, [1.0, 0.1]).sample(task.test_prompts, 8, 64, seed=0).reshape(-1, 64)
    t = task.solve_time(traces, np.repeat(task.gold(task.test_prompts), 8, axis=0))
    for row, solve in zip(traces, t):
        if solve == UNSOLVED:
            assert np.all(row < task.vocab_size)
            continue
        assert np.all(row[:solve] < task.vocab_size)
        if solve < 64:
            assert row[solve] == task.eos and np.all(row[solve + 1 :] == task.pad)


def test_mixture_draws_gammas_by_weight():
    task = PlantedTask(n_train=20, n_test=50)
    policy = ProceduralPolicy(task, [1.0, 0.0], weights=[3, 1])
    traces = policy.sample(task.test_prompts, 200, 40, seed=2).reshape(-1, 40)
    t = task.solve_time(traces, np.repeat(task.gold(task.test_prompts), 200, axis=0))
    share_sharp = np.mean(t == task.prompt_length)  # μ_1 always solves at T = k; μ_0 rarely does
    assert abs(share_sharp - (0.75 + 0.25 * 0.1**5)) < 0.02


def test_bad_mixture_is_rejected():
    task = PlantedTask()
    with pytest.raises(ValueError, match="mixture.gammas"):
        ProceduralPolicy(task, [1.5])
    with pytest.raises(ValueError, match="mixture.weights"):
        ProceduralPolicy(task, [0.5, 0.25], weights=[1.0])


def test_policies_and_verifiers_satisfy_their_declared_protocols():
    from vbvf.arms.components import DidacticRunner
    from vbvf.arms.math_components import MathRunner
    from vbvf.arms.verifier import Verifier
    from vbvf.pipeline.arms import ArmRunner
    from vbvf.pipeline.math_runner import MathArms
    from vbvf.policies.lm import LMPolicy
    from vbvf.policies.protocols import OutcomeScorer, ProcessScorer, TracePolicy, TraceVerifier
    from vbvf.policies.scorer import HFScorer

    for cls, protocol in ((ProceduralPolicy, TracePolicy), (LMPolicy, TracePolicy), (Verifier, TraceVerifier),
                          (HFScorer, OutcomeScorer), (HFScorer, ProcessScorer), (ArmRunner, DidacticRunner), (MathArms, MathRunner)):
        methods = [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]
        assert methods and all(callable(getattr(cls, name, None)) for name in methods), (cls, protocol)


def test_traces_match_the_step_by_step_definition():
    """The vectorised sampler against μ_γ written out step by step from the same waits and digits."""
    from vbvf.policies.procedural import sample_expert_traces

    task = PlantedTask(vocab_size=6, prompt_length=3, n_train=30, n_test=10, seed=2)
    gold = task.gold(task.train_prompts)
    gammas = np.random.default_rng(0).choice([1.0, 0.5, 0.1, 0.0], size=len(gold))
    horizon, n, k = 12, len(gold), task.prompt_length
    traces = sample_expert_traces(task, gold, gammas, horizon, np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the same draws, in the same order
    done = np.cumsum(rng.geometric(progress_probability(gammas, task.vocab_size)[:, None], size=(n, k)), axis=1)
    other = rng.integers(0, task.vocab_size - 1, size=(n, horizon))
    for row in range(n):
        for step in range(1, horizon + 1):
            completed = int((done[row] < step).sum())
            if step in done[row]:
                expected = gold[row, completed]  # the next gold token, emitted
            elif step == done[row, -1] + 1:
                expected = task.eos
            elif step > done[row, -1] + 1:
                expected = task.pad
            else:  # no progress: a digit other than the needed one
                expected = other[row, step - 1] + (other[row, step - 1] >= gold[row, completed])
            assert traces[row, step - 1] == expected, (row, step)
    assert (traces == task.eos).any() and (traces == task.pad).any() and (done[:, -1] > horizon).any()
