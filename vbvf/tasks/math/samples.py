"""Samples of a model on MATH problems, graded attempt by attempt.

Every sample is split into attempts at ``attempts.separator``; each attempt is graded on its own
last box. From that come T within the sample (the end of its first correct attempt), the final
answer (the last attempt that has one) and, for truncated budgets, the final answer within the
first H tokens. Grading goes through one ``GradingPool``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from vbvf.tasks.math import GradingPool, extract_answer
from vbvf.tasks.math.attempts import AttemptPool, attempt_end_tokens, first_correct_end, split_attempts

if TYPE_CHECKING:
    from vbvf.policies.protocols import OutcomeScorer


@dataclass
class Graded:
    """Per problem and sample: extracted answer, correctness, generated tokens, verifier score."""

    answers: list[list[str | None]]
    correct: np.ndarray  # [problems, n] bool
    tokens: np.ndarray  # [problems, n] int
    scores: np.ndarray | None  # [problems, n] float, None without a verifier


@dataclass
class GradedSamples:
    """Samples [problems, n] of one model with per-attempt grades."""

    texts: list[list[str]]
    tokens: np.ndarray  # generated tokens (EOS included)
    attempts: list[list[list[str]]]  # [problem][sample] -> attempts
    attempt_correct: list[list[list[bool]]]
    solved_at: np.ndarray  # float: tokens to the end of the first correct attempt, inf when none

    @cached_property
    def final_answers(self) -> list[list[str | None]]:
        """The answer of each sample: that of its last attempt with a box."""
        return [[_last_answer(attempts) for attempts in row] for row in self.attempts]

    @cached_property
    def final_correct(self) -> np.ndarray:
        """Is the final answer right (the last attempt with a box is graded correct)?"""
        out = np.zeros(self.tokens.shape, dtype=bool)
        for x, row in enumerate(self.attempts):
            for s, attempts in enumerate(row):
                boxed = [i for i, a in enumerate(attempts) if extract_answer(a) is not None]
                out[x, s] = bool(boxed) and self.attempt_correct[x][s][boxed[-1]]
        return out

    def graded(self, scores: np.ndarray | None = None) -> Graded:
        """The selection methods' view: final answers, their correctness, tokens, verifier scores."""
        return Graded(answers=self.final_answers, correct=self.final_correct, tokens=self.tokens, scores=scores)

    def pools(self, references: list[str]) -> list[AttemptPool]:
        """Per problem, its right and wrong attempts (attempts without a box count as wrong)."""
        pools = []
        for row, grades, reference in zip(self.attempts, self.attempt_correct, references):
            flat = [(a, ok) for attempts, oks in zip(row, grades) for a, ok in zip(attempts, oks) if a.strip()]
            pools.append(AttemptPool([a for a, ok in flat if ok], [a for a, ok in flat if not ok], reference))
        return pools


def grade_samples(problems, prompts, samples, pool: GradingPool, verifier: OutcomeScorer | None) -> Graded:
    """Extract, grade and (with a verifier) score every sample."""
    flat = [(p.answer, c.text) for p, completions in zip(problems, samples) for c in completions]
    shape = (len(samples), len(samples[0]))
    scores = None
    if verifier is not None:
        texts = [(prompt, c.text) for prompt, completions in zip(prompts, samples) for c in completions]
        scores = np.array(verifier.score_outcomes(*zip(*texts))).reshape(shape)
    return Graded(
        answers=[[extract_answer(c.text) for c in completions] for completions in samples],
        correct=np.array(pool.grade(flat), dtype=bool).reshape(shape),
        tokens=np.array([[c.n_tokens for c in completions] for completions in samples]).reshape(shape),
        scores=scores,
    )


def _last_answer(attempts: list[str]) -> str | None:
    return next((answer for a in reversed(attempts) if (answer := extract_answer(a)) is not None), None)


def grade_by_attempt(golds: list[str], samples, separator: str, tokenizer, pool: GradingPool) -> GradedSamples:
    """Split every completion into attempts, grade each, and locate the first correct one."""
    attempts = [[split_attempts(c.text, separator) for c in completions] for completions in samples]
    flat = [(gold, a) for gold, row in zip(golds, attempts) for sample in row for a in sample]
    verdicts = iter(pool.grade(flat))
    attempt_correct = [[[next(verdicts) for _ in sample] for sample in row] for row in attempts]
    tokens = np.array([[c.n_tokens for c in completions] for completions in samples], dtype=np.int64)
    solved_at = np.full(tokens.shape, np.inf)
    for x, completions in enumerate(samples):
        for s, c in enumerate(completions):
            if any(attempt_correct[x][s]):
                ends = attempt_end_tokens(c.text, separator, tokenizer, c.n_tokens)
                solved_at[x, s] = first_correct_end(attempt_correct[x][s], ends)
    return GradedSamples([[c.text for c in row] for row in samples], tokens, attempts, attempt_correct, solved_at)


def cut_within(graded: GradedSamples, horizons: list[int], tokenizer) -> dict[int, dict[tuple[int, int], str]]:
    """Per H, the samples longer than H cut to their first H tokens (re-encoded from the text,
    each sample encoded once): {(problem, sample): text}, in row-major order."""
    ids: dict[tuple[int, int], list[int]] = {}
    out = {}
    for horizon in horizons:
        cut = {}
        for x, s in zip(*np.nonzero(graded.tokens > horizon)):
            key = (int(x), int(s))
            if key not in ids:
                ids[key] = tokenizer(graded.texts[x][s], add_special_tokens=False)["input_ids"]
            cut[key] = tokenizer.decode(ids[key][:horizon])
        out[horizon] = cut
    return out


def final_correct_within(
    golds: list[str], graded: GradedSamples, horizons: list[int], tokenizer, pool: GradingPool
) -> dict[int, np.ndarray]:
    """Per H: is the final answer within the first H generated tokens right? [problems, n] bools.

    A sample that ended within H keeps its final answer; a longer one is cut to its first H
    tokens (:func:`cut_within`) and graded on the last box of what remains.
    """
    out = {}
    for horizon, cut in cut_within(graded, horizons, tokenizer).items():
        verdicts = pool.grade([(golds[x], text) for (x, _), text in cut.items()])
        correct = graded.final_correct.copy()
        for (x, s), ok in zip(cut, verdicts):
            correct[x, s] = ok
        out[horizon] = correct
    return out


def answered_within(graded: GradedSamples, horizons: list[int], tokenizer) -> dict[int, np.ndarray]:
    """Per H: does the sample hold a boxed answer within its first H generated tokens? [problems, n] bools."""
    full = np.array([[answer is not None for answer in row] for row in graded.final_answers], dtype=bool).reshape(graded.tokens.shape)
    out = {}
    for horizon, cut in cut_within(graded, horizons, tokenizer).items():
        answered = full.copy()
        for (x, s), text in cut.items():
            answered[x, s] = extract_answer(text) is not None
        out[horizon] = answered
    return out
