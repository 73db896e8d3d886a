"""Fidelity of an LM base to the procedural mixture it was trained on (SPEC §3: the base must be faithful).

The heterogeneity knob acts only through the base, so every LM-base run compares it with the
exact mixture on the same test prompts, at every H: J_H/H, success, median σ_x and c_x(ε), plus
the held-out NLL gap to the mixture's Bayes predictive recorded by base training. A base that
misses the NLL target or the J_H/H tolerance is flagged in words, in results.json and the terminal.
"""

from __future__ import annotations

import numpy as np

from vbvf.stats.bootstrap import paired_difference_ci


def _median_c(stats: dict, eps: str) -> float | None:
    values = [v for v in stats["anti_concentration"][eps]["per_prompt"] if v is not None]
    return float(np.median(values)) if values else None


def _pair(lm: float | None, procedural: float | None) -> dict:
    diff = None if lm is None or procedural is None else lm - procedural
    return {"lm": lm, "procedural": procedural, "diff": diff}


def _paired(lm: dict, procedural: dict, key: str, per_prompt: str, scale: float = 1.0) -> dict:
    """LM, procedural and their difference, with a 95% CI of the difference from a bootstrap over the shared
    test prompts (each prompt's LM minus procedural mean over its samples, so sampling noise is inside)."""
    pair = _pair(lm[key]["value"], procedural[key]["value"])
    diff = paired_difference_ci(np.asarray(lm[per_prompt]) / scale, np.asarray(procedural[per_prompt]) / scale)
    pair["diff_ci"] = {"low": diff.low, "high": diff.high, "resamples": "test prompts (paired)"}
    return pair


def fidelity_report(lm_stats: dict, procedural_stats: dict, base_fit: dict | None, tolerance: float) -> dict:
    """Per-H comparison of the LM base with the procedural mixture, the NLL gap, and a verdict with reasons."""
    per_h = {}
    for horizon, lm in lm_stats.items():
        pr = procedural_stats[horizon]
        per_h[horizon] = {
            "J_norm": _paired(lm, pr, "J_norm", "per_prompt_return", scale=float(horizon)),
            "success": _paired(lm, pr, "success", "per_prompt_success"),
            "median_sigma": _pair(lm["heterogeneity"]["median_sigma"], pr["heterogeneity"]["median_sigma"]),
            "median_c": {eps: _pair(_median_c(lm, eps), _median_c(pr, eps)) for eps in lm["anti_concentration"]},
        }
    worst_h, worst = max(((h, abs(row["J_norm"]["diff"])) for h, row in per_h.items()), key=lambda item: item[1])
    warnings = []
    if worst > tolerance:
        warnings.append(f"base LM is NOT faithful to its mixture: |J_H/H(LM) - J_H/H(procedural)| = {worst:.3f} at H={worst_h} "
                        f"exceeds base_lm.fidelity_tolerance={tolerance}; its heterogeneity is not the preset's")
    nll = None
    if base_fit is not None:
        best = base_fit["best"]
        nll = {"heldout_gap": best["value"], "at_step": best["step"], "steps_run": base_fit["steps_run"],
               "target": base_fit["target"], "reached_target": base_fit["reached_target"],
               "stop_reason": base_fit["stop_reason"], "bayes_nll": base_fit["bayes_nll_heldout"],
               "test_prompts": base_fit["test_prompts"]}
        if not base_fit["reached_target"]:
            warnings.append(f"base LM missed its NLL target: held-out gap to the Bayes predictive {best['value']:.3f} > "
                            f"base_lm.target_nll_gap={base_fit['target']} nats/token after {base_fit['steps_run']} steps "
                            f"(stopped: {base_fit['stop_reason']})")
    return {"per_horizon": per_h, "max_abs_J_norm_diff": worst, "worst_horizon": int(worst_h), "tolerance": tolerance,
            "faithful": worst <= tolerance, "nll": nll, "warnings": warnings}
