"""Statistics of a MATH-arms run: matched budgets, answer rates, VF and base statistics per H, gaps."""

from __future__ import annotations

import numpy as np

from vbvf.stats import mean_ci, paired_difference_ci, performance, statistics_at
from vbvf.tasks.math import answer_key, solve_times
from vbvf.tasks.math.samples import GradedSamples, answered_within, final_correct_within


def answer_rate(answers: list[list[str | None]]) -> float:
    """Share of samples with a boxed answer."""
    flat = [a for row in answers for a in row]
    return sum(a is not None for a in flat) / max(1, len(flat))


def problem_levels(problems) -> np.ndarray:
    """Each problem's level (MATH's or the ladder's 1–5; 0 where a problem has none), as stored in graded.npz."""
    return np.array([p.level or 0 for p in problems])


def by_level(levels: np.ndarray, correct: np.ndarray, answers: list[list[str | None]], base_stats: dict,
             cfg: dict, seed: int) -> dict:
    """The base per problem level (``problem_levels``; "0" where a problem has none), keyed by
    str(level): problems; sample accuracy (per problem the share of its samples whose final answer is
    right, averaged over the level's problems, with a bootstrap CI) and answer rate over all its
    samples; and, at the largest H of ``base_stats`` (``statistics_at``'s output, its per-prompt
    arrays): H, the share of budget-H traces solved, median σ_x, the share of prompts with σ_x = 0, and per ε the median c_x(ε)
    over the rest (None when every prompt of the level is degenerate)."""
    ev = cfg["eval"]
    horizon = max(base_stats, key=int)
    stats = base_stats[horizon]
    sigma = np.asarray(stats["heterogeneity"]["per_prompt_sigma"])
    solved = np.asarray(stats["per_prompt_success"])
    out = {}
    for level in sorted(set(levels.tolist())):
        rows = np.flatnonzero(levels == level)
        acc = mean_ci(correct[rows].mean(axis=1), ev["confidence"], ev["n_bootstrap"], seed)
        c_x = {}
        for eps, ac in stats["anti_concentration"].items():
            valid = [ac["per_prompt"][i] for i in rows if ac["per_prompt"][i] is not None]
            c_x[eps] = float(np.median(valid)) if valid else None
        out[str(level)] = {
            "problems": int(rows.size), "sample_accuracy": acc.value, "ci": [acc.low, acc.high],
            "answer_rate": answer_rate([answers[i] for i in rows]), "H": int(horizon),
            "success": float(solved[rows].mean()), "median_sigma": float(np.median(sigma[rows])),
            "degenerate_share": float((sigma[rows] == 0).mean()), "median_c_x": c_x,
        }
    return out


def answer_keys(answers: list[list[str | None]]) -> np.ndarray:
    """Canonical keys of the answers ("" for none), stored so selection can be redone offline (``analysis/``)."""
    return np.array([[answer_key(a) if a is not None else "" for a in row] for row in answers], dtype=str)


def horizons(cfg: dict) -> list[int]:
    """Matched budgets H = N·h for each N of the grid (h = sampling.max_tokens)."""
    return [n * cfg["sampling"]["max_tokens"] for n in cfg["selection"]["n_grid"]]


def vf_statistics(golds, graded: GradedSamples, tokenizer, pool, cfg: dict, seed: int) -> dict:
    """Per H: final-answer accuracy, answer rate and bi-level return (T = end of the first correct attempt) of
    VF traces of at most H tokens, tokens generated, and the per-problem accuracy for gaps."""
    ev = cfg["eval"]
    out = {}
    answered = answered_within(graded, horizons(cfg), tokenizer)
    for horizon, correct in final_correct_within(golds, graded, horizons(cfg), tokenizer, pool).items():
        per_problem = correct.mean(axis=1)
        acc = mean_ci(per_problem, ev["confidence"], ev["n_bootstrap"], seed)
        stats = performance(graded.solved_at, horizon, ev["confidence"], ev["n_bootstrap"], seed)
        out[str(horizon)] = stats | {
            "accuracy": acc.value, "ci": [acc.low, acc.high], "n": acc.n, "answer_rate": float(answered[horizon].mean()),
            "tokens_mean": float(np.minimum(graded.tokens, horizon).mean()),
            "per_problem_accuracy": per_problem.tolist(),
        }
    return out


def base_statistics(graded: GradedSamples, cfg: dict, seed: int) -> dict:
    """σ_x, c_x(ε) and J_H of π_b at each matched H, from budget-H traces of its first m samples."""
    m = cfg["eval"]["samples_per_prompt"]
    tokens, solved_at = graded.tokens[:, :m], graded.solved_at[:, :m]
    return statistics_at(lambda h: solve_times(tokens, np.isfinite(solved_at), h, n_traces=m, seed=seed, solved_at=solved_at),
                         horizons(cfg), cfg["eval"], seed)


def gaps(vb_correct: dict, vf: dict, cfg: dict, seed: int) -> dict:
    """Δ(H) = accuracy(VB method at N) − accuracy(VF at H = N·h), paired over problems, with CIs, for
    each method of ``vb_correct`` (the arms whose role is ``vb``: ``results['arm_roles']``)."""
    ev = cfg["eval"]
    out = {}
    for method, per_n in vb_correct.items():
        out[method] = {}
        for n, horizon in zip(cfg["selection"]["n_grid"], horizons(cfg)):
            est = paired_difference_ci(np.asarray(per_n[n], dtype=float), np.asarray(vf[str(horizon)]["per_problem_accuracy"]),
                                       ev["confidence"], ev["n_bootstrap"], seed)
            out[method][str(horizon)] = est.to_dict()
    return out
