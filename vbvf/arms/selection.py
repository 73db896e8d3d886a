"""Selection among N samples of π_b: majority vote, (weighted) Best-of-N with a verifier, pass@N.

Each method is applied to the first N samples of every problem, for each N of the grid; its
accuracy has a bootstrap CI over problems and it reports the tokens generated per problem.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vbvf.arms.voting import Match, best_of_n, majority_vote, pass_at_n, weighted_best_of_n
from vbvf.stats import mean_ci
from vbvf.tasks.math.samples import Graded


def _majority(g: Graded, x: int, n: int, match: Match) -> bool:
    group = majority_vote(g.answers[x][:n], match=match)
    return group is not None and bool(g.correct[x, group.members[0]])


def _weighted(g: Graded, x: int, n: int, match: Match) -> bool:
    group = weighted_best_of_n(g.answers[x][:n], g.scores[x, :n].tolist(), match=match)
    return group is not None and bool(g.correct[x, group.members[0]])


def _best_of_n(g: Graded, x: int, n: int, match: Match) -> bool:
    return bool(g.correct[x, best_of_n(g.scores[x, :n].tolist())])


def _pass_at_n(g: Graded, x: int, n: int, match: Match) -> bool:
    return pass_at_n(g.correct[x, :n].tolist())


# name -> (is the selected sample correct?, needs a verifier)
SELECTIONS: dict[str, tuple[Callable[[Graded, int, int, Match], bool], bool]] = {
    "majority_vote": (_majority, False),
    "weighted_best_of_n": (_weighted, True),
    "best_of_n": (_best_of_n, True),
    "pass_at_n": (_pass_at_n, False),
}


def check_selection(selection: dict, has_verifier: bool) -> None:
    """The ``selection`` section's values, checked before any compute; errors name the key."""
    n_grid = selection["n_grid"]
    if not n_grid or sorted(set(n_grid)) != list(n_grid) or n_grid[0] < 1:
        raise ValueError(f"selection.n_grid must be increasing positive ints, got {n_grid}")
    for name in selection["methods"]:
        if name not in SELECTIONS:
            raise ValueError(f"selection.methods: unknown {name!r}; choose from {sorted(SELECTIONS)}")
        if SELECTIONS[name][1] and not has_verifier:
            raise ValueError(f"selection.methods: {name!r} needs a verifier (set verifier=...)")


def accuracy_estimate(correct: list[bool], tokens: list[int], ev: dict, seed: int) -> dict:
    """Accuracy over problems with its bootstrap CI, and the mean tokens generated per problem."""
    est = mean_ci(np.array(correct, dtype=float), ev["confidence"], ev["n_bootstrap"], seed)
    return {"accuracy": est.value, "ci": [est.low, est.high], "n": est.n, "tokens_mean": float(np.mean(tokens))}


def selection_correct(g: Graded, methods: list[str], n_grid: list[int], match: Match) -> dict[str, dict[int, list[bool]]]:
    """Per method and N: is the answer selected from the first N samples right, per problem."""
    return {
        name: {n: [SELECTIONS[name][0](g, x, n, match) for x in range(len(g.answers))] for n in n_grid}
        for name in methods
    }


def evaluate_selection(g: Graded, cfg: dict, match: Match, seed: int) -> dict:
    """Accuracy (with CI) and tokens of each selection method at each N (the first N samples)."""
    correct = selection_correct(g, cfg["selection"]["methods"], cfg["selection"]["n_grid"], match)
    return {
        name: {str(n): accuracy_estimate(ok, g.tokens[:, :n].sum(axis=1).tolist(), cfg["eval"], seed) for n, ok in per_n.items()}
        for name, per_n in correct.items()
    }
