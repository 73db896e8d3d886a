"""The per-run figure: J_H vs H for every arm with its CI and, for an LM base, its fidelity to the
procedural mixture (J_H/H, success and median σ_x beside the mixture's) — PNG and PDF beside results.json."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def caption(results: dict) -> str:
    """Config hash, seeds and sample counts: every figure carries them."""
    counts = results["sample_counts"]
    return (f"config {results['config_hash']} · seed {results['seeds']['run']} · "
            f"{counts['test_prompts']} test prompts × {counts['samples_per_prompt']} samples · "
            f"n = {results['data_budget'].get('n_prompts', '-')}{data_cost(results)}")


def data_cost(results: dict) -> str:
    """What the n training prompts cost each arm: VB's labelled traces, VF's rejection sampling at the largest H."""
    budget, vf = results["data_budget"], results["arms"].get("vf", {})
    text = f" · VB: {budget['vb_labelled_traces']} labelled traces" if "vb_labelled_traces" in budget else ""
    if vf:
        horizon = str(max(results["horizons"]))
        d = vf[horizon]["data"]
        text += (f" · VF at H = {horizon}: {d['samples_drawn']} samples ({d['tokens_drawn']} tokens) drawn, "
                 f"{d['prompts_without_success']} prompts without a success")
    return text


def plot_fidelity(fidelity: dict, horizons: list[int], ax_return, ax_sigma) -> None:
    """LM base (solid) against the procedural mixture (dashed): J_H/H and success, and median σ_x."""
    rows = [fidelity["per_horizon"][str(h)] for h in horizons]
    for key, color in (("J_norm", "tab:blue"), ("success", "tab:green")):
        for source, style in (("lm", "-"), ("procedural", "--")):
            ax_return.plot(horizons, [r[key][source] for r in rows], style, marker="o", color=color, label=f"{key} {source}")
    for source, style in (("lm", "-"), ("procedural", "--")):
        ax_sigma.plot(horizons, [r["median_sigma"][source] for r in rows], style, marker="o", color="tab:purple", label=f"median σ_x {source}")
    verdict = "faithful" if fidelity["faithful"] else "NOT faithful"
    ax_return.set_title(f"base fidelity: max |ΔJ/H| = {fidelity['max_abs_J_norm_diff']:.3f} ({verdict})", fontsize=9)
    nll = fidelity["nll"]
    if nll is not None:
        ax_sigma.set_title(f"NLL gap to Bayes {nll['heldout_gap']:.3f} (target {nll['target']})", fontsize=9)
    for ax in (ax_return, ax_sigma):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("test-time budget H (tokens)")
        ax.legend(fontsize=7)
    ax_return.set_ylim(0, 1.05)
    ax_sigma.set_ylabel("median σ_x of R_H")


def plot_run(results: dict, run_dir: Path) -> list[Path]:
    """J_H/H vs H per arm (95% CI bars over test prompts), the base in grey, then the base's fidelity
    panels when the base is an LM; writes run_performance.{png,pdf}."""
    horizons = results["horizons"]
    fidelity = results.get("base_fidelity")
    fig, axes = plt.subplots(1, 3 if fidelity else 1, figsize=(16, 5.6) if fidelity else (6.5, 5.6), squeeze=False)
    ax = axes[0, 0]
    series = {"base": results["base_stats"]} | results["arms"]
    for name, per_h in series.items():
        values = [per_h[str(h)]["J_norm"] for h in horizons]
        y = [v["value"] for v in values]
        err = [[v["value"] - v["low"] for v in values], [v["high"] - v["value"] for v in values]]
        style = {"color": "grey", "linestyle": "--"} if name in ("base", "optimal") else {}
        spent = per_h[str(horizons[-1])].get("tokens_per_prompt_mean")
        label = name if spent is None else f"{name} ({spent:.0f} tok/prompt at H = {horizons[-1]})"
        ax.errorbar(horizons, y, yerr=err, marker="o", capsize=3, label=label, **style)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("test-time budget H (at most H tokens per prompt, all candidates)")
    ax.set_ylabel("J_H / H (95% CI: bootstrap over test prompts)")
    mixture = results["config"]["mixture"]["name"]
    ax.set_title(f"planted subsequence, mixture '{mixture}'", fontsize=10)
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    if fidelity:
        plot_fidelity(fidelity, horizons, axes[0, 1], axes[0, 2])
    fig.text(0.01, 0.01, caption(results), fontsize=6, color="dimgrey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    paths = [run_dir / f"run_performance.{ext}" for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=130, metadata={"Title": caption(results)} if path.suffix == ".pdf" else None)
    plt.close(fig)
    return paths
