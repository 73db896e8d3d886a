"""Summaries of a policy at one budget H: performance with CIs, heterogeneity, anti-concentration.

Everything takes the returns array [prompts, samples] (and solve times of the same shape), so the
procedural base, the LM base and every arm are summarised by the same code.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from vbvf.stats.bootstrap import mean_ci
from vbvf.stats.heterogeneity import anti_concentration, heterogeneity
from vbvf.stats.returns import bilevel_return, success

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)


def performance(
    solve_time: np.ndarray, horizon: int, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> dict:
    """J_H raw and normalised, success rate and mean T over solved traces, with CIs over prompts."""
    returns = bilevel_return(solve_time, horizon)
    solved = solve_time <= horizon
    per_prompt = returns.mean(axis=1)
    ci = dict(confidence=confidence, n_resamples=n_resamples, seed=seed)
    solved_times = np.where(solved, solve_time, 0).sum(axis=1) / np.maximum(solved.sum(axis=1), 1)
    has_solved = solved.any(axis=1)
    return {
        "J": mean_ci(per_prompt, **ci).to_dict(),
        "J_norm": mean_ci(per_prompt / horizon, **ci).to_dict(),
        "success": mean_ci(success(solve_time, horizon).mean(axis=1), **ci).to_dict(),
        "mean_T_solved": mean_ci(solved_times[has_solved], **ci).to_dict() if has_solved.any() else None,
        "per_prompt_return": per_prompt.tolist(),
        "per_prompt_success": solved.mean(axis=1).tolist(),
    }


def heterogeneity_summary(returns: np.ndarray, horizon: int) -> dict:
    """Median σ_x, mean σ²_x, σ_x/H and quantiles of σ_x over prompts, plus the per-prompt σ_x."""
    sigma = np.sqrt(heterogeneity(returns))
    return {
        "median_sigma": float(np.median(sigma)),
        "mean_var": float(np.mean(sigma**2)),
        "median_sigma_over_H": float(np.median(sigma) / horizon),
        "sigma_quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(sigma, QUANTILES))},
        "per_prompt_sigma": sigma.tolist(),
    }


def anti_concentration_summary(returns: np.ndarray, eps_grid: Sequence[float], c0: float) -> dict:
    """For each ε: min and lower quantiles of c_x(ε), share with c_x(ε) ≥ c₀, degenerate count."""
    out = {}
    for eps in eps_grid:
        ac = anti_concentration(returns, eps)
        valid = ac.valid
        out[str(eps)] = {
            "n_degenerate": int(ac.degenerate.sum()),
            "n_valid": int(valid.size),
            "min": float(valid.min()) if valid.size else None,
            "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(valid, QUANTILES))}
            if valid.size
            else None,
            "share_ge_c0": float((valid >= c0).mean()) if valid.size else None,
            "c0": c0,
            "per_prompt": [None if np.isnan(v) else float(v) for v in ac.values],
        }
    return out


def policy_statistics(
    solve_time: np.ndarray, horizon: int, eps_grid: Sequence[float], c0: float,
    confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
) -> dict:
    """Everything reported for a (base) policy at budget H: performance, heterogeneity, anti-concentration."""
    returns = bilevel_return(solve_time, horizon)
    stats = performance(solve_time, horizon, confidence, n_resamples, seed)
    stats["heterogeneity"] = heterogeneity_summary(returns, horizon)
    stats["anti_concentration"] = anti_concentration_summary(returns, eps_grid, c0)
    return stats


def statistics_at(solve_time_at: Callable[[int], np.ndarray], horizons: Sequence[int], ev: Mapping, seed: int) -> dict:
    """``policy_statistics`` at each H, keyed by ``str(H)``: ``solve_time_at(H)`` gives the solve
    times [prompts, m] at budget H; ``ev`` holds ``eps``, ``c0``, ``confidence`` and ``n_bootstrap``."""
    return {str(h): policy_statistics(solve_time_at(h), h, list(ev["eps"]), ev["c0"], ev["confidence"], ev["n_bootstrap"], seed)
            for h in horizons}
