"""The VF data filter: every kept trace solves within H, ends at T with eos, and the costs add up."""

import numpy as np

from vbvf.arms.vf import cut_at_solve, expert_traces, rejection_sample
from vbvf.policies import ProceduralPolicy
from vbvf.tasks import PlantedTask


def test_rejection_sample_keeps_only_successes_cut_at_T():
    task = PlantedTask(n_train=200, n_test=10, seed=4)
    policy = ProceduralPolicy(task, [0.05, 0.5])
    horizon = 16
    sample = rejection_sample(task, policy, task.train_prompts, horizon, per_round=2, max_rounds=3, seed=0)
    assert 0 < len(sample.prompts) <= 200
    assert len(sample.prompts) + sample.prompts_without_success == 200
    t = task.solve_time(sample.traces, task.gold(sample.prompts))
    assert np.array_equal(t, sample.solve_time) and np.all(t <= horizon)
    for row, solve in zip(sample.traces, t):
        assert np.all(row[:solve] < task.vocab_size)
        if solve < horizon:
            assert row[solve] == task.eos and np.all(row[solve + 1 :] == task.pad)
    assert sample.samples_drawn >= 200 * 2 and 0 < sample.acceptance_rate <= 1
    assert sample.tokens_drawn >= sample.samples_drawn  # every drawn trace has at least one token


def test_cut_at_solve_by_hand():
    task = PlantedTask(vocab_size=10, prompt_length=2, n_train=10, n_test=10)
    traces = np.array([[1, 2, 3, 4, 5], [5, 1, 2, 9, 9]])
    cut = cut_at_solve(task, traces, np.array([2, 5]))
    assert cut.tolist() == [[1, 2, task.eos, task.pad, task.pad], [5, 1, 2, 9, 9]]


def test_expert_traces_solve_at_k():
    task = PlantedTask(n_train=50, n_test=10)
    traces = expert_traces(task, task.train_prompts, 12, seed=0)
    assert np.all(task.solve_time(traces, task.gold(task.train_prompts)) == task.prompt_length)
