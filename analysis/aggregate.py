"""Load a sweep's stored results into tables: one row per (run, arm, H), and per config pooled over seeds.

``python -m analysis.aggregate SWEEP_DIR --out DIR`` writes ``runs.csv``, ``pooled.csv`` and
``failed_jobs.json``. A sweep folder is searched recursively for ``results.json``;
a job folder whose ``failed.json`` is newer than its results (or that has none) is a failed job:
listed, never loaded. Runs whose configs differ only in ``seed`` form one *group*; pooled rows
hold a group's (seed, test prompt) values and pair VB with VF by them; every seed has the same test
prompts, so their CIs are a two-way cluster bootstrap over seeds × prompts (column ``ci``). Only a
compute-matched arm (``compute_matched`` at every H, SPEC §2) has a gap.
Every results.json has one shape (``vbvf/pipeline/results.py``); ``load_sweep`` sorts runs by their
``pipeline``: MATH-arms runs (``Sweep.math_runs``) get ``analysis.math_aggregate``'s tables, MATH
evaluation runs (``Sweep.eval_runs``) are counted but drawn in no table or figure.
"""

from __future__ import annotations

import argparse
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from vbvf.pipeline.artifacts import atomic_write_json, config_hash
from vbvf.stats import ci_method, cluster_mean_ci

BASE = "base"  # the base policy's row in the tables: its statistics come from base_stats
NOT_A_SETTING = ("seed", "cache_dir")  # keys that do not change what a run measures


def config_key(config: dict, drop: tuple[str, ...]) -> str:
    """Hash of a resolved config without the top-level keys in ``drop``."""
    return config_hash({k: v for k, v in config.items() if k not in drop})


@dataclass
class StoredRun(ABC):
    """One finished job: its folder and its ``results.json`` (one shape for every pipeline); each
    pipeline's subclass reads what its own sections add (heterogeneity ``level``, data budget ``n``)."""

    path: Path
    results: dict

    ARM_SETTINGS: ClassVar[tuple[str, ...]]  # keys that leave the base and its statistics alone

    @property
    def config(self) -> dict:
        return self.results["config"]

    @property
    def seed(self) -> int:
        return self.config["seed"]

    @cached_property
    def group(self) -> str:
        """Runs of one group differ only in their seed."""
        return config_key(self.config, NOT_A_SETTING)

    @cached_property
    def family(self) -> str:
        """Runs of one family differ only in seed and data budget n (for n ∝ H)."""
        return config_key(self.config, NOT_A_SETTING + ("data",))

    @cached_property
    def base_key(self) -> str:
        """Runs with one base key share the base policy and its samples (arm settings aside)."""
        return config_key(self.config, ("cache_dir",) + self.ARM_SETTINGS)

    @cached_property
    def base_family(self) -> str:
        """Bases of one family differ only in their seed: one heterogeneity level."""
        return config_key(self.config, NOT_A_SETTING + self.ARM_SETTINGS)

    def base_sigma(self, horizon: int) -> np.ndarray:
        return np.asarray(self.base_stats(horizon)["heterogeneity"]["per_prompt_sigma"])

    def base_stats(self, horizon: int) -> dict:
        """The base policy's statistics at H (performance, heterogeneity, anti-concentration)."""
        return self.results["base_stats"][str(horizon)]

    @property
    def horizons(self) -> list[int]:
        return self.results["horizons"]

    @property
    def sample_counts(self) -> dict:
        return self.results["sample_counts"]

    @property
    @abstractmethod
    def data_cost_text(self) -> str:
        """What the data budget n cost the arms (labelled traces, samples drawn), for captions."""


