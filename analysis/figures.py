"""Figures of SPEC §5, regenerated from a sweep's stored results (never by rerunning).

``python -m analysis.figures SWEEP_DIR --out DIR`` draws what the sweep holds: for didactic runs
figures 1–4, 7 and 8 (here), for MATH-arms runs figures 5, 6 and the MATH figures 7 and 8
(``analysis.math_figures``). Each figure is written as PNG and PDF, beside the tables and fits it
draws from (didactic: ``runs.csv``, ``pooled.csv``, ``fits.json``; MATH: ``math_runs.csv``,
``math_averaged.csv``; both: ``failed_jobs.json``), and ``figures.json``: per figure its files,
caption and provenance (config hashes, seeds, sample counts), or the reason it was skipped.
Didactic figures 2–4 show a VB arm (``--vb-arm``, one or several; default VB-RL when present,
else the BoN with the largest N, plus the progress-reward arm when present); the first arm's files
are ``fig2_gap_vs_H.*`` and so on, every further arm's carry its name (``fig2_gap_vs_H_vb_progress.*``);
``fits.json`` has every compute-matched arm. Figures 1 and 3 use the data budget n that most
configurations share (the largest on a tie).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.aggregate import (
    BASE,
    Run,
    Sweep,
    argument_parser,
    load_sweep,
    write_tables,
)
from analysis.base_figures import (
    anti_concentration_figure,
    base_levels,
    heterogeneity_figure,
)
from analysis.fits import FIXED_N, PROPORTIONAL_N, write_fits
from analysis.math_figures import math_figures
from analysis.plotting import (
    Skipped,
    by_name,
    by_sigma,
    ci_label,
    draw,
    errorbar,
    gap_vs_n,
    grid,
    level_title,
    log2_axis,
    provenance,
    reference_n,
    save,
)
from vbvf.pipeline.artifacts import atomic_write_json


@dataclass
class Analysis:
    """What the figures draw from: the runs, the pooled table, the fits and the VB arm shown
    (``suffix``: appended to the file names of figures 2–4, empty for the first VB arm)."""

    sweep: Sweep
    pooled: pd.DataFrame
    fits: list[dict]
    vb_arm: str | None
    suffix: str = ""

    def runs(self, groups) -> list[Run]:
        groups = set(groups)
        return [run for run in self.sweep.runs if run.group in groups]

    def arm_rows(self) -> pd.DataFrame:
        rows = self.pooled[self.pooled.arm == self.vb_arm] if self.vb_arm else self.pooled.iloc[:0]
        if rows.empty:
            raise Skipped("no VB arm with a gap against VF in the results (base statistics only?)")
        return rows


def primary_vb_arm(pooled: pd.DataFrame) -> str | None:
    """VB-RL when the sweep has it, else the Best-of-N with the largest N."""
    arms = set(pooled.loc[pooled.gap.notna(), "arm"]) if not pooled.empty else set()
    if "vb_rl" in arms:
        return "vb_rl"
    bon = sorted((int(a.split("@")[1]), a) for a in arms if a.startswith("vb_bon@"))
    return bon[-1][1] if bon else (min(arms) if arms else None)


def default_vb_arms(pooled: pd.DataFrame) -> list[str]:
    """The primary VB arm, then the progress-reward arm when the sweep has its gap to VF."""
    primary = primary_vb_arm(pooled)
    progress = "vb_progress" in set(pooled.loc[pooled.gap.notna(), "arm"]) if not pooled.empty else False
    return [arm for arm in (primary, "vb_progress" if progress else None) if arm] if primary else []


# --- the figures -------------------------------------------------------------------------------


# Fixed styles: the references in grey and black, the progress arms dash-dotted; every other arm takes
# the next colour of PALETTE, which holds neither grey, black nor a fixed arm's colour.
ARM_STYLE = {BASE: {"color": "grey", "linestyle": "--"}, "optimal": {"color": "black", "linestyle": ":"},
             "vb_progress": {"color": "tab:cyan", "linestyle": "-."},
             "rl_true_progress": {"color": "tab:olive", "linestyle": "-."}}
PALETTE = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "navy", "darkgoldenrod", "lime", "teal"]
H_MARKERS = "os^Dvp*h"


def fig1_performance_vs_H(a: Analysis, out: Path) -> dict:
    """J_H/H per arm, one column per heterogeneity level: against the budget H (top row, base dashed) and
    against the tokens each arm actually spent per prompt, all candidates counted (bottom row; one marker
    shape per H). The base has no token count of its own and appears in the top row only."""
    arms = a.pooled[a.pooled.arm != BASE] if not a.pooled.empty else a.pooled
    if arms.empty:
        raise Skipped("no arms in the results (base statistics only)")
    n = reference_n(arms)
    rows = a.pooled[a.pooled.group.isin(arms[arms.n == n].group)]
    groups = by_sigma(rows, "group")
    horizons = sorted(rows.H.unique())
    fig, axes = grid(2, len(groups))
    colors = {arm: PALETTE[k % len(PALETTE)] for k, arm in enumerate(a for a in rows.arm.unique() if a not in ARM_STYLE)}
    handles = {}
    for column, group in enumerate(groups):
        level = rows[rows.group == group]
        top, bottom = axes[0, column], axes[1, column]
        for arm, series in level.groupby("arm", sort=False):
            style = ARM_STYLE.get(arm, {"color": colors.get(arm)})
            errorbar(top, series.H, series, "J_norm", label=arm, **style)
            handles[arm] = top.lines[-1]
            spent = series.dropna(subset=["tokens_per_prompt_mean"])
            if spent.empty:
                continue
            bottom.plot(spent.tokens_per_prompt_mean, spent.J_norm, color=style["color"], linestyle=style.get("linestyle", "-"))
            for _, row in spent.iterrows():
                bottom.errorbar(row.tokens_per_prompt_mean, row.J_norm, yerr=[[row.J_norm - row.J_norm_low], [row.J_norm_high - row.J_norm]],
                                marker=H_MARKERS[horizons.index(row.H) % len(H_MARKERS)], color=style["color"], capsize=2)
        log2_axis(top, horizons)
        top.set(xlabel="budget H (≤ H tokens per prompt)", ylabel="J_H / H")
        top.set_title(level_title(level), fontsize=8)
        bottom.set_xscale("log", base=2)
        bottom.set(xlabel="tokens generated per prompt (all candidates)", ylabel="J_H / H")
    for horizon, marker in zip(horizons, H_MARKERS):
        handles[f"H = {horizon} (bottom row)"] = plt.Line2D([], [], color="dimgrey", marker=marker, linestyle="none")
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize=7)
    fig.suptitle(f"Figure 1 · performance vs budget H and vs tokens spent (n = {n})\n{ci_label(rows)}", fontsize=10)
    return save(fig, out, "fig1_performance_vs_H", provenance(a.runs(groups)), right_margin=1 - 1.4 / fig.get_figwidth())  # legend ≈ 1.4 in wide


def draw_gap_fit(ax, fit: dict) -> None:
    """Δ(H) with CIs on log-log axes, the fitted power law and a √H reference."""
    h, gaps = np.array(fit["horizons"]), np.array(fit["gaps"])
    low, high = (np.array([c[k] for c in fit["gap_ci"]]) for k in ("low", "high"))
    positive = gaps > 0
    ax.set_xscale("log", base=2)
    if not positive.any():
        ax.set(xlim=(h.min() / 1.2, h.max() * 1.2), yticks=[])
        ax.text(0.5, 0.5, f"Δ ≤ 0 at every H ({', '.join(f'{g:.2f}' for g in gaps)}):\nnothing to draw on log axes",
                ha="center", va="center", transform=ax.transAxes, fontsize=7)
        return
    ax.set_yscale("log")
    err = np.vstack([gaps - low, high - gaps])[:, positive]
    ax.errorbar(h[positive], gaps[positive], yerr=err, marker="o", capsize=3, linestyle="none", label=f"Δ(H), {fit['ci']}")
    scale = np.exp(np.mean(np.log(gaps[positive] / np.sqrt(h[positive]))))
    ax.plot(h, scale * np.sqrt(h), color="grey", linestyle="--", label="∝ √H (reference)")
    if fit["alpha_identified"]:
        inside = "∈" if fit["half_in_ci"] else "∉"
        ax.plot(h, np.exp(fit["intercept"]) * h ** fit["alpha"], color="C3",
                label=f"α = {fit['alpha']:.2f} [{fit['alpha_low']:.2f}, {fit['alpha_high']:.2f}], 0.5 {inside} CI")
    else:
        ax.text(0.02, 0.85, fit["note"], transform=ax.transAxes, fontsize=6, wrap=True)
    if not positive.all():
        ax.text(0.02, 0.92, f"Δ ≤ 0 (not drawn) at H = {', '.join(str(int(x)) for x in h[~positive])}",
                transform=ax.transAxes, fontsize=6)
    ax.legend(fontsize=6, loc="lower right")


def gap_series(a: Analysis, n: int) -> dict[str, list[dict]]:
    """The fits figure 2 draws per regime: n fixed at ``n``, and per family its longest n ∝ H diagonal."""
    fits = [f for f in a.fits if f["arm"] == a.vb_arm]
    fixed = [f for f in fits if f["regime"] == FIXED_N and f["n"][0] == n]
    longest: dict[str, dict] = {}
    for fit in (f for f in fits if f["regime"] == PROPORTIONAL_N):
        best = longest.get(fit["family"])
        if best is None or (len(fit["horizons"]), fit["n_per_H"]) > (len(best["horizons"]), best["n_per_H"]):
            longest[fit["family"]] = fit
    return {FIXED_N: fixed, PROPORTIONAL_N: list(longest.values())}


def fig2_gap_vs_H(a: Analysis, out: Path) -> dict:
    """Δ(H) log-log per heterogeneity level (columns) for n fixed and n ∝ H (rows)."""
    rows = a.arm_rows()
    n = reference_n(rows)
    series = gap_series(a, n)
    notes = [] if series[PROPORTIONAL_N] else ["n ∝ H: the sweep has no diagonal n = r·H with two points or more"]
    regimes = [r for r in (FIXED_N, PROPORTIONAL_N) if series[r]]
    if not regimes:
        raise Skipped("no scaling fit: every configuration has a single H")
    order = by_sigma(rows, "family")
    fig, axes = grid(len(regimes), len(order))
    for i, regime in enumerate(regimes):
        by_family = {f["family"]: f for f in series[regime]}
        for ax, family in zip(axes[i], order):
            fit = by_family.get(family)
            if fit is None:
                ax.set_axis_off()
                continue
            draw_gap_fit(ax, fit)
            label = f"n = {n}" if regime == FIXED_N else f"n = {fit['n_per_H']:g}·H"
            ax.set_title(f"'{fit['mixture']}' (σ = {fit['base_median_sigma'][-1]:.2f} at H = {fit['horizons'][-1]:g}), {label}",
                         fontsize=8)
            ax.set(xlabel="H (tokens)", ylabel=f"Δ = J({a.vb_arm}) − J({fit['vf_arm']})")
    fig.suptitle(f"Figure 2 · gap vs budget H, {a.vb_arm} vs VF", fontsize=10)
    hashes = {h for fits in series.values() for f in fits for h in f["config_hashes"]}
    runs = [r for r in a.sweep.runs if r.results["config_hash"] in hashes]
    return save(fig, out, "fig2_gap_vs_H" + a.suffix, provenance(runs), notes)


def fig3_gap_vs_sigma(a: Analysis, out: Path) -> dict:
    """Δ at each fixed H against the base's measured median σ, one point per heterogeneity level."""
    rows = a.arm_rows()
    n = reference_n(rows)
    rows = rows[rows.n == n]
    if rows.group.nunique() < 2:
        raise Skipped(f"needs two heterogeneity levels or more at n = {n}, the sweep has one")
    fig, axes = grid(1, 1, (6.0, 4.2))
    ax = axes[0, 0]
    for color, (horizon, at_h) in zip(plt.cm.viridis(np.linspace(0, 0.9, rows.H.nunique())), rows.groupby("H")):
        at_h = at_h.sort_values("base_median_sigma")
        errorbar(ax, at_h.base_median_sigma, at_h, "gap", color=color, label=f"H = {horizon}")
        for _, row in at_h.iterrows():
            ax.annotate(row.mixture, (row.base_median_sigma, row.gap), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set(xlabel="measured median σ_x of the base at H", ylabel=f"Δ = J({a.vb_arm}) − J(vf)")
    ax.legend(fontsize=7)
    ax.set_title(f"Figure 3 · gap vs base heterogeneity (n = {n})\n{ci_label(rows)}", fontsize=9)
    return save(fig, out, "fig3_gap_vs_sigma" + a.suffix, provenance(a.runs(rows.group)))


def fig4_gap_vs_n(a: Analysis, out: Path) -> dict:
    """Δ against the data budget n, one series per H, one panel per heterogeneity level."""
    rows = a.arm_rows()
    spans = rows.groupby("family").n.nunique()
    families = [f for f in by_sigma(rows, "family") if spans[f] >= 2]
    if not families:
        raise Skipped(f"every configuration has a single data budget n ({', '.join(map(str, sorted(rows.n.unique())))})")
    fig, axes = grid(1, len(families))
    for ax, family in zip(axes[0], families):
        level = rows[rows.family == family]
        gap_vs_n(ax, level, f"Δ = J({a.vb_arm}) − J(vf)")
        ax.set_title(level_title(level), fontsize=8)
    fig.suptitle(f"Figure 4 · gap vs data budget n, {a.vb_arm} vs VF\n{ci_label(rows)}", fontsize=10)
    return save(fig, out, "fig4_gap_vs_n" + a.suffix, provenance(a.runs(rows[rows.family.isin(families)].group)))


def fig7_heterogeneity(a: Analysis, out: Path) -> dict:
    return heterogeneity_figure(base_levels(a.sweep.runs), out, "fig7_heterogeneity", "Figure 7 · heterogeneity of the base")


def fig8_anti_concentration(a: Analysis, out: Path) -> dict:
    return anti_concentration_figure(base_levels(a.sweep.runs), out, "fig8_anti_concentration",
                                     "Figure 8 · anti-concentration of the base: P(R ≥ μ_x + ε·σ_x) per prompt")


FIGURES = by_name(fig1_performance_vs_H, fig2_gap_vs_H, fig3_gap_vs_sigma, fig4_gap_vs_n, fig7_heterogeneity,
                  fig8_anti_concentration)
GAP_FIGURES = by_name(fig2_gap_vs_H, fig3_gap_vs_sigma, fig4_gap_vs_n)  # drawn once per VB arm


def didactic_figures(sweep: Sweep, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """Tables, fits and figures 1–4, 7, 8 of the didactic runs (2–4 per VB arm); their manifest entries and the VB arms shown."""
    pooled = write_tables(sweep, args.out, args.n_bootstrap, args.seed)["pooled"]
    fits = write_fits(sweep, args.out, args.n_bootstrap, args.seed)
    vb_arms = args.vb_arm or default_vb_arms(pooled)
    first = Analysis(sweep, pooled, fits, vb_arms[0] if vb_arms else None)
    figures = {name: draw(figure, first, args.out) for name, figure in FIGURES.items()}
    for arm in vb_arms[1:]:
        more = Analysis(sweep, pooled, fits, arm, suffix=f"_{arm}")
        figures |= {name + more.suffix: draw(figure, more, args.out) for name, figure in GAP_FIGURES.items()}
    return figures, vb_arms


def main(argv: list[str] | None = None) -> dict:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--vb-arm", nargs="+", help="VB arms of figures 2-4, one set of figures each (default: vb_rl, "
                                                    "else the BoN with the largest N; then vb_progress when present)")
    args = parser.parse_args(argv)
    sweep = load_sweep(args.sweep_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    figures, vb_arms = didactic_figures(sweep, args) if sweep.runs or not sweep.math_runs else ({}, [])
    if sweep.math_runs:
        figures |= math_figures(sweep, args.out)
    manifest = {"sweep": str(sweep.root), "vb_arm": vb_arms[0] if vb_arms else None, "vb_arms": vb_arms,
                "failed_jobs": sweep.failed, "figures": figures}
    atomic_write_json(args.out / "failed_jobs.json", sweep.failed)
    atomic_write_json(args.out / "figures.json", manifest)
    print(f"{len(sweep.runs)} didactic, {len(sweep.math_runs)} MATH-arms and {len(sweep.eval_runs)} MATH evaluation runs "
          f"(no figure), {len(sweep.failed)} failed jobs under {sweep.root}")
    for job in sweep.failed:
        print(f"  failed job {job['run_dir']}: {job['error']}")
    for name, entry in figures.items():
        print(f"  {name}: " + (f"skipped: {entry['skipped']}" if "skipped" in entry else ", ".join(entry["files"])))
        for note in entry.get("notes", []):
            print(f"    note: {note}")
    return manifest


if __name__ == "__main__":
    main()
