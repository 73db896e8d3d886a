"""Terminal tables of a MATH-arms run: the base's statistics, both arms at matched tokens, and whether each trained stage fit its data."""

from __future__ import annotations

from rich.table import Table

from vbvf.pipeline.report import base_table, ci_text, wide_console


def _accuracy(stats: dict) -> str:
    return f"{stats['accuracy']:.3f} [{stats['ci'][0]:.3f}, {stats['ci'][1]:.3f}]"


def arms_table(results: dict) -> Table:
    """One row per matched budget H = N·h: VF accuracy and J_H/H, each VB method's accuracy, gaps."""
    vf, gaps = results["arms"]["vf"], results["gaps"]
    vb = {name: per_h for name, per_h in results["arms"].items() if name != "vf"}
    table = Table(title=f"MATH arms at matched tokens (base {results['level']}): accuracy [95% CI]; Δ = VB − VF")
    short = {"majority_vote": "maj", "weighted_best_of_n": "wBoN", "best_of_n": "BoN", "pass_at_n": "pass@N"}
    for col in ("H = N·h", "N", "VF acc", "VF J_H/H", "VF tokens", *(short.get(m, m) for m in vb), *(f"Δ {short.get(m, m)}" for m in gaps)):
        table.add_column(col, justify="right")
    for horizon, stats in vf.items():
        n = next(iter(vb.values()))[horizon]["N"]
        table.add_row(
            horizon, str(n), _accuracy(stats), ci_text(stats["J_norm"], 3), f"{stats['tokens_mean']:.0f}",
            *(_accuracy(per_h[horizon]) for per_h in vb.values()),
            *(ci_text(per_h[horizon], 3) for per_h in gaps.values()),
        )
    return table


def print_math_arms(results: dict) -> None:
    console = wide_console()
    console.print(base_table(results["base_stats"], f"base π_b ({results['level']}) on test problems (config {results['config_hash']})"))
    console.print(arms_table(results))
    console.print(fit_table(results["training"]))
    for warning in results["training_warnings"]:
        console.print(f"[bold red]warning:[/] {warning}")


def fit_table(training: dict) -> Table:
    """One row per trained stage: its loss on its own training set before → after, and for the
    verifier its AUROC and the label prior's BCE; ``fit`` as ``fit_check`` judges it."""
    table = Table(title="trained stages on their own training data (fit_check)")
    for col in ("stage", "steps", "examples", "loss before → after", "AUROC", "prior BCE", "fit"):
        table.add_column(col, justify="right")
    for stage, entry in training.items():
        if entry["fit"] is None:
            table.add_row(stage, *[""] * 5, "no record")
            continue
        auroc, prior = entry.get("auroc"), entry.get("constant_bce")
        table.add_row(stage, str(entry["steps"]), str(entry["examples"]), f"{entry['loss_before']:.3f} → {entry['loss_after']:.3f}",
                      "" if auroc is None else f"{auroc:.3f}", "" if prior is None else f"{prior:.3f}", "yes" if entry["fit"] else "NO")
    return table
