"""Multi-attempt traces: splitting, T at the first correct attempt, and the stitching builder."""

import numpy as np
import pytest
from scipy import stats

from vbvf.models.tiny_llama import build_tokenizer
from vbvf.tasks.math import grade_batch
from vbvf.tasks.math.attempts import (
    AttemptPool,
    attempt_end_tokens,
    build_stitched,
    first_correct_end,
    split_attempts,
    wrong_count_probabilities,
)
from vbvf.tasks.math.config import ATTEMPT_SEPARATOR as SEP
from vbvf.tasks.math.config import WrongAttemptsConfig

GOLD = "6"
RIGHT = [r"The area is $\frac{1}{2} \cdot 3 \cdot 4$, so $\boxed{6}$.", r"$2 \cdot 3 = \boxed{6}$"]
WRONG = [rf"So the answer is $\boxed{{{k}}}$." for k in (1, 2, 3, 4, 5, 7, 8, 9)] + ["I am not sure."]


def test_split_attempts_round_trips_a_stitched_trace():
    trace = SEP.join(["a", "b", "c"])
    assert split_attempts(trace, SEP) == ["a", "b", "c"]
    assert split_attempts("one attempt", SEP) == ["one attempt"]


def test_attempt_ends_count_tokens_through_each_attempt():
    tokenizer = build_tokenizer()
    attempts = [WRONG[0], RIGHT[0]]
    text = SEP.join(attempts)
    n_tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1  # + eos
    ends = attempt_end_tokens(text, SEP, tokenizer, n_tokens)
    assert ends[0] == len(tokenizer(attempts[0], add_special_tokens=False)["input_ids"])
    assert ends[-1] == n_tokens and ends[0] < ends[1]
    assert first_correct_end([False, True], ends) == n_tokens
    assert first_correct_end([True, True], ends) == ends[0]
    assert first_correct_end([False, False], ends) == np.inf


@pytest.mark.parametrize("max_wrong", [0, 1, 3])
def test_every_stitched_trace_has_exactly_j_wrong_attempts_then_a_right_one(max_wrong):
    pools = [AttemptPool(list(RIGHT), list(WRONG), reference=r"$\boxed{6}$") for _ in range(12)]
    report = build_stitched(pools, WrongAttemptsConfig(max_wrong=max_wrong), SEP, "sampled", seed=3, key="vf.stitch")
    assert len(report.traces) == 12
    split = [split_attempts(trace.text, SEP) for trace in report.traces]
    verdicts = iter(grade_batch([(GOLD, a) for attempts in split for a in attempts]))  # one pool for every attempt
    for trace, attempts in zip(report.traces, split):
        assert len(attempts) == trace.n_wrong + 1 and 0 <= trace.n_wrong <= max_wrong
        assert [next(verdicts) for _ in attempts] == [False] * trace.n_wrong + [True]
        assert len(set(attempts[:-1])) == trace.n_wrong  # distinct wrong samples, never repeats
    assert {t.n_wrong for t in report.traces} == set(range(max_wrong + 1))


def test_attempt_counts_follow_the_configured_distribution():
    weights = [0.5, 0.3, 0.15, 0.05]
    pools = [AttemptPool(list(RIGHT), list(WRONG), "r") for _ in range(3000)]
    report = build_stitched(pools, WrongAttemptsConfig(max_wrong=3, weights=weights), SEP, "sampled", seed=0, key="k")
    counts = report.summary(3)["j_counts"]
    assert sum(counts) == 3000
    assert stats.chisquare(counts, np.array(weights) * 3000).pvalue > 1e-3
    uniform = build_stitched(pools, WrongAttemptsConfig(max_wrong=2), SEP, "sampled", seed=0, key="k").summary(2)["j_counts"]
    assert stats.chisquare(uniform).pvalue > 1e-3


def test_right_attempt_sources_and_drops_are_counted():
    no_right = AttemptPool([], list(WRONG), reference=r"$\boxed{6}$")
    few_wrong = AttemptPool(list(RIGHT), [WRONG[0]], reference="r")
    cfg = WrongAttemptsConfig(max_wrong=2, weights=[0, 0, 1])  # always j = 2
    sampled = build_stitched([no_right, few_wrong], cfg, SEP, "sampled", 0, "k").summary(2)
    assert sampled["traces"] == 0 and sampled["dropped_no_right_attempt"] == 1 and sampled["dropped_too_few_wrong"] == 1
    fallback = build_stitched([no_right], cfg, SEP, "sampled_or_reference", 0, "k")
    assert fallback.traces[0].right_from_reference and split_attempts(fallback.traces[0].text, SEP)[-1] == r"$\boxed{6}$"
    reference = build_stitched([AttemptPool(list(RIGHT), list(WRONG), "ref")], cfg, SEP, "reference", 0, "k")
    assert split_attempts(reference.traces[0].text, SEP)[-1] == "ref"
    with pytest.raises(ValueError, match="attempts.correct_source"):
        build_stitched([no_right], cfg, SEP, "gold", 0, "k")


def test_bad_wrong_attempt_weights_name_the_key():
    with pytest.raises(ValueError, match=r"heterogeneity.wrong.weights must be max_wrong \+ 1 = 3"):
        wrong_count_probabilities(WrongAttemptsConfig(max_wrong=2, weights=[1.0]), "heterogeneity.wrong")
    with pytest.raises(ValueError, match="vf.stitch.max_wrong"):
        wrong_count_probabilities(WrongAttemptsConfig(max_wrong=-1), "vf.stitch")
    assert wrong_count_probabilities(WrongAttemptsConfig(max_wrong=1, weights=[1, 3]), "k").tolist() == [0.25, 0.75]
