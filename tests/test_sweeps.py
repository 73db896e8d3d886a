"""Sweeps end to end: a tiny joblib multirun of the smoke experiment (with poisoned jobs), then the
figure command on what it stored: tables, fits, figures, and the failed jobs listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from analysis.aggregate import job_failed, load_sweep, run_rows
from analysis.arm_difference import arm_difference
from analysis.figures import ARM_STYLE, PALETTE, main as figures_main
from analysis.fits import diagonals, vb_arms
from tests.conftest import ROOT, run_cli

MIXTURES, SEEDS, NS, HORIZONS = ("low", "high"), (0, 1), (6, 12), (4, 8)  # n = 1.5·H: one n ∝ H line
POISON_N = 0  # data.n = 0 composes (an int) but the pipeline's validate() rejects it
VB_ARMS = ("vb_bon@1", "vb_bon@2", "vb_progress", "vb_rl")
FIGURES = ("fig1_performance_vs_H", "fig2_gap_vs_H", "fig3_gap_vs_sigma", "fig4_gap_vs_n",
           "fig7_heterogeneity", "fig8_anti_concentration")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """Multirun of the smoke experiment over n × mixture × seed, plus one poisoned n value."""
    root = tmp_path_factory.mktemp("sweep")
    run_cli(["-m", "experiment=didactic_smoke", f"eval.horizons=[{','.join(map(str, HORIZONS))}]",
             f"data.n={','.join(map(str, NS + (POISON_N,)))}", f"mixture={','.join(MIXTURES)}",
             f"seed={','.join(map(str, SEEDS))}", "vf.max_rounds=6",  # VF needs a success on some prompt
             "vb.rl.progress.true_control=false",  # vb_progress stays on: figures 2-4 are drawn for it too
             "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "torch_threads=1",
             f"cache_dir={root / 'cache'}", f"hydra.sweep.dir={root / 'sweep'}"], root)
    return root / "sweep"


@pytest.fixture(scope="module")
def figures(sweep) -> Path:
    """``python -m analysis.figures SWEEP --out OUT``, as a user runs it."""
    out = sweep.parent / "figures"
    proc = subprocess.run([sys.executable, "-m", "analysis.figures", str(sweep), "--out", str(out), "--n-bootstrap", "300"],
                          cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_poisoned_jobs_fail_inside_the_pipeline_and_the_sweep_goes_on(sweep):
    failed = sorted(p.parent for p in sweep.rglob("failed.json"))
    assert len(failed) == len(MIXTURES) * len(SEEDS)
    for job in failed:
        record = json.loads((job / "failed.json").read_text())
        assert f"data.n={POISON_N}" in record["overrides"]
        assert "in validate" in record["traceback"] and "data.n" in record["error"]
        assert not (job / "results.json").exists()
    assert len(list(sweep.rglob("results.json"))) == len(MIXTURES) * len(SEEDS) * len(NS)


def test_aggregate_lists_the_failed_jobs_and_has_a_row_per_run_arm_and_horizon(sweep, figures):
    loaded = load_sweep(sweep)
    runs = pd.read_csv(figures / "runs.csv")
    failed = json.loads((figures / "failed_jobs.json").read_text())
    assert sorted(job["run_dir"] for job in failed) == sorted(str(p.parent.relative_to(sweep)) for p in sweep.rglob("failed.json"))
    arms = {"base", "vf", "vf_expert", "vb_bon@1", "vb_bon@2", "vb_rl", "rl_true", "vb_progress", "optimal"}
    assert set(runs.arm) == arms and set(runs.H) == set(HORIZONS)
    assert len(runs) == len(loaded.runs) * len(arms) * len(HORIZONS)
    keys = set(zip(runs.mixture, runs.seed, runs.n))
    assert keys == {(m, s, n) for m in MIXTURES for s in SEEDS for n in NS}
    assert runs.groupby(["run_dir", "arm", "H"]).size().eq(1).all()
    arms_only = runs[runs.arm != "base"]
    assert arms_only.compute_matched.all() and (arms_only.tokens_per_prompt_mean <= arms_only.H).all()
    vb = runs[runs.arm.str.startswith("vb_")]
    assert vb.gap.notna().all() and (vb.gap_low <= vb.gap).all() and (vb.gap <= vb.gap_high).all()
    assert runs[~runs.arm.str.startswith("vb_")].gap.isna().all()


def test_pooled_rows_use_prompts_and_seeds_as_units(sweep, figures):
    runs, pooled = pd.read_csv(figures / "runs.csv"), pd.read_csv(figures / "pooled.csv")
    test_prompts = runs.test_prompts.iloc[0]
    assert len(pooled) == len(runs) // len(SEEDS)
    assert (pooled.n_seeds == len(SEEDS)).all() and (pooled.units == len(SEEDS) * test_prompts).all()
    assert (pooled.ci == "95% CI: two-way cluster bootstrap over seeds × prompts").all()
    # equal prompts per seed: the pooled mean is the mean of the runs' own estimates
    per_run = runs.groupby(["mixture", "n", "arm", "H"])[["J", "gap"]].mean()
    merged = pooled.merge(per_run.reset_index(), on=["mixture", "n", "arm", "H"], suffixes=("", "_runs"))
    assert len(merged) == len(pooled)
    assert (merged.J - merged.J_runs).abs().max() < 1e-9
    assert (merged.gap - merged.gap_runs).abs().max(skipna=True) < 1e-9
    assert (pooled.J_low <= pooled.J).all() and (pooled.J <= pooled.J_high).all()


def test_arm_difference_is_the_pooled_difference_of_the_two_arms(sweep, figures):
    pooled = pd.read_csv(figures / "pooled.csv").set_index(["mixture", "n", "H", "arm"]).J
    diff = arm_difference(sweep, "vb_progress", "vb_rl", n_resamples=300)
    assert len(diff) == len(MIXTURES) * len(NS) * len(HORIZONS) and (diff.seeds == "0,1").all()
    for row in diff.itertuples():
        expected = pooled[(row.mixture, row.n, row.H, "vb_progress")] - pooled[(row.mixture, row.n, row.H, "vb_rl")]
        assert abs(row.diff - expected) < 1e-9 and row.diff_low <= row.diff <= row.diff_high
        assert abs(row.diff_norm - row.diff / row.H) < 1e-12
    with pytest.raises(SystemExit, match="holds both"):
        arm_difference(sweep, "vb_progress", "rl_true_progress")


def test_fits_cover_each_level_for_n_fixed_and_n_proportional_to_H(figures):
    fits = json.loads((figures / "fits.json").read_text())
    pooled = pd.read_csv(figures / "pooled.csv").set_index(["mixture", "n", "arm", "H"])
    fixed = [f for f in fits if f["regime"] == "n fixed"]
    assert {(f["mixture"], f["n"][0], f["arm"]) for f in fixed} == {
        (m, n, a) for m in MIXTURES for n in NS for a in VB_ARMS}
    for fit in fixed:
        assert fit["horizons"] == list(HORIZONS) and fit["seeds"] == list(SEEDS)
        for horizon, gap in zip(fit["horizons"], fit["gaps"]):
            assert gap == pytest.approx(pooled.loc[(fit["mixture"], fit["n"][0], fit["arm"], horizon), "gap"])
        assert (fit["alpha_low"] is None) == (fit["half_in_ci"] is None) == (not fit["alpha_identified"])  # NaN: null
        assert fit["alpha_identified"] or "not identified" in fit["note"]
        assert fit["ci"] == "95% CI: two-way cluster bootstrap over seeds × prompts"
    proportional = [f for f in fits if f["regime"] == "n ∝ H"]
    assert {(f["mixture"], f["arm"]) for f in proportional} == {(m, a) for m in MIXTURES for a in VB_ARMS}
    assert all(f["n"] == list(NS) and f["n_per_H"] == NS[0] / HORIZONS[0] for f in proportional)


def test_every_figure_is_written_with_its_provenance(sweep, figures):
    manifest = json.loads((figures / "figures.json").read_text())
    hashes = {json.loads(p.read_text())["config_hash"] for p in sweep.rglob("results.json")}
    assert manifest["vb_arm"] == "vb_rl"  # VB-RL is the default VB arm of figures 2-4 when present
    assert manifest["vb_arms"] == ["vb_rl", "vb_progress"]  # then the progress arm, in files of its own
    assert len(manifest["failed_jobs"]) == len(MIXTURES) * len(SEEDS)
    for name in FIGURES + tuple(f"{name}_vb_progress" for name in FIGURES[1:4]):
        entry = manifest["figures"][name]
        assert "skipped" not in entry, entry
        assert entry["files"] == [f"{name}.png", f"{name}.pdf"]
        assert all((figures / f).stat().st_size > 0 for f in entry["files"])
        prov = entry["provenance"]
        assert set(prov["config_hashes"]) <= hashes and prov["seeds"] == list(SEEDS)
        assert prov["sample_counts"] == [{"test_prompts": 4, "samples_per_prompt": 4}]
        png = Image.open(figures / f"{name}.png").text
        assert json.loads(png["Comment"]) == prov and prov["config_hashes"][0] in png["Description"]
    assert manifest["figures"]["fig2_gap_vs_H"]["notes"] == []


def test_an_arm_not_known_to_be_compute_matched_has_no_gap(sweep):
    run = load_sweep(sweep).runs[0]
    assert vb_arms(run) == list(VB_ARMS) and run.gap("vb_bon@2", 8) is not None
    for stats in run.results["arms"]["vb_bon@2"].values():  # as in results written before the compute rule
        del stats["compute_matched"]
    assert run.gap("vb_bon@2", 8) is None and vb_arms(run) == ["vb_bon@1", "vb_progress", "vb_rl"]
    run.results["arms"]["vf"]["8"]["compute_matched"] = False
    assert vb_arms(run) == [] and run_rows(run, sweep)[0]["gap"] is None


def test_missing_data_is_reported_as_skipped(sweep, tmp_path, capsys):
    one_run = next(p.parent for p in sweep.rglob("results.json"))
    manifest = figures_main([str(one_run), "--out", str(tmp_path), "--n-bootstrap", "100"])
    figs = manifest["figures"]
    assert "single data budget" in figs["fig4_gap_vs_n"]["skipped"]
    assert "two heterogeneity levels" in figs["fig3_gap_vs_sigma"]["skipped"]
    assert figs["fig2_gap_vs_H"]["notes"] and "n ∝ H" in figs["fig2_gap_vs_H"]["notes"][0]
    assert {"fig1_performance_vs_H", "fig7_heterogeneity", "fig8_anti_concentration"} <= {
        name for name, entry in figs.items() if "files" in entry}
    assert "fig4_gap_vs_n: skipped" in capsys.readouterr().out


def test_base_only_results_skip_the_arm_figures(tmp_path):
    run_cli(["experiment=didactic", "base=procedural", "eval.horizons=[8,16]", "eval.samples_per_prompt=8",
             "task.n_test=12", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    figs = figures_main([str(tmp_path / "run"), "--out", str(tmp_path / "figs"), "--n-bootstrap", "100"])["figures"]
    assert {name for name, entry in figs.items() if "skipped" in entry} == set(FIGURES[:4])
    assert (tmp_path / "figs" / "fig7_heterogeneity.png").exists()


def test_diagonals_are_the_n_proportional_to_H_lines_of_the_grid():
    lines = diagonals([16, 32, 64], [8, 16, 32])
    assert lines[2] == [(8, 16), (16, 32), (32, 64)]
    assert lines[1] == [(16, 16), (32, 32)] and lines[4] == [(8, 32), (16, 64)]
    assert all(len(points) >= 2 for points in lines.values()) and 8 not in lines


def test_a_rerun_that_succeeded_is_not_a_failed_job(tmp_path):
    (tmp_path / "failed.json").write_text("{}")
    assert job_failed(tmp_path)
    (tmp_path / "results.json").write_text("{}")
    os.utime(tmp_path / "failed.json", (1, 1))
    assert not job_failed(tmp_path)


def test_recipes_compute_n_proportional_to_H_and_parse():
    for recipe in sorted((ROOT / "experiments").glob("*.sh")):
        assert subprocess.run(["bash", "-n", str(recipe)]).returncode == 0, recipe
    out = subprocess.run(["bash", "-c", "source experiments/common.sh cpu && proportional_n && echo $EXPERIMENT"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["16,32,64", "didactic"]


def test_math_recipes_pick_the_math_experiments_and_no_didactic_grid():
    for scale, experiment in (("cpu", "math_arms_cpu"), ("real", "math_arms")):
        out = subprocess.run(["bash", "-c", f"TESTBED=math; source experiments/common.sh {scale} && "
                              "echo $EXPERIMENT ${#GRID_OVERRIDES[@]} $N_GRID"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        assert out[:2] == [experiment, "0"]  # the MATH H grid is the experiment's own selection.n_grid
    wrong = subprocess.run(["bash", "-c", "TESTBED=math; source experiments/common.sh paper"], cwd=ROOT, capture_output=True, text=True)
    assert wrong.returncode == 2 and "cpu or real" in wrong.stderr


def test_arm_colours_never_clash_with_the_references():
    """Figure 1: base grey, optimal black, progress arms fixed; the palette of every other arm holds none of them."""
    fixed = [style["color"] for style in ARM_STYLE.values()]
    assert len(set(fixed)) == len(fixed) and not set(fixed) & set(PALETTE) and len(set(PALETTE)) == len(PALETTE)
    assert {"grey", "black"} <= set(fixed) and not {"grey", "gray", "tab:gray", "black"} & set(PALETTE)
