"""Figures 5, 6 and the MATH figures 7, 8 (SPEC §5), drawn from stored MATH-arms results only.

- ``fig5a_math_accuracy_vs_tokens``: accuracy vs the matched budget H = N·h for VF (stitched
  SFT, one trace of ≤ H tokens) and VB (verifier BoN, weighted BoN), majority vote and pass@N as
  light reference lines; one panel per configuration at the most common n (per heterogeneity level).
- ``fig5b_math_vs_n``: accuracy at the largest H, and Δ = VB − VF per H, against the data budget n.
- ``fig5c_math_joint_n_H``: Δ over the joint (n, H) grid, one heatmap per VB method and level.
- ``fig6_math_long_trace``: VF models trained on stitched traces of different lengths
  (``vf.stitch.max_wrong``) on one base, against BoN at matched tokens: accuracy and Δ vs H.
- ``fig7_math_heterogeneity``, ``fig8_math_anti_concentration``: σ_x and c_x(ε) of each base.

Seeds are averaged (``analysis.math_aggregate``): points are means over seeds, bars span the runs'
95% CIs over test problems. Points of one panel are dodged slightly along H so equal values stay visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.aggregate import NOT_A_SETTING, MathRun, Sweep, config_key
from analysis.base_figures import (
    anti_concentration_figure,
    base_levels,
    heterogeneity_figure,
)
from analysis.math_aggregate import VF, write_math_tables
from analysis.plotting import (
    Skipped,
    by_name,
    dodge,
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
from vbvf.models.gguf import model_label

VERIFIER_METHODS = ("best_of_n", "weighted_best_of_n")  # VB arms: Δ against VF
REFERENCE_METHODS = ("majority_vote", "pass_at_n")  # verifier-free baseline and oracle ceiling: light lines
STYLE = {
    VF: {"color": "C3", "label": "VF: stitched-trace SFT, one trace ≤ H"},
    "best_of_n": {"color": "C0", "label": "VB: verifier Best-of-N"},
    "weighted_best_of_n": {"color": "C2", "label": "VB: verifier weighted BoN"},
    "majority_vote": {"color": "grey", "alpha": 0.6, "linewidth": 0.9, "linestyle": "--", "label": "majority vote (no verifier)"},
    "pass_at_n": {"color": "black", "alpha": 0.4, "linewidth": 0.9, "linestyle": ":", "label": "pass@N (oracle ceiling)"},
}
LEVEL_RANK = {"none": 0, "low": 1, "mid": 2, "high": 3}  # breaks ties of measured σ
CI_NOTE = "seeds averaged; bars and brackets span the runs' 95% CIs over test problems"


@dataclass
class MathAnalysis:
    """What the MATH figures draw from: the runs and the table averaged over seeds."""

    sweep: Sweep
    averaged: pd.DataFrame

    def runs(self, groups) -> list[MathRun]:
        groups = set(groups)
        return [run for run in self.sweep.math_runs if run.group in groups]

    def subject(self, groups) -> str:
        """Experiments and models of the runs of ``groups``, for titles."""
        runs = self.runs(groups)
        return (f"{', '.join(sorted({r.results['experiment'] for r in runs}))} · "
                f"{', '.join(sorted({model_label(r.config['model']['name_or_path']) for r in runs}))}")


def at_largest_H(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows at the largest H of their value of ``key`` (H grids may differ within a sweep)."""
    return rows[rows.H == rows.groupby(key).H.transform("max")]


def ordered(rows: pd.DataFrame, key: str) -> list[str]:
    """Values of ``key`` by the base's measured median σ at the largest H, then level, then VF length."""
    order = at_largest_H(rows, key).groupby(key).agg(
        sigma=("base_median_sigma", "mean"), level=("level", "first"), wrong=("vf_max_wrong", "max"))
    return sorted(order.index, key=lambda k: (order.sigma[k], LEVEL_RANK.get(order.level[k], len(LEVEL_RANK)), order.wrong[k]))


def panel_title(rows: pd.DataFrame) -> str:
    return f"{level_title(rows, 'level')}\nVF trained on ≤ {rows.vf_max_wrong.iloc[0]} wrong attempts, n = {rows.n.iloc[0]}"


def budget_axis(ax, rows: pd.DataFrame) -> None:
    """x = H on a log₂ axis, ticked at the grid's H with N = H/h beneath."""
    grid_points = rows.drop_duplicates("H").sort_values("H")
    log2_axis(ax, grid_points.H, [f"{H}\nN={N}" for H, N in zip(grid_points.H, grid_points.N)])
    ax.set_xlabel(f"matched test-time budget H = N·h tokens (h = {grid_points.h.iloc[0]}; N BoN samples)", fontsize=8)


