import pytest

from vbvf.arms.search import (
    Proposal,
    SearchSettings,
    aggregate,
    beam_search,
    dvts,
)
from vbvf.tasks.math.prompts import split_steps

# A tree of steps: each child is (step, tokens, finished). Every step has a fixed score.
TREE = {
    (): [("x1", 10, False), ("y1", 11, False), ("z1", 12, False)],
    ("x1",): [("x2", 20, False)],
    ("x1", "x2"): [("x3", 30, True)],
    ("y1",): [("y2", 21, False)],
    ("y1", "y2"): [("y3", 31, True)],
    ("z1",): [("z2", 22, False)],
    ("z1", "z2"): [("z3", 32, True)],
}
# last picks x (0.9), min picks y (0.6), prod picks z (0.95*0.95*0.55 = 0.496)
SCORES = {"x1": 1.0, "x2": 0.2, "x3": 0.9, "y1": 0.6, "y2": 0.6, "y3": 0.6, "z1": 0.95, "z2": 0.95, "z3": 0.55}


class FakeProposer:
    """Cycles through a node's children, on from where the last call at that node stopped (like
    independent samples); records the number of proposals asked per call."""

    def __init__(self, tree):
        self.tree, self.asked, self.next = tree, [], {}

    def __call__(self, prompt, steps, n):
        self.asked.append(n)
        children, start = self.tree[tuple(steps)], self.next.get(tuple(steps), 0)
        self.next[tuple(steps)] = start + n
        return [Proposal(*children[(start + i) % len(children)]) for i in range(n)]


def fake_score(prompt, step_lists):
    return [[SCORES[s] for s in steps] for steps in step_lists]


def test_aggregations():
    assert aggregate([0.5, 0.2, 0.8], "last") == 0.8
    assert aggregate([0.5, 0.2, 0.8], "min") == 0.2
    assert aggregate([0.5, 0.2, 0.8], "prod") == pytest.approx(0.08)
    with pytest.raises(ValueError):
        aggregate([1.0], "mean")


@pytest.mark.parametrize("aggregation, winner", [("last", "x"), ("min", "y"), ("prod", "z")])
@pytest.mark.parametrize("search", [beam_search, dvts])
def test_wide_search_picks_the_path_the_aggregation_prefers(search, aggregation, winner):
    result = search("p", FakeProposer(TREE), fake_score, SearchSettings(3, 1, 5, aggregation))
    assert result.best.steps == [f"{winner}1", f"{winner}2", f"{winner}3"]
    assert result.best.finished
    assert result.tokens == (10 + 11 + 12) + (20 + 21 + 22) + (30 + 31 + 32)


# Two first steps: "a" looks best early, but only "b" leads to a high final score.
TRAP = {
    (): [("a", 5, False), ("b", 6, False)],
    ("a",): [("a_end", 7, True)],
    ("b",): [("b_end", 8, True)],
}
TRAP_SCORES = {"a": 0.9, "b": 0.4, "a_end": 0.2, "b_end": 0.95}


def trap_score(prompt, step_lists):
    return [[TRAP_SCORES[s] for s in steps] for steps in step_lists]


def test_beam_search_prunes_to_the_best_prefix():
    proposer = FakeProposer(TRAP)
    result = beam_search("p", proposer, trap_score, SearchSettings(2, 2, 4, "last"))
    assert [p.steps for p in result.paths] == [["a", "a_end"], ["a", "a_end"]]
    assert result.tokens == (5 + 6) + 2 * 7


def test_dvts_chooses_the_first_step_with_the_verifier_and_returns_n_leaves():
    proposer = FakeProposer(TRAP)
    result = dvts("p", proposer, trap_score, SearchSettings(4, 2, 4, "last"))
    assert [p.steps for p in result.paths] == [["a", "a_end"]] * 4  # both subtrees keep "a" (0.9 > 0.4)
    assert proposer.asked == [2, 2, 2, 2]
    assert result.tokens == 2 * (5 + 6) + 4 * 7


def test_dvts_best_leaves_variant_returns_one_path_per_subtree():
    result = dvts("p", FakeProposer(TREE), fake_score, SearchSettings(4, 2, 5, "last", dvts_leaves="best"))
    assert len(result.paths) == 2 and all(p.finished for p in result.paths)


# "s" ends at once with a low score; "l" goes on for two more steps.
EARLY = {
    (): [("s", 1, True), ("l", 1, False)],
    ("l",): [("l2", 1, False)],
    ("l", "l2"): [("l3", 1, True)],
}
EARLY_SCORES = {"s": 0.1, "l": 0.9, "l2": 0.9, "l3": 0.9}


def early_score(prompt, step_lists):
    return [[EARLY_SCORES[s] for s in steps] for steps in step_lists]


@pytest.mark.parametrize("refill, asked", [(True, [4] + [1] * 8), (False, [4] + [1] * 4)])
def test_beam_search_refills_to_n_beams_after_some_finish(refill, asked):
    proposer = FakeProposer(EARLY)
    result = beam_search("p", proposer, early_score, SearchSettings(4, 1, 5, "last", refill=refill))
    assert proposer.asked == asked
    assert all(p.finished for p in result.paths) and result.best.steps == ["l", "l2", "l3"]


def test_a_finished_path_ranks_before_a_better_scored_unfinished_one():
    result = beam_search("p", FakeProposer(EARLY), early_score, SearchSettings(2, 2, 1, "last"))
    assert result.best.steps == ["s"] and result.best.finished
    assert [p.finished for p in result.paths] == [True, False]


def test_max_steps_returns_unfinished_paths_with_their_tokens():
    result = beam_search("p", FakeProposer(TREE), fake_score, SearchSettings(3, 1, 2, "last"))
    assert len(result.paths) == 3 and not any(p.finished for p in result.paths)
    assert result.tokens == 33 + 63


@pytest.mark.parametrize(
    "n_beams, beam_width, max_steps, aggregation, leaves",
    [(3, 2, 2, "last", "all"), (2, 2, 0, "last", "all"), (2, 1, 2, "mean", "all"), (2, 1, 2, "last", "some")],
)
def test_invalid_settings_are_rejected(n_beams, beam_width, max_steps, aggregation, leaves):
    with pytest.raises(ValueError):
        SearchSettings(n_beams, beam_width, max_steps, aggregation, dvts_leaves=leaves)


@pytest.mark.parametrize("method", [beam_search, dvts])
def test_a_search_without_proposals_returns_no_paths(method):
    result = method("q", lambda prompt, steps, n: [], fake_score, SearchSettings(4, 2, 3))
    assert result.paths == [] and result.tokens == 0


def test_split_steps():
    assert split_steps("a\n\nb\n\n\n\nc\n") == ["a", "b", "c"]
