"""Terminal tables of a run's results (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def ci_text(est: dict | None, digits: int = 2) -> str:
    if est is None:
        return "-"
    return f"{est['value']:.{digits}f} [{est['low']:.{digits}f}, {est['high']:.{digits}f}]"


def base_table(base_stats: dict, title: str, eps: float = 0.5) -> Table:
    """One row per H: J_H, normalised J_H, success, mean T, σ summaries, anti-concentration at ε."""
    table = Table(title=title)
    for col in ("H", "J_H", "J_H/H", "success", "mean T | solved", "median σ", "σ/H", f"c({eps}) q10", "share c≥c0", "degenerate"):
        table.add_column(col, justify="right")
    for horizon, stats in base_stats.items():
        ac = stats["anti_concentration"][str(eps)]
        q10 = ac["quantiles"]["0.1"] if ac["quantiles"] else None
        table.add_row(
            horizon,
            ci_text(stats["J"]),
            ci_text(stats["J_norm"], 3),
            ci_text(stats["success"], 3),
            ci_text(stats["mean_T_solved"], 1),
            f"{stats['heterogeneity']['median_sigma']:.2f}",
            f"{stats['heterogeneity']['median_sigma_over_H']:.3f}",
            "-" if q10 is None else f"{q10:.3f}",
            "-" if ac["share_ge_c0"] is None else f"{ac['share_ge_c0']:.2f}",
            str(ac["n_degenerate"]),
        )
    return table


def wide_console() -> Console:
    return Console(width=max(Console().width, 190))


def fidelity_table(fidelity: dict, eps: str = "0.5") -> Table:
    """One row per H: the LM base beside the procedural mixture on J_H/H, success, median σ_x and median c_x(ε)."""
    nll = fidelity["nll"]
    title = (f"base fidelity: LM vs the procedural mixture (tolerance |ΔJ/H| ≤ {fidelity['tolerance']}: "
             f"{'faithful' if fidelity['faithful'] else 'NOT faithful'})")
    if nll is not None:
        title += (f"; held-out NLL gap to Bayes {nll['heldout_gap']:.3f} nats/token "
                  f"(target {nll['target']}, {'reached' if nll['reached_target'] else 'MISSED'}, {nll['steps_run']} steps)")
    table = Table(title=title)
    for col in ("H", "J/H LM", "J/H proc", "Δ J/H [95% CI]", "success LM", "success proc", "Δ success [95% CI]",
                "median σ LM", "median σ proc",
                f"median c({eps}) LM", f"median c({eps}) proc"):
        table.add_column(col, justify="right")

    def num(value, digits=3):
        return "-" if value is None else f"{value:.{digits}f}"

    def diff(pair):
        ci = pair.get("diff_ci")
        return num(pair["diff"]) + ("" if ci is None else f" [{ci['low']:.3f}, {ci['high']:.3f}]")

    for horizon, row in fidelity["per_horizon"].items():
        c = row["median_c"][eps]
        table.add_row(horizon, num(row["J_norm"]["lm"]), num(row["J_norm"]["procedural"]), diff(row["J_norm"]),
                      num(row["success"]["lm"]), num(row["success"]["procedural"]), diff(row["success"]),
                      num(row["median_sigma"]["lm"], 2), num(row["median_sigma"]["procedural"], 2), num(c["lm"]), num(c["procedural"]))
    return table


def print_results(results: dict) -> None:
    console = wide_console()
    console.print(base_table(results["base_stats"], f"base policy on test prompts (config {results['config_hash']})"))
    if "base_fidelity" in results:
        console.print(fidelity_table(results["base_fidelity"]))
        for warning in results["base_fidelity"]["warnings"]:
            console.print(f"[bold red]WARNING:[/] {warning}")
    if results["arms"]:
        console.print(arms_table(results))
    for horizon, diff in results.get("progress_vs_outcome", {}).items():
        console.print(f"progress vs outcome reward at H = {horizon}: J_H(vb_progress) − J_H(vb_rl) = {ci_text(diff)}")


def data_text(results: dict, name: str, stats: dict) -> str:
    """What the arm's training data cost: VF's rejection sampling, VB's labelled traces; '-' for others."""
    if "data" in stats:
        d = stats["data"]
        return f"{d['samples_drawn']} samples · {d['tokens_drawn']} tok · {d['prompts_without_success']} w/o success"
    if results.get("arm_roles", {}).get(name) == "vb":
        return f"{results['data_budget']['vb_labelled_traces']} labelled traces"
    return "-"


def arms_table(results: dict) -> Table:
    """One row per (arm, H): J_H with CI, success, tokens per trace and per prompt, the data each arm
    cost at its budget n, and the gap to VF where defined (compute-matched arms only)."""
    n = results["data_budget"].get("n_prompts", "-")
    table = Table(title=f"arms on test prompts: J_H [95% CI: bootstrap over test prompts]; Δ = J_H(arm) − J_H(vf); "
                        f"tokens/prompt = all candidates (≤ H: matched); data for n = {n} training prompts")
    for col in ("arm", "H", "J_H", "J_H/H", "success", "tok/trace", "tok/prompt (max)", "data", "Δ vs vf"):
        table.add_column(col, justify="right", no_wrap=col == "data")
    for name, per_h in results["arms"].items():
        for horizon, stats in per_h.items():
            gap = results["gaps"].get(name, {}).get(horizon)
            table.add_row(name, horizon, ci_text(stats["J"]), ci_text(stats["J_norm"], 3), ci_text(stats["success"], 3),
                          f"{stats['tokens_mean']:.1f}", f"{stats['tokens_per_prompt_mean']:.1f} ({stats['tokens_per_prompt_max']})",
                          data_text(results, name, stats), ci_text(gap))
    return table
