import numpy as np
import pytest

from vbvf.tasks.math.traces import solve_times


def test_always_correct_attempts_solve_at_their_length():
    times = solve_times(np.array([[7, 7]]), np.array([[True, True]]), horizon=10, n_traces=5)
    assert times.shape == (1, 5) and (times == 7).all()


def test_never_correct_or_too_long_is_unsolved():
    tokens = np.array([[3, 3], [20, 20]])
    correct = np.array([[False, False], [True, True]])
    assert np.isinf(solve_times(tokens, correct, horizon=10, n_traces=4)).all()


def test_wrong_attempts_are_concatenated_before_the_first_correct_one():
    # attempt 0 is wrong (4 tokens), attempt 1 correct (6): T is 6 + 4*j with j geometric(1/2)
    times = solve_times(np.array([[4, 6]]), np.array([[False, True]]), horizon=1000, n_traces=20000, seed=1)
    assert set(np.unique(times)) <= {6.0 + 4 * j for j in range(300)}
    assert times.mean() == pytest.approx(6 + 4 * 1.0, rel=0.05)  # E[j] = 1


def test_budget_cuts_late_solutions():
    times = solve_times(np.array([[4, 6]]), np.array([[False, True]]), horizon=10, n_traces=20000, seed=2)
    assert set(np.unique(times)) == {6.0, 10.0, np.inf}
    assert np.isinf(times).mean() == pytest.approx(0.25, abs=0.02)  # needs j >= 2


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        solve_times(np.zeros((2, 3)), np.zeros((2, 2), dtype=bool), horizon=5, n_traces=2)


def test_a_multi_attempt_sample_solves_at_its_first_correct_attempt():
    # sample 0: 10 tokens, correct attempt ends at token 4; sample 1: 5 tokens, never correct.
    # T = 4 + 5·j (j wrong samples first, geometric(1/2)), E[T] = 4 + 5.
    tokens, solved_at = np.array([[10, 5]]), np.array([[4.0, np.inf]])
    times = solve_times(tokens, np.isfinite(solved_at), horizon=1000, n_traces=20000, seed=3, solved_at=solved_at)
    assert set(np.unique(times)) <= {4.0 + 5 * j for j in range(300)}
    assert times.mean() == pytest.approx(4 + 5 * 1.0, rel=0.05)
    # within H = 4 only traces that start with sample 0 solve: half of them
    short = solve_times(tokens, np.isfinite(solved_at), horizon=4, n_traces=20000, seed=3, solved_at=solved_at)
    assert np.isfinite(short).mean() == pytest.approx(0.5, abs=0.02) and set(np.unique(short)) == {4.0, np.inf}
