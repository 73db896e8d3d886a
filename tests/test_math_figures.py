"""MATH-arms aggregation and figures 5-8 on a fake sweep of results.json files with known numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.aggregate import load_sweep
from analysis.figures import main as figures_main
from analysis.math_aggregate import averaged_table, math_runs_table
from analysis.math_figures import MATH_FIGURES, MathAnalysis, ordered
from analysis.plotting import draw
from vbvf.pipeline.results import results_header

H_STEP, N_GRID = 16, (1, 2, 4)  # h and N: H = 16, 32, 64
SIGMA = {"low": 1.0, "high": 5.0}  # the base's σ_x on every problem
METHODS = ("majority_vote", "weighted_best_of_n", "best_of_n", "pass_at_n")
PROBLEMS = 10


def accuracy(arm: str, level: str, seed: int, n: int, n_samples: int, max_wrong: int) -> float:
    """The known accuracy of every (run, arm, N): distinct per seed, n, level and VF length."""
    if arm == "vf":
        return 0.10 + 0.01 * max_wrong + 0.02 * seed + n / 1000
    return 0.20 + 0.05 * np.log2(n_samples) + 0.03 * seed + METHODS.index(arm) / 100 + (level == "high") / 10


def estimate(value: float) -> dict:
    return {"accuracy": value, "ci": [value - 0.05, value + 0.05], "n": PROBLEMS}


def fake_results(level: str, seed: int, n: int, max_wrong: int = 3, n_grid: tuple[int, ...] = N_GRID) -> dict:
    config = {"experiment": "math_arms_fake", "seed": seed, "cache_dir": "/cache", "model": {"name_or_path": "tiny"},
              "data": {"n": n}, "vf": {"stitch": {"max_wrong": max_wrong}}, "heterogeneity": {"level": level},
              "selection": {"n_grid": list(n_grid)}, "sampling": {"max_tokens": H_STEP}}
    horizons = [N * H_STEP for N in n_grid]
    sigma = [SIGMA[level]] * PROBLEMS
    base = {str(H): {"heterogeneity": {"median_sigma": SIGMA[level], "per_prompt_sigma": sigma},
                     "anti_concentration": {"0.5": {"per_prompt": [0.3] * (PROBLEMS - 2) + [None] * 2, "n_degenerate": 2,
                                                    "c0": 0.1}}} for H in horizons}
    acc = {arm: {str(H): accuracy(arm, level, seed, n, N, max_wrong) for N, H in zip(n_grid, horizons)}
           for arm in ("vf",) + METHODS}
    return results_header("math_arms", config, {"run": seed}, horizons) | {
        "level": level, "budget": {"h": H_STEP, "n_grid": list(n_grid)},
        "sample_counts": {"train_problems": n, "eval_problems": PROBLEMS, "base_samples_per_eval_problem": 8, "m": 8,
                          "vf_traces_per_eval_problem": 2},
        "data_budget": {"n": n, "vb": {"labelled": 4 * n, "positive": n}, "vf": {"traces": n - 1}}, "base_stats": base,
        "arms": {"vf": {H: estimate(v) | {"tokens_mean": float(H)} for H, v in acc["vf"].items()}}
                | {m: {H: estimate(v) | {"tokens_mean": float(H), "N": N} for (H, v), N in zip(acc[m].items(), n_grid)}
                   for m in METHODS},
        "gaps": {m: {H: {"value": acc[m][H] - acc["vf"][H], "low": acc[m][H] - acc["vf"][H] - 0.1,
                         "high": acc[m][H] - acc["vf"][H] + 0.1, "n": PROBLEMS} for H in acc[m]}
                 for m in ("weighted_best_of_n", "best_of_n")},
    }


def write_sweep(root: Path, runs: list[tuple]) -> Path:
    for i, args in enumerate(runs):
        (root / f"job{i}").mkdir(parents=True)
        (root / f"job{i}" / "results.json").write_text(json.dumps(fake_results(*args)))
    return root


# (level, seed, n[, VF max_wrong]): 'high' over n = 4, 8; 'low' at n = 8; a long-trace VF on 'high' at n = 8
FULL = [("high", seed, n) for seed in (0, 1) for n in (4, 8)] + [("low", 0, 8), ("low", 1, 8), ("high", 0, 8, 7), ("high", 1, 8, 7)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    return write_sweep(tmp_path_factory.mktemp("math_sweep"), FULL)


def test_runs_table_reads_every_arm_at_every_matched_budget(sweep):
    runs = math_runs_table(load_sweep(sweep))
    assert len(runs) == len(FULL) * 5 * len(N_GRID)
    row = runs[(runs.level == "high") & (runs.seed == 1) & (runs.n == 4) & (runs.arm == "best_of_n") & (runs.H == 64)].iloc[0]
    assert row.N == 4 and row.vf_max_wrong == 3 and row.base_median_sigma == SIGMA["high"]
    assert row.accuracy == pytest.approx(accuracy("best_of_n", "high", 1, 4, 4, 3))
    assert row.accuracy_high - row.accuracy == pytest.approx(0.05)
    assert row.gap == pytest.approx(accuracy("best_of_n", "high", 1, 4, 4, 3) - accuracy("vf", "high", 1, 4, 4, 3))
    assert runs[runs.arm.isin(["vf", "majority_vote", "pass_at_n"])].gap.isna().all()


def test_seeds_are_averaged_and_intervals_span_the_runs(sweep):
    averaged = averaged_table(math_runs_table(load_sweep(sweep)))
    assert len(averaged) == (len(FULL) // 2) * 5 * len(N_GRID) and (averaged.n_seeds == 2).all()
    row = averaged[(averaged.level == "high") & (averaged.n == 8) & (averaged.vf_max_wrong == 7)
                   & (averaged.arm == "vf") & (averaged.H == 32)].iloc[0]
    seeds = [accuracy("vf", "high", s, 8, 2, 7) for s in (0, 1)]
    assert row.seeds == "0,1" and row.accuracy == pytest.approx(np.mean(seeds))
    assert (row.accuracy_low, row.accuracy_high) == pytest.approx((min(seeds) - 0.05, max(seeds) + 0.05))
    groups = ordered(averaged[averaged.n == 8], "group")  # by measured σ (low first), then VF length
    assert [averaged[averaged.group == g].level.iloc[0] for g in groups] == ["low", "high", "high"]
    assert averaged[averaged.group == groups[-1]].vf_max_wrong.iloc[0] == 7


def test_every_math_figure_is_written_with_its_provenance(sweep, tmp_path):
    manifest = figures_main([str(sweep), "--out", str(tmp_path)])
    assert set(manifest["figures"]) == set(MATH_FIGURES)  # no didactic runs: no didactic figures
    for name, entry in manifest["figures"].items():
        assert "skipped" not in entry, (name, entry)
        assert all((tmp_path / f).stat().st_size > 0 for f in (f"{name}.png", f"{name}.pdf"))
        assert entry["provenance"]["seeds"] == [0, 1] and "10 test problems" in entry["caption"]
        assert "VB 32 labelled samples (8 correct); VF 7 stitched traces" in entry["caption"]
    long_trace = {fake_results("high", s, 8, w)["config_hash"] for s in (0, 1) for w in (3, 7)}
    assert set(manifest["figures"]["fig6_math_long_trace"]["provenance"]["config_hashes"]) == long_trace
    assert pd.read_csv(tmp_path / "math_averaged.csv").n_seeds.eq(2).all()


def test_a_single_n_and_vf_length_skip_figures_5b_5c_and_6(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, [("low", 0, 4), ("high", 0, 4)]))
    analysis = MathAnalysis(sweep, averaged_table(math_runs_table(sweep)))
    figures = {name: draw(MATH_FIGURES[name], analysis, tmp_path) for name in MATH_FIGURES if name[:4] in ("fig5", "fig6")}
    assert "single data budget n (4)" in figures["fig5b_math_vs_n"]["skipped"]
    assert "skipped" in figures["fig5c_math_joint_n_H"] and "max_wrong" in figures["fig6_math_long_trace"]["skipped"]
    assert figures["fig5a_math_accuracy_vs_tokens"]["provenance"]["runs"] == 2


def test_panels_are_ordered_by_sigma_at_each_configurations_own_largest_H(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, [("high", 0, 4, 3, (1, 2, 4, 8)), ("low", 0, 4)]))
    averaged = averaged_table(math_runs_table(sweep))
    assert [averaged[averaged.group == g].level.iloc[0] for g in ordered(averaged, "group")] == ["low", "high"]


def schema_1(results: dict) -> dict:
    """``results`` as vbvf wrote MATH-arms results before the one shape: arms under vb / vf, stats under base."""
    arms = results["arms"]
    old = {k: v for k, v in results.items() if k not in ("schema_version", "horizons", "arm_budget", "base_stats")}
    return old | {"budget": results["budget"] | {"horizons": results["horizons"]}, "base": {"stats": results["base_stats"]},
                  "arms": {"vf": arms["vf"], "vb": {m: arms[m] for m in METHODS}}}


def eval_results(seed: int) -> dict:
    """A MATH evaluation run (pipeline math_eval): selections keyed by N, no gaps."""
    config = {"experiment": "math_eval", "seed": seed, "cache_dir": "/cache", "eval": {"horizons": [16]}}
    base = fake_results("low", seed, 4)["base_stats"]["16"]
    return results_header("math_eval", config, {"run": seed}, [16], arm_budget="N") | {
        "sample_counts": {"problems": PROBLEMS, "samples_per_problem": 4, "m": 4}, "base_stats": {"16": base},
        "arms": {"majority_vote": {"1": estimate(0.5) | {"tokens_mean": 16.0}}}, "gaps": {},
    }


def test_math_eval_runs_and_schema_1_results_in_a_sweep_are_read(tmp_path):
    root = write_sweep(tmp_path, [("low", 0, 4), ("high", 0, 4)])
    old_eval = {k: v for k, v in eval_results(1).items() if k not in ("schema_version", "pipeline", "horizons", "arm_budget", "arms", "gaps")}
    for name, results in {"eval": eval_results(0), "old_eval": old_eval | {"methods": eval_results(1)["arms"]},
                          "old_arms": schema_1(fake_results("high", 1, 4))}.items():
        (root / name).mkdir()
        (root / name / "results.json").write_text(json.dumps(results))
    sweep = load_sweep(root)
    assert [len(sweep.runs), len(sweep.math_runs), len(sweep.eval_runs)] == [0, 3, 2]
    assert all(run.results["arms"] == eval_results(0)["arms"] for run in sweep.eval_runs)
    old, new = (next(r for r in sweep.math_runs if r.seed == s and r.level == "high") for s in (1, 0))
    assert list(old.results["arms"]) == list(new.results["arms"]) and old.horizons == new.horizons
    manifest = figures_main([str(root), "--out", str(tmp_path / "figures")])
    assert set(manifest["figures"]) == set(MATH_FIGURES)


def test_a_long_title_is_wrapped_inside_a_one_panel_figure(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from analysis.plotting import save

    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    ax.plot([0, 1], [0, 1])
    fig.suptitle("Figure 5a · MATH: accuracy vs test-time tokens, VF vs VB (n = 20; math_real_smoke · "
                 "gguf:SmolLM2-135M-Instruct.Q4_1.gguf)\nseeds averaged; bars span the runs' 95% CIs", fontsize=9)
    title = fig._suptitle
    prov = {"runs": 1, "experiments": ["x"], "config_hashes": ["abc"], "seeds": [0], "sample_counts_text": [], "data_cost": []}
    save(fig, tmp_path, "one_panel", prov)
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = title.get_window_extent(renderer)
    assert title.get_fontsize() == 9 and title.get_text().count("\n") >= 2
    assert box.x0 >= 0 and box.x1 <= fig.get_figwidth() * fig.dpi  # inside the canvas, not cut at both sides
