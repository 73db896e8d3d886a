"""J_H(arm) − J_H(against) pooled over seeds, per group and H, with the two-way cluster bootstrap.

The figures compare every VB arm with VF; this compares two VB arms directly, e.g. the progress
reward against the outcome reward (issue 16):

    python -m analysis.arm_difference SWEEP --arm vb_progress --against vb_rl [--out diff.csv]

Each (seed, prompt) unit is the difference of the two arms' per-prompt returns in the same run,
so the CI resamples seeds and test prompts, paired (vbvf.stats.bootstrap).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.aggregate import load_sweep, pooled_units
from vbvf.pipeline.report import wide_console
from vbvf.stats.bootstrap import ci_method, cluster_mean_ci


def arm_difference(sweep_dir: Path, arm: str, against: str, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (group, H) whose runs hold both arms: the pooled difference in J and J/H with CIs."""
    rows = []
    for runs in load_sweep(sweep_dir).groups().values():
        first = runs[0]
        if not {arm, against} <= set(first.series()):
            continue
        for horizon in first.horizons:
            diff = pooled_units(runs, arm, horizon) - pooled_units(runs, against, horizon)
            est = cluster_mean_ci(diff, n_resamples=n_resamples, seed=seed)
            rows.append({"mixture": first.mixture, "n": first.n, "H": horizon, "seeds": ",".join(str(r.seed) for r in runs),
                         "base_median_sigma": float(np.median(np.concatenate([r.base_sigma(horizon) for r in runs]))),
                         "diff": est.value, "diff_low": est.low, "diff_high": est.high,
                         "diff_norm": est.value / horizon, "diff_norm_low": est.low / horizon, "diff_norm_high": est.high / horizon,
                         "ci": f"95% CI: {ci_method(len(runs))}"})
    if not rows:
        raise SystemExit(f"no run under {sweep_dir} holds both '{arm}' and '{against}'")
    return pd.DataFrame(rows).sort_values(["base_median_sigma", "n", "H"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="folder searched recursively for results.json")
    parser.add_argument("--arm", required=True, help="the arm whose advantage is measured, e.g. vb_progress")
    parser.add_argument("--against", required=True, help="the arm subtracted, e.g. vb_rl")
    parser.add_argument("--out", type=Path, help="CSV to write the table to")
    parser.add_argument("--n-bootstrap", type=int, default=2000)
    args = parser.parse_args(argv)
    table = arm_difference(args.sweep_dir, args.arm, args.against, args.n_bootstrap)
    if args.out:
        table.to_csv(args.out, index=False)
    wide_console().print(f"J({args.arm}) − J({args.against}), pooled over seeds ({table.ci.iloc[0]})")
    wide_console().print(table.drop(columns="ci").round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
