"""Compute-optimal selection by difficulty, as in the HF test-time-compute study: from a MATH run's
stored samples, which selection method is best at each budget N within each difficulty group, and
the compute-optimal curve that picks the best method per group.

Difficulty groups are the problem's level and the bin of the base's pass rate (the share of its
stored samples that are right; fixed-width bins, so the bin is an oracle label, as in the study).
Selections are redone offline from ``graded.npz`` (``base_correct``, ``base_answer_keys``,
``base_scores``, ``base_tokens``, ``levels``): majority vote groups the stored canonical answer
keys (no math-verify merging), (weighted) Best-of-N uses the verifier's scores. pass@N is the
oracle ceiling, drawn but never picked; ties go to the method listed first. The compute-optimal
accuracy at N is the problem-weighted mean over groups of the best pickable method's accuracy there.

    python -m analysis.compute_optimal RUN_DIR [--bins 5]   # writes compute_optimal.{json,md,png,pdf}
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from analysis.plotting import plt, save
from vbvf.pipeline.artifacts import atomic_write_json, atomic_write_text
from vbvf.arms.selection import SELECTIONS, selection_correct
from vbvf.tasks.math.samples import Graded

ORACLES = ("pass_at_n",)


def stored_samples(run_dir: Path) -> tuple[Graded, np.ndarray]:
    """The base samples of a run as the selection methods see them, and each problem's level."""
    data = np.load(run_dir / "graded.npz")
    keys = data["base_answer_keys"]
    answers = [[key or None for key in row] for row in keys.tolist()]
    return Graded(answers, data["base_correct"], data["base_tokens"], data["base_scores"]), data["levels"]


def pass_rate_bins(correct: np.ndarray, n_bins: int) -> list[str]:
    """Each problem's bin of base pass rate, as a label ``[lo, hi)`` (the last bin includes 1)."""
    rate = correct.mean(axis=1)
    index = np.minimum((rate * n_bins).astype(int), n_bins - 1)
    return [f"pass {i / n_bins:.2f}–{(i + 1) / n_bins:.2f}" for i in index]


def by_group(per_problem: dict[str, np.ndarray], groups: list[str]) -> dict[str, dict]:
    """Per group: its problem count, each method's accuracy at every N, and the best pickable method."""
    out = {}
    for group in sorted(set(groups)):
        rows = np.array([g == group for g in groups])
        accuracy = {name: ok[rows].mean(axis=0) for name, ok in per_problem.items()}
        pickable = [name for name in accuracy if name not in ORACLES]
        best = [max(pickable, key=lambda name: accuracy[name][k]) for k in range(len(next(iter(accuracy.values()))))]
        out[group] = {"problems": int(rows.sum()), "accuracy": {k: v.tolist() for k, v in accuracy.items()}, "best": best}
    return out


def optimal_curve(groups: dict[str, dict]) -> list[float]:
    """At each N: the problem-weighted mean over groups of the best method's accuracy there."""
    total = sum(g["problems"] for g in groups.values())
    n_budgets = len(next(iter(groups.values()))["best"])
    return [sum(g["problems"] * g["accuracy"][g["best"][k]][k] for g in groups.values()) / total for k in range(n_budgets)]


def compute_optimal(graded: Graded, levels: np.ndarray, n_grid: list[int], methods: list[str], n_bins: int = 5) -> dict:
    """Per level and per pass-rate bin: accuracy of each method at each N and the best one; the
    overall accuracy of each method and the compute-optimal curves that pick per level / per bin."""
    per_problem = {name: np.array(ok, dtype=float).T for name, ok in _per_n(graded, methods, n_grid).items()}
    groupings = {"level": [f"level {level}" for level in levels.tolist()], "pass_rate_bin": pass_rate_bins(graded.correct, n_bins)}
    tables = {name: by_group(per_problem, groups) for name, groups in groupings.items()}
    return {
        "n_grid": n_grid,
        "tokens_mean": [float(graded.tokens[:, :n].sum(axis=1).mean()) for n in n_grid],
        "overall": {name: ok.mean(axis=0).tolist() for name, ok in per_problem.items()},
        "by": tables,
        "compute_optimal": {name: optimal_curve(groups) for name, groups in tables.items()},
    }


