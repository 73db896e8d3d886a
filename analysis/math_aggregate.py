"""MATH-arms results (SPEC §4) into tables: one row per (run, arm, H), and per configuration averaged over seeds.

Arms: ``vf`` (the stitched-trace SFT model, one trace of at most H tokens) and the selections on
N samples of π_b at the matched budget H = N·h: ``best_of_n`` and ``weighted_best_of_n`` (the
verifier's, with Δ = accuracy(VB) − accuracy(VF) and its paired CI over problems),
``majority_vote`` (verifier-free) and ``pass_at_n`` (oracle ceiling).

Seeds are *averaged*, not pooled: ``results.json`` keeps per-problem correctness for VF only, so
a configuration's accuracy (or Δ) is the mean over its seeds of each run's value, and its interval
spans the runs' own 95% CIs over problems (lowest low to highest high; with one seed, that run's CI).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.aggregate import MathRun, Sweep, estimate_columns
from vbvf.models.gguf import model_label

VF = "vf"


def math_run_rows(run: MathRun, root: Path) -> list[dict]:
    """One row per (arm, H) of a run."""
    rows = []
    for arm, per_h in run.results["arms"].items():  # VF first, then the selections
        for n_samples, horizon in zip(run.results["budget"]["n_grid"], run.horizons):
            est = per_h[str(horizon)]
            gap = run.results["gaps"].get(arm, {}).get(str(horizon))
            rows.append({
                "run_dir": str(run.path.relative_to(root)), "config_hash": run.results["config_hash"],
                "group": run.group, "family": run.family, "seed": run.seed, "level": run.level,
                "model": model_label(run.config["model"]["name_or_path"]), "vf_max_wrong": run.max_wrong,
                "n": run.n, "H": horizon, "N": n_samples, "h": run.results["budget"]["h"], "arm": arm,
                "accuracy": est["accuracy"], "accuracy_low": est["ci"][0], "accuracy_high": est["ci"][1],
                "tokens_mean": est["tokens_mean"], **estimate_columns("gap", gap),
                "base_median_sigma": run.base_stats(horizon)["heterogeneity"]["median_sigma"],
                "test_problems": est["n"],
            })
    return rows


def math_runs_table(sweep: Sweep) -> pd.DataFrame:
    """One row per (MATH-arms run, arm, H) with the run's own CIs (over test problems)."""
    return pd.DataFrame([row for run in sweep.math_runs for row in math_run_rows(run, sweep.root)])


def averaged_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, arm, H): values averaged over the group's seeds, intervals spanning theirs."""
    first = ["family", "level", "model", "vf_max_wrong", "n", "N", "h", "test_problems"]
    return (runs.sort_values("seed").groupby(["group", "arm", "H"], sort=False)
            .agg(**{c: (c, "first") for c in first},
                 accuracy=("accuracy", "mean"), accuracy_low=("accuracy_low", "min"), accuracy_high=("accuracy_high", "max"),
                 gap=("gap", "mean"), gap_low=("gap_low", "min"), gap_high=("gap_high", "max"),
                 tokens_mean=("tokens_mean", "mean"), base_median_sigma=("base_median_sigma", "mean"),
                 n_seeds=("seed", "size"), seeds=("seed", lambda s: ",".join(map(str, s))),
                 config_hashes=("config_hash", " ".join))
            .reset_index())


def write_math_tables(sweep: Sweep, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``math_runs.csv`` and ``math_averaged.csv`` into ``out``; return both tables."""
    runs = math_runs_table(sweep)
    averaged = averaged_table(runs)
    runs.to_csv(out / "math_runs.csv", index=False)
    averaged.to_csv(out / "math_averaged.csv", index=False)
    return runs, averaged