@dataclass
class Run(StoredRun):
    """One finished didactic job."""

    ARM_SETTINGS = ("data", "vf", "vb", "controls")

    @property
    def mixture(self) -> str:
        return self.config["mixture"]["name"]

    @property
    def level(self) -> str:
        """The heterogeneity preset of the base: the mixture."""
        return self.mixture

    @property
    def n(self) -> int:
        return self.results["data_budget"].get("n_prompts", self.config["data"]["n"])

    @property
    def counts_text(self) -> str:
        return f"{self.sample_counts['test_prompts']} test prompts × {self.sample_counts['samples_per_prompt']} samples"

    @property
    def data_cost_text(self) -> str:
        budget, vf = self.results["data_budget"], self.results["arms"].get("vf")
        text = f"n = {self.n}: VB {budget['vb_labelled_traces']} labelled traces" if "vb_labelled_traces" in budget else f"n = {self.n}"
        if vf:
            horizon = str(max(self.horizons))
            d = vf[horizon]["data"]
            text += (f"; VF at H = {horizon}: {d['samples_drawn']} samples ({d['tokens_drawn']} tokens) drawn, "
                     f"{d['prompts_without_success']} prompts without a success")
        return text

    def matched(self, arm: str) -> bool:
        """Whether ``arm`` generated at most H tokens per prompt at every H (older results do not say: no)."""
        return all(stats.get("compute_matched") is True for stats in self.results["arms"][arm].values())

    def gap(self, arm: str, horizon: int) -> dict | None:
        """The stored gap of ``arm`` against VF at H if both are compute-matched, else None."""
        gap = self.results["gaps"].get(arm, {}).get(str(horizon))
        return gap if gap and self.matched(arm) and self.matched(gap["vf_arm"]) else None

    def series(self) -> dict[str, dict]:
        """Every policy's per-H statistics: the base, then the arms."""
        return {BASE: self.results["base_stats"]} | self.results["arms"]

    def per_prompt(self, arm: str, horizon: int) -> np.ndarray:
        return np.asarray(self.series()[arm][str(horizon)]["per_prompt_return"], dtype=np.float64)


@dataclass
class MathRun(StoredRun):
    """One finished MATH-arms job (``pipeline: math_arms``): VF and VB at matched H = N·h."""

    ARM_SETTINGS = ("data", "vf", "vb")

    @property
    def level(self) -> str:
        """The heterogeneity preset of the base (``heterogeneity.level``, or none)."""
        return self.results["level"]

    @property
    def n(self) -> int:
        return self.results["data_budget"]["n"]

    @property
    def max_wrong(self) -> int:
        """The most wrong attempts in a stitched VF training trace (its length)."""
        return self.config["vf"]["stitch"]["max_wrong"]

    @property
    def sample_counts(self) -> dict:
        """The test-side counts (the training side is n)."""
        return {k: v for k, v in self.results["sample_counts"].items() if k != "train_problems"}

    @property
    def counts_text(self) -> str:
        c = self.sample_counts
        return (f"{c['eval_problems']} test problems × {c['base_samples_per_eval_problem']} base samples "
                f"(σ, c from m = {c['m']}), {c['vf_traces_per_eval_problem']} VF traces each")

    @property
    def data_cost_text(self) -> str:
        vb, vf = self.results["data_budget"]["vb"], self.results["data_budget"]["vf"]
        return f"n = {self.n}: VB {vb['labelled']} labelled samples ({vb['positive']} correct); VF {vf['traces']} stitched traces"


@dataclass
class EvalRun(StoredRun):
    """One finished MATH evaluation job (``pipeline: math_eval``): selections and searches keyed by N."""

    ARM_SETTINGS = ("selection", "search", "verifier")

    @property
    def data_cost_text(self) -> str:
        return "no training data"


RUN_KINDS: dict[str, type[StoredRun]] = {"didactic": Run, "math_arms": MathRun, "math_eval": EvalRun}


@dataclass
class Sweep:
    """The finished runs under a folder, and the jobs that failed."""

    root: Path
    by_pipeline: dict[str, list[StoredRun]]
    failed: list[dict] = field(default_factory=list)

    @property
    def runs(self) -> list[Run]:
        """The didactic runs."""
        return self.by_pipeline.get("didactic", [])

    @property
    def math_runs(self) -> list[MathRun]:
        return self.by_pipeline.get("math_arms", [])

    @property
    def eval_runs(self) -> list[EvalRun]:
        return self.by_pipeline.get("math_eval", [])

    def groups(self) -> dict[str, list[Run]]:
        """Runs by group, each list sorted by seed (the order that pairs units across arms)."""
        out: dict[str, list[Run]] = {}
        for run in sorted(self.runs, key=lambda r: r.seed):
            out.setdefault(run.group, []).append(run)
        return out


