"""MATH testbed: data, prompts, answer extraction and grading, selection, search, trace statistics."""

from vbvf.tasks.math.answers import answer_key, extract_answer
from vbvf.tasks.math.data import (
    Problem,
    ProblemFileError,
    load_hub,
    load_problems,
    read_jsonl,
    select,
)
from vbvf.tasks.math.grading import GradingPool, answers_match, grade, grade_batch
from vbvf.tasks.math.prompts import STEP_BY_STEP, build_prompt, prompt_token_ids
from vbvf.tasks.math.search import (
    AGGREGATIONS,
    Path,
    Proposal,
    SearchResult,
    SearchSettings,
    aggregate,
    beam_search,
    dvts,
    split_steps,
)
from vbvf.tasks.math.traces import solve_times
from vbvf.tasks.math.voting import (
    AnswerGroup,
    MemoMatch,
    best_of_n,
    group_answers,
    majority_vote,
    pass_at_n,
    weighted_best_of_n,
)

__all__ = [
    "AGGREGATIONS",
    "AnswerGroup",
    "GradingPool",
    "MemoMatch",
    "Path",
    "Problem",
    "ProblemFileError",
    "Proposal",
    "STEP_BY_STEP",
    "SearchResult",
    "SearchSettings",
    "aggregate",
    "answer_key",
    "answers_match",
    "beam_search",
    "best_of_n",
    "build_prompt",
    "dvts",
    "extract_answer",
    "grade",
    "grade_batch",
    "group_answers",
    "load_hub",
    "load_problems",
    "majority_vote",
    "pass_at_n",
    "prompt_token_ids",
    "read_jsonl",
    "select",
    "solve_times",
    "split_steps",
    "weighted_best_of_n",
]
