"""The planted task: prompt split, gold maps and both solve modes on hand-made traces."""

import numpy as np
import pytest

from vbvf.tasks import UNSOLVED, PlantedTask


def test_train_and_test_prompts_are_disjoint_and_in_range():
    task = PlantedTask(n_train=300, n_test=100, seed=3)
    train = {tuple(p) for p in task.train_prompts}
    test = {tuple(p) for p in task.test_prompts}
    assert len(train) == 300 and len(test) == 100
    assert not train & test
    assert task.train_prompts.min() >= 0 and task.train_prompts.max() < task.vocab_size


def test_permutation_depends_on_seed_only():
    assert np.array_equal(PlantedTask(seed=1).permutation, PlantedTask(seed=1, n_test=7).permutation)
    assert not np.array_equal(PlantedTask(seed=1).permutation, PlantedTask(seed=2).permutation)
    assert sorted(PlantedTask(seed=1).permutation) == list(range(10))


def test_contextual_and_elementwise_gold_maps_by_hand():
    task = PlantedTask(vocab_size=5, prompt_length=3, n_train=10, n_test=10, seed=0)
    g = task.permutation
    x = np.array([[1, 4, 2]])
    # contextual: y_i = g((x_i + x_{i-1}) mod V), x_0 = 0
    assert task.gold(x).tolist() == [[g[1], g[(4 + 1) % 5], g[(2 + 4) % 5]]]
    elementwise = PlantedTask(vocab_size=5, prompt_length=3, gold_map="elementwise", n_train=10, n_test=10)
    assert elementwise.gold(x).tolist() == [[g[1], g[4], g[2]]]


def test_subsequence_solve_time_on_hand_made_traces():
    task = PlantedTask(vocab_size=10, prompt_length=3, n_train=10, n_test=10)
    gold = np.array([[1, 2, 3]] * 5)
    eos, pad = task.eos, task.pad
    traces = np.array(
        [
            [1, 2, 3, eos, pad, pad, pad],  # direct: T = 3
            [0, 1, 9, 2, 2, 3, eos],  # gaps: T = 6
            [3, 2, 1, 1, 2, 9, 3],  # needs the second 1 and later 2: T = 7
            [1, 2, 0, 0, 0, 0, 0],  # never
            [3, 2, 1, 0, 0, 0, 0],  # wrong order
        ]
    )
    assert task.solve_time(traces, gold).tolist() == [3, 6, 7, UNSOLVED, UNSOLVED]


def test_substring_solve_time_requires_contiguity():
    task = PlantedTask(vocab_size=10, prompt_length=3, solve_mode="substring", n_train=10, n_test=10)
    gold = np.array([[1, 2, 3]] * 3)
    traces = np.array([[1, 2, 3, 0, 0], [0, 1, 9, 2, 3], [1, 1, 2, 3, 0]])
    assert task.solve_time(traces, gold).tolist() == [3, UNSOLVED, 4]


@pytest.mark.parametrize("key,value", [("gold_map", "diagonal"), ("solve_mode", "prefix")])
def test_bad_task_options_name_the_key(key, value):
    with pytest.raises(ValueError, match=f"task.{key}"):
        PlantedTask(**{key: value})