def accuracy_vs_H(ax, rows: pd.DataFrame, vf_rows: list[pd.DataFrame], vf_styles: list[dict]) -> None:
    """Accuracy against H: references as light lines, then VB and each VF with their intervals."""
    for arm in REFERENCE_METHODS:
        series = rows[rows.arm == arm].sort_values("H")
        ax.plot(series.H, series.accuracy, **STYLE[arm])
    drawn = [(rows[rows.arm == arm], STYLE[arm]) for arm in VERIFIER_METHODS] + list(zip(vf_rows, vf_styles))
    for k, (series, style) in enumerate(drawn):
        series = series.sort_values("H")
        errorbar(ax, dodge(series.H, k, len(drawn)), series, "accuracy", **style)
    budget_axis(ax, rows)
    ax.set(ylabel="accuracy on test problems", ylim=(-0.03, 1.03))
    ax.legend(fontsize=6)


def fig5a_math_accuracy_vs_tokens(a: MathAnalysis, out: Path) -> dict:
    n = reference_n(a.averaged)
    rows = a.averaged[a.averaged.n == n]
    groups = ordered(rows, "group")
    fig, axes = grid(1, len(groups), (4.6, 3.8))
    for ax, group in zip(axes[0], groups):
        panel = rows[rows.group == group]
        accuracy_vs_H(ax, panel, [panel[panel.arm == VF]], [STYLE[VF]])
        ax.set_title(panel_title(panel), fontsize=7)
    fig.suptitle(f"Figure 5a · MATH: accuracy vs test-time tokens, VF vs VB (n = {n}; {a.subject(groups)})\n{CI_NOTE}",
                 fontsize=9)
    return save(fig, out, "fig5a_math_accuracy_vs_tokens", provenance(a.runs(groups)))


def families_over_n(a: MathAnalysis) -> list[str]:
    spans = a.averaged.groupby("family").n.nunique()
    families = [f for f in ordered(a.averaged, "family") if spans[f] >= 2]
    if not families:
        raise Skipped(f"every configuration has a single data budget n ({', '.join(map(str, sorted(a.averaged.n.unique())))})")
    return families


def fig5b_math_vs_n(a: MathAnalysis, out: Path) -> dict:
    """Row 1: accuracy at the largest H vs n; then per VB method Δ vs n, one series per H."""
    families = families_over_n(a)
    drawn = a.averaged[a.averaged.family.isin(families)]
    fig, axes = grid(1 + len(VERIFIER_METHODS), len(families), (4.6, 3.3))
    for col, family in zip(axes.T, families):
        level = a.averaged[a.averaged.family == family]
        top = level[level.H == level.H.max()]
        arms = VERIFIER_METHODS + (VF,)
        for k, arm in enumerate(arms):
            series = top[top.arm == arm].sort_values("n")
            errorbar(col[0], dodge(series.n, k, len(arms)), series, "accuracy", **STYLE[arm])
        log2_axis(col[0], top.n)
        col[0].set(xlabel="data budget n (training problems)", ylabel=f"accuracy at H = {top.H.iloc[0]}", ylim=(-0.03, 1.03))
        col[0].set_title(f"{level_title(top, 'level')}, VF ≤ {top.vf_max_wrong.iloc[0]} wrong attempts", fontsize=7)
        col[0].legend(fontsize=6)
        for ax, method in zip(col[1:], VERIFIER_METHODS):
            gap_vs_n(ax, level[level.arm == method], f"Δ = acc({method}) − acc(VF)", unit="training problems")
    fig.suptitle(f"Figure 5b · MATH: VF vs VB against the data budget n ({a.subject(drawn.group)})\n{CI_NOTE}", fontsize=9)
    return save(fig, out, "fig5b_math_vs_n", provenance(a.runs(drawn.group)))


def gap_heatmap(ax, rows: pd.DataFrame, scale: float) -> None:
    """Δ over (n, H) as colour, each cell annotated with Δ and its interval."""
    gap = rows.pivot(index="n", columns="H", values="gap")
    low, high = (rows.pivot(index="n", columns="H", values=c) for c in ("gap_low", "gap_high"))
    image = ax.imshow(gap.to_numpy(dtype=float), cmap="RdBu", vmin=-scale, vmax=scale, origin="lower", aspect="auto")
    for i, n in enumerate(gap.index):
        for j, horizon in enumerate(gap.columns):
            ax.text(j, i, f"{gap.loc[n, horizon]:+.2f}\n[{low.loc[n, horizon]:+.2f}, {high.loc[n, horizon]:+.2f}]",
                    ha="center", va="center", fontsize=6)
    ax.set(xticks=range(len(gap.columns)), xticklabels=gap.columns, yticks=range(len(gap.index)), yticklabels=gap.index,
           xlabel="matched budget H = N·h (tokens)", ylabel="data budget n (training problems)")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)


