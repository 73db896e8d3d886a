"""MATH task: data, prompts and the solution format, answer extraction and grading, graded samples,
trace statistics. The methods that select or search among samples are arms (``vbvf/arms/``)."""

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
from vbvf.tasks.math.prompts import STEP_BY_STEP, STEP_SEPARATOR, build_prompt, prompt_token_ids, split_steps
from vbvf.tasks.math.traces import solve_times

__all__ = [
    "GradingPool",
    "Problem",
    "ProblemFileError",
    "STEP_BY_STEP",
    "STEP_SEPARATOR",
    "answer_key",
    "answers_match",
    "build_prompt",
    "extract_answer",
    "grade",
    "grade_batch",
    "load_hub",
    "load_problems",
    "prompt_token_ids",
    "read_jsonl",
    "select",
    "solve_times",
    "split_steps",
]