def _per_n(graded: Graded, methods: list[str], n_grid: list[int]) -> dict[str, list[list[bool]]]:
    """Per method: [N index][problem] correctness of its pick from the first N samples (keys only)."""
    return {name: list(per_n.values()) for name, per_n in selection_correct(graded, methods, n_grid, match=None).items()}


def markdown(result: dict) -> str:
    """One table per grouping: group, problems, N, best method and every method's accuracy."""
    methods = list(result["overall"])
    lines = []
    for grouping, groups in result["by"].items():
        lines += [f"### by {grouping.replace('_', ' ')}", "",
                  "| group | problems | N | best | " + " | ".join(methods) + " |", "|---|---|---|---|" + "---|" * len(methods)]
        for group, g in groups.items():
            for k, n in enumerate(result["n_grid"]):
                cells = " | ".join(f"{g['accuracy'][m][k]:.3f}" for m in methods)
                lines.append(f"| {group} | {g['problems']} | {n} | {g['best'][k]} | {cells} |")
        curve = " ".join(f"{a:.3f}" for a in result["compute_optimal"][grouping])
        lines += ["", f"compute-optimal by {grouping.replace('_', ' ')} at N = {result['n_grid']}: {curve}", ""]
    return "\n".join(lines)


def provenance(results: dict, graded: Graded) -> dict:
    """The run behind the figure, in the caption's terms: experiment, config hash, seeds, sample counts."""
    problems, samples = graded.tokens.shape
    return {"runs": 1, "experiments": [results["experiment"]], "config_hashes": [results["config_hash"]],
            "seeds": [results["config"]["seed"]], "sample_counts_text": [f"{problems} problems × {samples} base samples"],
            "data_cost": [f"n={results['config']['data']['n']}"]}


def figure(result: dict, out: Path, prov: dict) -> dict:
    """Accuracy vs N of each method and of the compute-optimal picks; one panel per pass-rate bin."""
    bins = result["by"]["pass_rate_bin"]
    fig, axes = plt.subplots(1, 1 + len(bins), figsize=(4 * (1 + len(bins)), 3.4), squeeze=False)
    n_grid = result["n_grid"]
    panels = [("all problems", result["overall"])] + [(f"{group} ({g['problems']})", g["accuracy"]) for group, g in bins.items()]
    for ax, (title, accuracy) in zip(axes[0], panels):
        for name, values in accuracy.items():
            ax.plot(n_grid, values, marker="o", label=name, linestyle=":" if name in ORACLES else "-")
        ax.set(title=title, xscale="log", xlabel="N (samples)", ylim=(-0.02, 1.02))
        ax.set_xticks(n_grid, [str(n) for n in n_grid])
        ax.minorticks_off()  # only the grid's N on the log axis
    for grouping, curve in result["compute_optimal"].items():
        axes[0][0].plot(n_grid, curve, color="black", linestyle="--" if grouping == "level" else "-", linewidth=2,
                        label=f"compute-optimal ({grouping.replace('_', ' ')})")
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=7)
    return save(fig, out, "compute_optimal", prov)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Compute-optimal selection by level and base pass-rate bin from a MATH run's samples.")
    parser.add_argument("run_dir", type=Path, help="a MATH-arms run directory (results.json, graded.npz)")
    parser.add_argument("--bins", type=int, default=5, help="pass-rate bins of equal width")
    args = parser.parse_args(argv)
    results = json.loads((args.run_dir / "results.json").read_text())
    config = results["config"]
    methods = [m for m in config["selection"]["methods"] if m in SELECTIONS]
    graded, levels = stored_samples(args.run_dir)
    result = compute_optimal(graded, levels, config["selection"]["n_grid"], methods, args.bins)
    result["figure"] = figure(result, args.run_dir, provenance(results, graded))
    atomic_write_json(args.run_dir / "compute_optimal.json", result)
    atomic_write_text(args.run_dir / "compute_optimal.md", markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
