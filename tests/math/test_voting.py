import random

import pytest

from vbvf.tasks.math.answers import answer_key
from vbvf.tasks.math.grading import GradingPool, answers_match
from vbvf.arms.voting import (
    MemoMatch,
    best_of_n,
    group_answers,
    majority_vote,
    pass_at_n,
    weighted_best_of_n,
)


class CountingMatch:
    """Fake math-verify: equal iff both are in one of the given classes; records the pairs asked."""

    def __init__(self, *classes):
        self.classes = [set(c) for c in classes]
        self.asked = []

    def __call__(self, pairs):
        self.asked += list(pairs)
        return [any(a in c and b in c for c in self.classes) for a, b in pairs]


def test_majority_vote_groups_equivalent_forms_by_key():
    answers = ["3", r"\frac{1}{2}", "0.5", r"\dfrac12", "3", None, "7"]
    winner = majority_vote(answers)
    assert winner.key == "1/2" and winner.members == [1, 2, 3]


def test_majority_vote_tie_goes_to_the_earliest_answer():
    assert majority_vote(["5", "4", "4", "5"]).key == "5"


def test_majority_vote_without_answers_is_none():
    assert majority_vote([None, None]) is None


def test_match_merges_keys_the_key_cannot_settle_once_per_pair():
    answers = [r"\sqrt{2}/2", r"\frac{1}{\sqrt2}", "1", "1.0", r"\frac{\sqrt2}{2}", "2"]
    match = CountingMatch({r"\sqrt{2}/2", r"\frac{1}{\sqrt2}", r"\frac{\sqrt2}{2}"})
    winner = majority_vote(answers, match=match)
    assert winner.members == [0, 1, 4]
    # 5 distinct keys, 10 pairs; the pair of plain numbers "1" vs "2" is settled by the keys
    assert len(match.asked) == 9
    assert len({frozenset(p) for p in match.asked}) == 9


def test_weighted_best_of_n_sums_scores_per_answer():
    answers = ["4", "4", "4", "9", "9.0"]
    scores = [0.1, 0.1, 0.1, 0.5, 0.4]
    group = weighted_best_of_n(answers, scores)
    assert group.key == "9" and group.members == [3, 4] and group.weight == pytest.approx(0.9)
    assert majority_vote(answers).key == "4"


def test_group_answers_orders_by_weight():
    groups = group_answers(["a", "b", "b", "c", "c", "c"])
    assert [(g.key, len(g.members)) for g in groups] == [("c", 3), ("b", 2), ("a", 1)]


def test_best_of_n_and_pass_at_n():
    assert best_of_n([0.2, 0.9, 0.9, 0.1]) == 1
    with pytest.raises(ValueError):
        best_of_n([])
    assert pass_at_n([False, True]) and not pass_at_n([False, False])


def test_real_math_verify_merge():
    answers = [r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", "3", "3"]
    with GradingPool(workers=1, timeout_s=5) as pool:
        winner = majority_vote(answers, match=pool.match)
    assert winner.members == [0, 1]  # equal weight: the earliest sample wins the tie


def test_memo_match_asks_each_pair_once():
    inner = CountingMatch({"a", "b"})
    memo = MemoMatch(inner)
    assert memo([("a", "b"), ("a", "c")]) == [True, False]
    assert memo([("a", "c"), ("a", "b"), ("b", "c")]) == [False, True, False]
    assert inner.asked == [("a", "b"), ("a", "c"), ("b", "c")]


# Surface forms of a few values, and look-alikes that grading must keep apart.
FORMS = [
    "3", "3.", "3.0", r"\frac{6}{2}", "x = 3", r"3\text{ dollars}", r"3\%", "2 3", "23", "32, 349", "32349", "32,349",
    "4 4/9", "44/9", r"4\frac{4}{9}", "0.333333", r"\frac{1}{3}", "1/3", "0.3", r"1\,000", "1 000", "1000",
    r"\sqrt[3]2", r"\sqrt[3]{2}", r"\sqrt{2}/2", r"\frac{1}{\sqrt2}", "", " ", "(1,2)", "[1,2]", r"\{1,2\}",
]


def test_equal_keys_imply_a_grading_match():
    rng = random.Random(0)
    pairs = [tuple(rng.sample(FORMS, 2)) for _ in range(300)]
    for a, b in pairs:
        if answer_key(a) == answer_key(b) and answer_key(a):
            assert answers_match(a, b) and answers_match(b, a), (a, b)
    assert sum(answer_key(a) == answer_key(b) != "" for a, b in pairs) > 10  # the property was exercised


def test_vote_groups_never_join_answers_grading_separates():
    rng = random.Random(1)
    match = MemoMatch(lambda pairs: [answers_match(a, b) for a, b in pairs])
    for _ in range(20):
        answers = [rng.choice(FORMS) for _ in range(10)]
        for group in group_answers(answers, match=match):
            members = [answers[i] for i in group.members]
            assert all(answers_match(members[0], other) for other in members[1:]), members
            assert answer_key(members[0]), "empty answers never form a group"


def test_empty_answers_never_win():
    assert majority_vote(["", " ", "", "5"]).key == "5"
    assert majority_vote(["", None]) is None
