"""Figures 7 and 8 (SPEC §5) for the bases of either testbed: heterogeneity (σ_x) and anti-concentration (c_x(ε))."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.aggregate import StoredRun
from analysis.plotting import Skipped, ecdf, grid, log2_axis, provenance, save


def base_levels(runs: list[StoredRun]) -> list[list[StoredRun]]:
    """One run per distinct base (arm settings aside), grouped by heterogeneity level, by σ at the
    level's largest H."""
    if not runs:
        raise Skipped("no finished runs")
    distinct = {run.base_key: run for run in runs}
    levels: dict[str, list[StoredRun]] = {}
    for run in distinct.values():
        levels.setdefault(run.base_family, []).append(run)
    return sorted(levels.values(), key=lambda level: np.median(top_sigma(level)))


def top_sigma(level: list[StoredRun]) -> np.ndarray:
    """σ_x of a level's bases at their largest H (the runs of one level share the H grid)."""
    return np.concatenate([r.base_sigma(r.horizons[-1]) for r in level])


def heterogeneity_figure(levels: list[list[StoredRun]], out: Path, name: str, title: str) -> dict:
    """Distribution of the base's σ_x at the largest H, and σ_x/H vs H (median, quartile band)."""
    fig, axes = grid(1, 2)
    for runs in levels:
        horizons = runs[0].horizons
        label = f"'{runs[0].level}' ({len(runs)} seeds)"
        ecdf(axes[0, 0], top_sigma(runs), label=f"{label}, H = {horizons[-1]}")
        ratios = [np.concatenate([r.base_sigma(h) for r in runs]) / h for h in horizons]
        q25, q50, q75 = np.array([np.quantile(x, [0.25, 0.5, 0.75]) for x in ratios]).T
        line, = axes[0, 1].plot(horizons, q50, marker="o", label=label)
        axes[0, 1].fill_between(horizons, q25, q75, alpha=0.15, color=line.get_color())
    axes[0, 0].set(xlabel="σ_x of the base at its largest H (per test prompt)", ylabel="share of prompts ≤ σ_x",
                   ylim=(0, 1.02), title="distribution of σ_x over prompts")
    axes[0, 1].set(xlabel="H (tokens)", ylabel="σ_x / H: median, quartile band", title="σ_x / H vs H")
    log2_axis(axes[0, 1], [h for runs in levels for h in runs[0].horizons])
    for ax in axes[0]:
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save(fig, out, name, provenance([r for runs in levels for r in runs]))


def anti_concentration_figure(levels: list[list[StoredRun]], out: Path, name: str, title: str) -> dict:
    """Distribution of c_x(ε) over test prompts at each level's largest H, one panel per ε;
    degenerate prompts (σ_x = 0) are counted in the legend, never drawn."""
    first = levels[0][0]
    eps_grid = list(first.base_stats(first.horizons[-1])["anti_concentration"])
    fig, axes = grid(1, len(eps_grid), (3.6, 3.4))
    for ax, eps in zip(axes[0], eps_grid):
        stats = [[r.base_stats(r.horizons[-1])["anti_concentration"][eps] for r in runs] for runs in levels]
        for runs, per_seed in zip(levels, stats):
            values = np.array([c for s in per_seed for c in s["per_prompt"] if c is not None], dtype=float)
            degenerate = sum(s["n_degenerate"] for s in per_seed)
            label = f"'{runs[0].level}', H = {runs[0].horizons[-1]} ({degenerate}/{degenerate + values.size} degenerate)"
            if values.size:
                ecdf(ax, values, label=label)
            else:
                ax.plot([], [], label=label + ": nothing to draw")
        ax.axvline(stats[0][0]["c0"], color="grey", linestyle=":", label="c₀")
        # from just below 0: a level whose every c_x is 0 jumps at 0, which the y axis would hide
        ax.set(xlabel=f"c_x(ε = {eps}) at the largest H", ylabel="share of prompts ≤ c_x", xlim=(-0.03, 1.02), ylim=(0, 1.02))
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    return save(fig, out, name, provenance([r for runs in levels for r in runs]))
