"""What every figure shares: provenance captions, PNG + PDF saving, panels, CI error bars, level order."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from analysis.aggregate import StoredRun  # noqa: E402


class Skipped(Exception):
    """The sweep does not hold a figure's data; the message says what is missing."""


def by_name(*figures: Callable[..., dict]) -> dict[str, Callable[..., dict]]:
    """Figure functions by their names, which are also their files' names."""
    return {figure.__name__: figure for figure in figures}


def draw(figure: Callable[..., dict], analysis, out: Path) -> dict:
    """A figure's manifest entry: its files and provenance, or why it was skipped."""
    try:
        return figure(analysis, out)
    except Skipped as reason:
        return {"skipped": str(reason)}


def provenance(runs: list[StoredRun]) -> dict:
    """Experiments, config hashes, seeds, sample counts and data budgets of the runs a figure draws."""
    counts = {json.dumps(r.sample_counts, sort_keys=True): r.counts_text for r in runs}
    return {"experiments": sorted({r.results["experiment"] for r in runs}),
            "config_hashes": sorted({r.results["config_hash"] for r in runs}), "seeds": sorted({r.seed for r in runs}),
            "sample_counts": [json.loads(key) for key in sorted(counts)],
            "sample_counts_text": [counts[key] for key in sorted(counts)],
            "n": sorted({r.n for r in runs}), "data_cost": sorted({r.data_cost_text for r in runs}), "runs": len(runs)}


def first(items: list[str], k: int, sep: str) -> str:
    """The first ``k`` items joined by ``sep``, and how many more there are."""
    return sep.join(items[:k]) + (f" +{len(items) - k} more" if len(items) > k else "")


def caption(prov: dict) -> str:
    """Runs, configs, seeds, sample counts, and per n what the arms' data cost (VF sampling, VB labels)."""
    return (f"{prov['runs']} runs of {','.join(prov['experiments'])} · configs {first(prov['config_hashes'], 4, ' ')} · "
            f"seeds {','.join(map(str, prov['seeds']))} · {'; '.join(prov['sample_counts_text'])} · "
            f"{first(prov['data_cost'], 2, '; ')}")


def fitting_chars(fig: plt.Figure, points: float) -> int:
    """Characters of ``points``-point DejaVu Sans that fit across ``fig`` (digits are 0.64 em; a margin of two)."""
    return int(fig.get_figwidth() * 72 / (points * 0.64)) - 2


def save(fig: plt.Figure, out: Path, name: str, prov: dict, notes: list[str] | None = None,
         right_margin: float = 1.0) -> dict:
    """Caption the figure and wrap it and the title to the figure's width, write it as PNG and PDF (full
    provenance in their metadata); its manifest entry. ``right_margin``: where the panels end (a legend beside them)."""
    text = caption(prov)
    wrapped = textwrap.fill(text, fitting_chars(fig, 6))
    if title := fig.get_suptitle():  # a one-panel figure is narrower than a long title
        size = fig._suptitle.get_fontsize()  # no public getter for the title Text; suptitle() alone would reset its size
        fig.suptitle("\n".join(textwrap.fill(line, fitting_chars(fig, size)) for line in title.split("\n")), fontsize=size)
    fig.text(0.01, 0.005, wrapped, fontsize=6, color="dimgrey", va="bottom")
    caption_height = (wrapped.count("\n") + 1.5) * 7.5 / 72 / fig.get_figheight()  # lines of 6 pt text, in figure heights
    fig.tight_layout(rect=(0, caption_height, right_margin, 1))
    full = json.dumps(prov)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(paths[0], dpi=130, metadata={"Title": name, "Description": text, "Comment": full})
    fig.savefig(paths[1], metadata={"Title": name, "Subject": text, "Keywords": full})
    plt.close(fig)
    return {"files": [p.name for p in paths], "caption": text, "provenance": prov, "notes": notes or []}


def grid(nrows: int, ncols: int, size: tuple[float, float] = (4.4, 3.4)) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows + 0.4), squeeze=False)
    return fig, axes


def ci_label(rows: pd.DataFrame) -> str:
    """What the rows' CIs resample (pooled rows' ``ci``: prompts for one seed, seeds × prompts when pooled)."""
    return "; ".join(sorted(rows.ci.unique()))


def errorbar(ax, x, rows: pd.DataFrame, column: str, **style) -> None:
    """``column`` with its CI columns as error bars."""
    y = rows[column].to_numpy(dtype=float)
    err = [y - rows[f"{column}_low"].to_numpy(dtype=float), rows[f"{column}_high"].to_numpy(dtype=float) - y]
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, **style)


def dodge(x: pd.Series, k: int, count: int, width: float = 0.16) -> pd.Series:
    """x of the k-th of ``count`` series of a panel, shifted by up to ±width/2 octaves so equal points stay apart."""
    return x * 2 ** (width * (k / (count - 1) - 0.5)) if count > 1 else x


def ecdf(ax, values: np.ndarray, **style) -> None:
    values = np.sort(values)
    ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", **style)


def reference_n(rows: pd.DataFrame) -> int:
    """The n that most configurations (groups) share; the largest on a tie."""
    counts = rows.drop_duplicates("group").n.value_counts()
    return int(max(counts[counts == counts.max()].index))


def by_sigma(rows: pd.DataFrame, key: str) -> list[str]:
    """Values of ``key`` ordered by the base's measured median σ at the largest H."""
    top = rows[rows.H == rows.H.max()]
    return list(top.groupby(key).base_median_sigma.mean().sort_values().index)


def level_title(rows: pd.DataFrame, column: str = "mixture") -> str:
    """The level's name (``column``) and the base's measured median σ at the largest H."""
    top = rows[rows.H == rows.H.max()]
    return f"{column} '{top[column].iloc[0]}': base median σ = {top.base_median_sigma.mean():.2f} at H = {top.H.iloc[0]}"


def log2_axis(ax, values, labels: list[str] | None = None) -> None:
    """A log₂ x axis ticked at ``values`` only, labelled plainly (or with ``labels``)."""
    values = sorted(set(values))
    ax.set_xscale("log", base=2)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(values, labels or [f"{v:g}" for v in values])


def gap_vs_n(ax, rows: pd.DataFrame, ylabel: str, unit: str = "training prompts") -> None:
    """Δ with its CI against the data budget n (log₂), one series per H, and the zero line."""
    by_h = rows.groupby("H")
    for k, (horizon, at_h) in enumerate(by_h):
        at_h = at_h.sort_values("n")
        errorbar(ax, dodge(at_h.n, k, by_h.ngroups), at_h, "gap", label=f"H = {horizon}")
    ax.axhline(0, color="black", linewidth=0.6)
    log2_axis(ax, rows.n)
    ax.set(xlabel=f"data budget n ({unit})", ylabel=ylabel)
    ax.legend(fontsize=6)