def fig5c_math_joint_n_H(a: MathAnalysis, out: Path) -> dict:
    families = families_over_n(a)
    rows = a.averaged[a.averaged.family.isin(families) & a.averaged.arm.isin(VERIFIER_METHODS)]
    scale = max(float(np.nanmax(np.abs(rows.gap.to_numpy(dtype=float)))), 0.05)
    fig, axes = grid(len(VERIFIER_METHODS), len(families), (4.8, 3.6))
    for col, family in zip(axes.T, families):
        for ax, method in zip(col, VERIFIER_METHODS):
            level = rows[(rows.family == family) & (rows.arm == method)]
            gap_heatmap(ax, level, scale)
            ax.set_title(f"Δ = acc({method}) − acc(VF) · level '{level.level.iloc[0]}'", fontsize=7)
    fig.suptitle(f"Figure 5c · MATH: Δ over the joint (n, H) grid ({a.subject(rows.group)})\n"
                 f"blue: VB ahead, red: VF ahead · {CI_NOTE}", fontsize=9)
    return save(fig, out, "fig5c_math_joint_n_H", provenance(a.runs(rows.group)))


def long_trace_sets(a: MathAnalysis) -> list[list[str]]:
    """Groups that differ only in their VF settings, with two VF trace lengths or more; each list
    of groups by VF length (the longest last), the lists by the base's σ."""
    by_base: dict[str, set[str]] = {}
    for run in a.sweep.math_runs:
        by_base.setdefault(config_key(run.config, NOT_A_SETTING + ("vf",)), set()).add(run.group)
    sets = []
    for groups in by_base.values():
        rows = a.averaged[a.averaged.group.isin(groups)]
        if rows.vf_max_wrong.nunique() >= 2:
            sets.append(sorted(groups, key=lambda g: rows[rows.group == g].vf_max_wrong.iloc[0]))
    if not sets:
        raise Skipped("needs VF models of two stitched trace lengths (vf.stitch.max_wrong) on one base and n: "
                      "experiments/fig6_math_long_trace.sh sweeps them")
    sigma = at_largest_H(a.averaged, "group").groupby("group").base_median_sigma.mean()
    return sorted(sets, key=lambda groups: sigma[groups[0]])


def fig6_math_long_trace(a: MathAnalysis, out: Path) -> dict:
    """Per base: accuracy vs H of BoN and of each VF length; Δ vs H of each VB method against each VF.
    The longest VF is drawn solid, shorter ones dashed and lighter."""
    sets = long_trace_sets(a)
    fig, axes = grid(len(sets), 2, (5.2, 3.9))
    for (acc_ax, gap_ax), groups in zip(axes, sets):
        per_vf = [a.averaged[a.averaged.group == group] for group in groups]
        longest = per_vf[-1]
        styles = [{"color": "C3", "alpha": 1.0 if rows is longest else 0.5, "linestyle": "-" if rows is longest else "--",
                   "label": f"VF, ≤ {rows.vf_max_wrong.iloc[0]} wrong attempts"} for rows in per_vf]
        accuracy_vs_H(acc_ax, longest, [rows[rows.arm == VF] for rows in per_vf], styles)
        acc_ax.set_title(level_title(longest, "level") + f", n = {longest.n.iloc[0]}", fontsize=7)
        series = [(rows, method, style) for rows, style in zip(per_vf, styles) for method in VERIFIER_METHODS]
        for k, (rows, method, style) in enumerate(series):
            gaps = rows[rows.arm == method].sort_values("H")
            errorbar(gap_ax, dodge(gaps.H, k, len(series)), gaps, "gap", **style | {
                "color": STYLE[method]["color"], "label": f"{method} − VF(≤ {rows.vf_max_wrong.iloc[0]} wrong)"})
        gap_ax.axhline(0, color="black", linewidth=0.6)
        budget_axis(gap_ax, longest)
        gap_ax.set(ylabel="Δ = acc(VB) − acc(VF) at matched H")
        gap_ax.set_title("gap at matched tokens (paired over problems)", fontsize=7)
        gap_ax.legend(fontsize=6)
    groups = [g for s in sets for g in s]
    fig.suptitle(f"Figure 6 · MATH: long-trace VF vs BoN at matched tokens ({a.subject(groups)})\n{CI_NOTE}", fontsize=9)
    return save(fig, out, "fig6_math_long_trace", provenance(a.runs(groups)))


def fig7_math_heterogeneity(a: MathAnalysis, out: Path) -> dict:
    return heterogeneity_figure(base_levels(a.sweep.math_runs), out, "fig7_math_heterogeneity",
                                "Figure 7 (MATH) · heterogeneity of the heterogeneity-controlled bases")


def fig8_math_anti_concentration(a: MathAnalysis, out: Path) -> dict:
    return anti_concentration_figure(base_levels(a.sweep.math_runs), out, "fig8_math_anti_concentration",
                                     "Figure 8 (MATH) · anti-concentration of the bases: P(R ≥ μ_x + ε·σ_x) per problem")


MATH_FIGURES = by_name(fig5a_math_accuracy_vs_tokens, fig5b_math_vs_n, fig5c_math_joint_n_H, fig6_math_long_trace,
                       fig7_math_heterogeneity, fig8_math_anti_concentration)


def math_figures(sweep: Sweep, out: Path) -> dict:
    """Write the MATH tables into ``out`` and draw every MATH figure; their manifest entries."""
    _, averaged = write_math_tables(sweep, out)
    analysis = MathAnalysis(sweep, averaged)
    return {name: draw(figure, analysis, out) for name, figure in MATH_FIGURES.items()}