def job_failed(job_dir: Path) -> bool:
    failed, results = job_dir / "failed.json", job_dir / "results.json"
    return failed.exists() and (not results.exists() or failed.stat().st_mtime >= results.stat().st_mtime)


def upgraded(results: dict) -> dict:
    """A results.json written before the one shape (schema 1) in that shape: the pipeline named,
    the MATH arms flat under ``arms``, the MATH base's statistics under ``base_stats``."""
    if results.get("schema_version", 1) >= 2:
        return results
    pipeline = results.get("pipeline") or ("math_eval" if "methods" in results else "didactic")
    out = results | {"pipeline": pipeline, "arm_budget": "N" if pipeline == "math_eval" else "H"}
    if pipeline == "math_arms":
        out |= {"horizons": results["budget"]["horizons"], "base_stats": results["base"]["stats"],
                "arms": {"vf": results["arms"]["vf"]} | results["arms"]["vb"]}
    if pipeline == "math_eval":
        out |= {"horizons": results["config"]["eval"]["horizons"], "arms": results["methods"], "gaps": {}}
    return out


def load_sweep(root: str | Path) -> Sweep:
    """Every finished run under ``root`` (recursively), by pipeline; failed jobs are listed with their error."""
    root = Path(root)
    by_pipeline: dict[str, list[StoredRun]] = {}
    failed = []
    job_dirs = sorted({p.parent for name in ("results.json", "failed.json") for p in root.rglob(name)})
    for job_dir in job_dirs:
        if job_failed(job_dir):
            record = json.loads((job_dir / "failed.json").read_text())
            failed.append({"run_dir": str(job_dir.relative_to(root)), "error": record["error"],
                           "overrides": record.get("overrides", [])})
        else:
            results = upgraded(json.loads((job_dir / "results.json").read_text()))
            by_pipeline.setdefault(results["pipeline"], []).append(RUN_KINDS[results["pipeline"]](job_dir, results))
    return Sweep(root, by_pipeline, failed)


def estimate_columns(prefix: str, est: dict | None) -> dict:
    """``{prefix: value, prefix_low: low, prefix_high: high}`` from a ``{value, low, high}`` estimate."""
    est = est or {}
    return {prefix: est.get("value"), f"{prefix}_low": est.get("low"), f"{prefix}_high": est.get("high")}


def run_rows(run: Run, root: Path) -> list[dict]:
    """One row per (arm, H) of a run, the base included."""
    rows = []
    for arm, per_h in run.series().items():
        for horizon in run.results["horizons"]:
            stats = per_h[str(horizon)]
            gap = run.gap(arm, horizon)
            rows.append({
                "run_dir": str(run.path.relative_to(root)), "config_hash": run.results["config_hash"],
                "group": run.group, "family": run.family, "seed": run.seed, "mixture": run.mixture,
                "base_median_sigma": run.base_stats(horizon)["heterogeneity"]["median_sigma"],
                "n": run.n, "H": horizon, "arm": arm,
                **estimate_columns("J", stats["J"]), **estimate_columns("J_norm", stats["J_norm"]),
                **estimate_columns("success", stats["success"]), "tokens_mean": stats.get("tokens_mean"),
                "tokens_per_prompt_mean": stats.get("tokens_per_prompt_mean"), "compute_matched": stats.get("compute_matched"),
                **estimate_columns("gap", gap), "vf_arm": gap["vf_arm"] if gap else None,
                "test_prompts": run.results["sample_counts"]["test_prompts"],
                "samples_per_prompt": run.results["sample_counts"]["samples_per_prompt"],
            })
    return rows


def runs_table(sweep: Sweep) -> pd.DataFrame:
    """One row per (run, arm, H) with the run's own CIs (bootstrap over test prompts)."""
    return pd.DataFrame([row for run in sweep.runs for row in run_rows(run, sweep.root)])


