"""Scaling of the gap with H (SPEC §2) at each heterogeneity level, for n fixed and for n ∝ H.

``python -m analysis.fits SWEEP_DIR --out DIR`` writes ``fits.json``: one record per VB arm and
per series of points — every group of runs over its H grid (n fixed), and every diagonal
n = r·H of a family's (n, H) grid with two points or more (n ∝ H) — holding the exponent α of
log Δ = a + α·log H with its bootstrap CI, whether 0.5 lies inside, the Δ = a + b·√H fit, and
Δ(H) with a CI per point. A difference is the VB arm's per-prompt return minus VF's for the same
prompt and seed; CIs resample seeds × prompts (two-way cluster bootstrap; prompts alone for one
seed; ``ci``), and α is claimed only when identified (``vbvf.stats.scaling``). A diagonal uses the
seeds that every one of its points has. Only compute-matched arms are fitted (``Run.gap``).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from analysis.aggregate import Run, Sweep, argument_parser, load_sweep, pooled_units
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.stats import cluster_mean_ci, scaling_fit

FIXED_N, PROPORTIONAL_N = "n fixed", "n ∝ H"

Points = list[tuple[int, list[Run]]]  # (H, the runs whose units give Δ at that H)


def vb_arms(run: Run) -> list[str]:
    """The compute-matched arms with a gap against VF at every H of a run."""
    return sorted(arm for arm in run.results["gaps"] if all(run.gap(arm, h) for h in run.horizons))


def unit_differences(runs: list[Run], arm: str, horizon: int) -> np.ndarray:
    """VB − VF returns at H, paired by (seed, prompt): [seeds, prompts]."""
    vf_arm = runs[0].results["gaps"][arm][str(horizon)]["vf_arm"]
    return pooled_units(runs, arm, horizon) - pooled_units(runs, vf_arm, horizon)


def fit_record(points: Points, arm: str, regime: str, n_resamples: int, seed: int) -> dict:
    """The scaling fit of one VB arm over ``points``, with what identifies the series."""
    first = points[0][1][0]
    confidence = first.config["eval"]["confidence"]
    horizons = [h for h, _ in points]
    differences = [unit_differences(runs, arm, h) for h, runs in points]
    fit = scaling_fit(horizons, differences, confidence, n_resamples, seed)
    return {
        "regime": regime, "arm": arm, "vf_arm": first.results["gaps"][arm][str(horizons[0])]["vf_arm"],
        "mixture": first.mixture, "family": first.family,
        "n": [runs[0].n for _, runs in points],
        "seeds": sorted({run.seed for _, runs in points for run in runs}),
        "units": [int(d.size) for d in differences],
        "base_median_sigma": [float(np.median(np.concatenate([r.base_sigma(h) for r in runs]))) for h, runs in points],
        "gap_ci": [cluster_mean_ci(d, confidence, n_resamples, seed).to_dict() for d in differences],
        "ci": f"{confidence:.0%} CI: {fit.ci_method}",
        "config_hashes": sorted({run.results["config_hash"] for _, runs in points for run in runs}),
        **fit.to_dict(),
    }


def fixed_n_fits(sweep: Sweep, n_resamples: int, seed: int) -> list[dict]:
    """One fit per group (fixed n) and VB arm over the group's H grid."""
    out = []
    for runs in sweep.groups().values():
        horizons = runs[0].results["horizons"]
        if len(horizons) >= 2:
            out += [fit_record([(h, runs) for h in horizons], arm, FIXED_N, n_resamples, seed) for arm in vb_arms(runs[0])]
    return out


def diagonals(ns: list[int], horizons: list[int]) -> dict[Fraction, list[tuple[int, int]]]:
    """The lines n = r·H through an (n, H) grid that hold two points or more: ratio → [(H, n)]."""
    lines: dict[Fraction, list[tuple[int, int]]] = {}
    for horizon in sorted(horizons):
        for n in ns:
            lines.setdefault(Fraction(n, horizon), []).append((horizon, n))
    return {ratio: points for ratio, points in lines.items() if len(points) >= 2}


def proportional_fits(sweep: Sweep, n_resamples: int, seed: int) -> list[dict]:
    """One fit per family, diagonal n = r·H and VB arm, on the seeds every point of the diagonal has."""
    families: dict[str, dict[int, list[Run]]] = {}
    for runs in sweep.groups().values():
        families.setdefault(runs[0].family, {})[runs[0].n] = runs
    out = []
    for by_n in families.values():
        any_runs = next(iter(by_n.values()))
        for ratio, line in diagonals(sorted(by_n), any_runs[0].results["horizons"]).items():
            seeds = set.intersection(*({run.seed for run in by_n[n]} for _, n in line))
            points = [(h, [run for run in by_n[n] if run.seed in seeds]) for h, n in line]
            if seeds:
                out += [fit_record(points, arm, PROPORTIONAL_N, n_resamples, seed) | {"n_per_H": float(ratio)}
                        for arm in vb_arms(any_runs[0])]
    return out


def scaling_fits(sweep: Sweep, n_resamples: int = 2000, seed: int = 0) -> list[dict]:
    """Every fit of the sweep: n fixed first, then n ∝ H."""
    return fixed_n_fits(sweep, n_resamples, seed) + proportional_fits(sweep, n_resamples, seed)


def write_fits(sweep: Sweep, out: Path, n_resamples: int, seed: int) -> list[dict]:
    fits = scaling_fits(sweep, n_resamples, seed)
    atomic_write_json(out / "fits.json", fits)
    return fits


def main(argv: list[str] | None = None) -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    fits = write_fits(load_sweep(args.sweep_dir), args.out, args.n_bootstrap, args.seed)
    for fit in fits:
        alpha = (f"α = {fit['alpha']:.2f} [{fit['alpha_low']:.2f}, {fit['alpha_high']:.2f}], 0.5 in CI: {fit['half_in_ci']}"
                 if fit["alpha_identified"] else "α not identified")
        print(f"{fit['regime']:>7} {fit['mixture']:>6} {fit['arm']:>10} n={fit['n']}: {alpha} {fit['note']}")


if __name__ == "__main__":
    main()
