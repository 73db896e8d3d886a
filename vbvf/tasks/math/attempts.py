"""Multi-attempt traces on MATH: split a trace into attempts, find T, and stitch new traces.

A trace is attempts joined by ``attempts.separator``. Each attempt is graded on its own (its last
``\\boxed{}``); T is the token count at the end of the first correct attempt (separators before
it included), ∞ when no attempt is correct. Stitched traces (the heterogeneity SFT data and the
VF arm's data) are j wrong attempts then one right one, j drawn from a configured distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbvf.tasks.math.config import CORRECT_SOURCES, WrongAttemptsConfig


def split_attempts(text: str, separator: str) -> list[str]:
    """The attempts of a trace, in order (a trace without a separator is one attempt)."""
    return text.split(separator)


def attempt_end_tokens(text: str, separator: str, tokenizer, n_tokens: int) -> list[int]:
    """Token count at the end of each attempt (separators before it included).

    Counts come from re-encoding the text prefix, which can differ from the generated ids by a
    token at a merge boundary; the last attempt ends at ``n_tokens``, the count generated.
    """
    attempts = split_attempts(text, separator)
    ends, offset = [], 0
    for attempt in attempts[:-1]:
        offset += len(attempt)
        ends.append(min(len(tokenizer(text[:offset], add_special_tokens=False)["input_ids"]), n_tokens))
        offset += len(separator)
    return ends + [n_tokens]


def first_correct_end(attempt_correct: list[bool], ends: list[int]) -> float:
    """T of one trace: the end of its first correct attempt, ∞ when none is correct."""
    return next((float(end) for ok, end in zip(attempt_correct, ends) if ok), float("inf"))


def wrong_count_probabilities(cfg: WrongAttemptsConfig, key: str) -> np.ndarray:
    """P(j) for j = 0..max_wrong; ``key`` names the config section in errors."""
    if cfg.max_wrong < 0:
        raise ValueError(f"{key}.max_wrong must be ≥ 0, got {cfg.max_wrong}")
    if not cfg.weights:
        return np.full(cfg.max_wrong + 1, 1.0 / (cfg.max_wrong + 1))
    weights = np.asarray(cfg.weights, dtype=float)
    if len(weights) != cfg.max_wrong + 1 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(
            f"{key}.weights must be max_wrong + 1 = {cfg.max_wrong + 1} non-negative numbers with a "
            f"positive sum (P(j) for j = 0..max_wrong), got {list(cfg.weights)}"
        )
    return weights / weights.sum()


@dataclass
class AttemptPool:
    """One problem's graded attempts, and its reference solution (a right attempt if allowed)."""

    right: list[str]
    wrong: list[str]
    reference: str


@dataclass
class StitchedTrace:
    """A stitched completion for problem ``problem``: ``n_wrong`` wrong attempts, then a right one."""

    problem: int
    text: str
    n_wrong: int
    right_from_reference: bool


@dataclass
class StitchReport:
    """What the builder kept and dropped, and the realised distribution of j."""

    traces: list[StitchedTrace]
    no_right_attempt: int  # problems without a right attempt under correct_source
    too_few_wrong: int  # problems dropped because the drawn j exceeded their wrong attempts

    def summary(self, max_wrong: int) -> dict:
        counts = np.bincount([t.n_wrong for t in self.traces], minlength=max_wrong + 1)
        return {
            "traces": len(self.traces),
            "j_counts": counts.tolist(),
            "right_from_reference": sum(t.right_from_reference for t in self.traces),
            "dropped_no_right_attempt": self.no_right_attempt,
            "dropped_too_few_wrong": self.too_few_wrong,
        }


def stitch(wrong: list[str], right: str, separator: str) -> str:
    """Wrong attempts, then the right one, joined by the separator."""
    return separator.join([*wrong, right])


def build_stitched(
    pools: list[AttemptPool], cfg: WrongAttemptsConfig, separator: str, correct_source: str, seed: int, key: str
) -> StitchReport:
    """One stitched trace per problem: draw j ~ P(j), then j distinct wrong attempts and a right one.

    The right attempt is a sampled one (``sampled``), the reference solution (``reference``), or a
    sampled one when there is any, else the reference (``sampled_or_reference``). A problem whose
    drawn j exceeds its wrong attempts is dropped (and counted), never padded with repeats, so the
    wrong attempts of a trace are distinct samples; ``summary`` shows the j actually realised.
    """
    if correct_source not in CORRECT_SOURCES:
        raise ValueError(f"attempts.correct_source={correct_source!r}: expected one of {CORRECT_SOURCES}")
    probabilities = wrong_count_probabilities(cfg, key)
    rng = np.random.default_rng(seed)
    traces, no_right, too_few = [], 0, 0
    for index, pool in enumerate(pools):
        j = int(rng.choice(len(probabilities), p=probabilities))
        rights = [(r, False) for r in pool.right] if correct_source != "reference" else []
        if correct_source == "reference" or (correct_source == "sampled_or_reference" and not rights):
            rights = [(pool.reference, True)]
        if not rights:
            no_right += 1
            continue
        if j > len(pool.wrong):
            too_few += 1
            continue
        right, from_reference = rights[int(rng.integers(len(rights)))]
        wrong = [pool.wrong[i] for i in rng.choice(len(pool.wrong), size=j, replace=False)]
        traces.append(StitchedTrace(index, stitch(wrong, right, separator), j, from_reference))
    return StitchReport(traces, no_right, too_few)