def pooled_units(runs: list[Run], arm: str, horizon: int) -> np.ndarray:
    """Per-prompt returns of ``arm`` at H, one row per run in the runs' (seed) order: [seeds, prompts]."""
    return np.stack([run.per_prompt(arm, horizon) for run in runs])


def mean_of(stats: list[dict], key: str) -> float | None:
    """Mean of ``key`` over the runs' statistics; None where a run lacks it (the base, older results)."""
    values = [s.get(key) for s in stats]
    return None if None in values else float(np.mean(values))


def pooled_rows(runs: list[Run], n_resamples: int, seed: int) -> list[dict]:
    """One row per (arm, H) of a group: J and the gap with two-way cluster CIs over seeds × prompts."""
    first = runs[0]
    confidence = first.config["eval"]["confidence"]
    ci = dict(confidence=confidence, n_resamples=n_resamples, seed=seed)
    rows = []
    for arm in first.series():
        for horizon in first.results["horizons"]:
            units = pooled_units(runs, arm, horizon)
            gap_info = first.gap(arm, horizon)
            gap = cluster_mean_ci(units - pooled_units(runs, gap_info["vf_arm"], horizon), **ci).to_dict() if gap_info else None
            per_h = [run.series()[arm][str(horizon)] for run in runs]
            rows.append({
                "group": first.group, "family": first.family, "mixture": first.mixture, "n": first.n,
                "H": horizon, "arm": arm, "seeds": ",".join(str(r.seed) for r in runs), "n_seeds": len(runs),
                "units": int(units.size), "ci": f"{confidence:.0%} CI: {ci_method(len(runs))}",
                "base_median_sigma": float(np.median(np.concatenate([r.base_sigma(horizon) for r in runs]))),
                **estimate_columns("J", cluster_mean_ci(units, **ci).to_dict()),
                **estimate_columns("J_norm", cluster_mean_ci(units / horizon, **ci).to_dict()),
                "success": float(np.mean([s["success"]["value"] for s in per_h])),
                "tokens_mean": mean_of(per_h, "tokens_mean"), "tokens_per_prompt_mean": mean_of(per_h, "tokens_per_prompt_mean"),
                **estimate_columns("gap", gap), "vf_arm": gap_info["vf_arm"] if gap_info else None,
                "config_hashes": " ".join(r.results["config_hash"] for r in runs),
            })
    return rows


def pooled_table(sweep: Sweep, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (group, arm, H), pooled over the group's seeds."""
    return pd.DataFrame([row for runs in sweep.groups().values() for row in pooled_rows(runs, n_resamples, seed)])


def write_tables(sweep: Sweep, out: Path, n_resamples: int, seed: int) -> dict[str, pd.DataFrame]:
    """Write runs.csv, pooled.csv and failed_jobs.json into ``out``; return the two tables."""
    out.mkdir(parents=True, exist_ok=True)
    tables = {"runs": runs_table(sweep), "pooled": pooled_table(sweep, n_resamples, seed)}
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    atomic_write_json(out / "failed_jobs.json", sweep.failed)
    return tables


def argument_parser(description: str) -> argparse.ArgumentParser:
    """The command line shared by ``analysis.aggregate``, ``analysis.fits`` and ``analysis.figures``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("sweep_dir", type=Path, help="folder searched recursively for results.json")
    parser.add_argument("--out", type=Path, required=True, help="where tables, fits and figures go")
    parser.add_argument("--n-bootstrap", type=int, default=2000, help="bootstrap resamples for pooled CIs and fits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args(argv)
    sweep = load_sweep(args.sweep_dir)
    tables = write_tables(sweep, args.out, args.n_bootstrap, args.seed)
    print(f"{len(sweep.runs)} runs, {len(tables['runs'])} rows, {len(sweep.failed)} failed jobs -> {args.out}")
    for job in sweep.failed:
        print(f"  failed: {job['run_dir']}: {job['error']}")


if __name__ == "__main__":
    main()
