"""Select one of N sampled answers: majority vote, weighted and plain Best-of-N, pass@N.

Answers are grouped by :func:`answer_key` in O(N). Distinct keys can still be equivalent
(``\\sqrt2/2`` vs ``\\frac{1}{\\sqrt2}``, or ``0.333333`` vs ``\\frac13``, which math-verify
accepts by rounding), so the groups are then merged with at most one math-verify check per pair
of distinct keys; pairs of two integers are settled by the key alone. There are usually only a
handful of distinct keys. Grouping agrees with grading: equal keys are a match for
:func:`answers_match` too, and empty answers are dropped like missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vbvf.tasks.math.answers import answer_key, is_integer_key

Match = Callable[[Sequence[tuple[str, str]]], list[bool]]
"""Batch equivalence check of (answer, answer) pairs, e.g. ``GradingPool.match``."""


class MemoMatch:
    """A :data:`Match` that asks the wrapped one only about pairs it has not seen before.

    Selecting at several N, or by several methods, revisits the same distinct-key pairs.
    """

    def __init__(self, match: Match) -> None:
        self.match, self.verdicts = match, {}

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        new = list(dict.fromkeys(p for p in pairs if p not in self.verdicts))
        self.verdicts.update(zip(new, self.match(new) if new else []))
        return [self.verdicts[p] for p in pairs]


@dataclass
class AnswerGroup:
    """Answers judged equal: their indices in the sampled list and their total weight."""

    key: str
    members: list[int] = field(default_factory=list)
    weight: float = 0.0


def group_answers(
    answers: Sequence[str | None], weights: Sequence[float] | None = None, match: Match | None = None
) -> list[AnswerGroup]:
    """Groups of equal answers, heaviest first (ties: earliest sample first); None and empty
    answers dropped (grading never accepts them).

    Without ``match`` only the canonical key decides; with it, distinct keys are merged where
    ``match`` says they are equivalent.
    """
    by_key: dict[str, AnswerGroup] = {}
    for index, answer in enumerate(answers):
        key = answer_key(answer) if answer is not None else ""
        if not key:
            continue
        group = by_key.setdefault(key, AnswerGroup(key))
        group.members.append(index)
        group.weight += 1.0 if weights is None else float(weights[index])
    groups = _ranked(by_key.values())
    if match is None or len(groups) < 2:
        return groups
    return _merge(groups, answers, match)


def components(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Connected-component label of each of ``n`` items joined by undirected ``edges``."""
    rows, cols = zip(*edges) if edges else ((), ())
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1].tolist()


def _ranked(groups) -> list[AnswerGroup]:
    return sorted(groups, key=lambda g: (-g.weight, g.members[0]))


def _merge(groups: list[AnswerGroup], answers: Sequence[str | None], match: Match) -> list[AnswerGroup]:
    """Union groups whose representatives (first samples) ``match`` finds equivalent.

    The earlier sample is passed as gold, so a pair reads the same whatever the weights: a
    :class:`MemoMatch` then serves every N of a grid and every method.
    """
    pairs = [
        (i, j)
        for i in range(len(groups))
        for j in range(i + 1, len(groups))
        if not (is_integer_key(groups[i].key) and is_integer_key(groups[j].key))
    ]
    firsts = [group.members[0] for group in groups]
    verdicts = match([(answers[min(firsts[i], firsts[j])], answers[max(firsts[i], firsts[j])]) for i, j in pairs])
    labels = components(len(groups), [pair for pair, same in zip(pairs, verdicts) if same])
    merged: dict[int, AnswerGroup] = {}
    for label, group in zip(labels, groups):  # heaviest first, so it names the merged group
        target = merged.setdefault(label, AnswerGroup(group.key))
        target.members.extend(group.members)
        target.weight += group.weight
    for group in merged.values():
        group.members.sort()
    return _ranked(merged.values())


def majority_vote(answers: Sequence[str | None], match: Match | None = None) -> AnswerGroup | None:
    """The most frequent answer's group (None when no sample has an answer)."""
    groups = group_answers(answers, match=match)
    return groups[0] if groups else None


def weighted_best_of_n(
    answers: Sequence[str | None], scores: Sequence[float], match: Match | None = None
) -> AnswerGroup | None:
    """The answer whose samples have the largest summed verifier score."""
    groups = group_answers(answers, weights=scores, match=match)
    return groups[0] if groups else None


def best_of_n(scores: Sequence[float]) -> int:
    """Index of the highest-scored sample (the first one on ties)."""
    if not scores:
        raise ValueError("best_of_n needs at least one score")
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def pass_at_n(correct: Sequence[bool]) -> bool:
    """Oracle ceiling: True iff any of the N samples is correct."""
    return any(correct)
