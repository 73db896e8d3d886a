"""Per-attempt grading of samples: T at the first correct attempt, final answers, budget cuts."""

import numpy as np

from vbvf.models.tiny_llama import build_tokenizer
from vbvf.tasks.math.samples import answered_within, final_correct_within, grade_by_attempt
from vbvf.policies.samplers import Completion
from vbvf.tasks.math import GradingPool
from vbvf.tasks.math.config import ATTEMPT_SEPARATOR as SEP


def _completion(text, tokenizer):
    return Completion(text, len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1, "eos")


def test_attempts_are_graded_one_by_one_and_cut_at_the_budget():
    tokenizer = build_tokenizer()
    wrong, right = r"So $x = \boxed{3}$.", r"Hence $x = \boxed{6}$."
    texts = [SEP.join([wrong, right]), SEP.join([right, wrong]), wrong, "no answer at all"]
    samples = [[_completion(t, tokenizer) for t in texts]]
    with GradingPool(workers=1, timeout_s=5) as pool:
        graded = grade_by_attempt(["6"], samples, SEP, tokenizer, pool)
        first_end = max(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in (wrong, right))
        assert graded.attempt_correct[0] == [[False, True], [True, False], [False], [False]]
        assert graded.solved_at[0, 0] == samples[0][0].n_tokens  # solved at the end of the trace
        assert graded.solved_at[0, 1] == len(tokenizer(right, add_special_tokens=False)["input_ids"])
        assert np.isinf(graded.solved_at[0, 2:]).all()
        # the final answer is the last attempt's: right, wrong, wrong, none
        assert graded.final_correct[0].tolist() == [True, False, False, False]
        assert graded.final_answers[0] == ["6", "3", "3", None]
        within = final_correct_within(["6"], graded, [first_end, 10_000], tokenizer, pool)
        assert within[first_end][0].tolist() == [False, True, False, False]  # cut after the first attempt
        assert within[10_000][0].tolist() == [True, False, False, False]
        answered = answered_within(graded, [3, first_end, 10_000], tokenizer)
        assert answered[3][0].tolist() == [False, False, False, False]  # no box closes within 3 tokens
        assert answered[first_end][0].tolist() == [True, True, True, False]
        assert answered[10_000][0].tolist() == [True, True, True, False]
    pools = graded.pools(["ref"])
    assert sorted(pools[0].right) == [right, right] and len(pools[0].wrong) == 4
