import pytest

from vbvf.tasks.math.search import (
    Proposal,
    SearchSettings,
    aggregate,
    beam_search,
    dvts,
    split_steps,
)

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
    """Cycles through a node's children; counts calls."""

    def __init__(self, tree):
        self.tree, self.calls = tree, 0

    def __call__(self, prompt, steps, n):
        self.calls += 1
        children = self.tree[tuple(steps)]
        return [Proposal(*children[i % len(children)]) for i in range(n)]


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


def test_dvts_keeps_diverse_subtrees():
    result = dvts("p", FakeProposer(TRAP), trap_score, SearchSettings(4, 2, 4, "last"))
    assert [p.steps for p in result.paths] == [["b", "b_end"], ["a", "a_end"]]
    assert result.tokens == (5 + 6) + 2 * 7 + 2 * 8


def test_max_steps_returns_unfinished_paths_with_their_tokens():
    result = beam_search("p", FakeProposer(TREE), fake_score, SearchSettings(3, 1, 2, "last"))
    assert len(result.paths) == 3 and not any(p.finished for p in result.paths)
    assert result.tokens == 33 + 63


@pytest.mark.parametrize("n_beams, beam_width, max_steps, aggregation", [(3, 2, 2, "last"), (2, 2, 0, "last"), (2, 1, 2, "mean")])
def test_invalid_settings_are_rejected(n_beams, beam_width, max_steps, aggregation):
    with pytest.raises(ValueError):
        SearchSettings(n_beams, beam_width, max_steps, aggregation)


def test_split_steps():
    assert split_steps("a\n\nb\n\n\n\nc\n") == ["a", "b", "c"]
