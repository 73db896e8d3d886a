"""Best-of-N picks the verifier's argmax among the first N of each group and counts all N traces' tokens."""

import numpy as np
import pytest

from vbvf.arms.bon import best_of_n


def test_best_of_n_by_hand():
    scores = np.array([[[0.1, 0.9, 0.5], [0.7, 0.2, 0.8]]])
    solve_time = np.array([[[9, 3, 5], [4, 8, 2]]])
    tokens = np.array([[[10, 4, 6], [5, 9, 3]]])
    picked, spent = best_of_n(scores, solve_time, tokens, 2)
    assert picked.tolist() == [[3, 4]] and spent.tolist() == [[14, 14]]
    picked, spent = best_of_n(scores, solve_time, tokens, 3)
    assert picked.tolist() == [[3, 2]] and spent.tolist() == [[20, 17]]
    with pytest.raises(ValueError, match="n_grid"):
        best_of_n(scores, solve_time, tokens, 4)
