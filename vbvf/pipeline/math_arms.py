"""The MATH arms (SPEC §4), stage by stage, at equal data and matched test-time tokens.

1. Base π_b: the pretrained model (``format_sft.enabled``: first SFT'd on gold solutions so that
   it boxes its answers), or (``heterogeneity.enabled``) that model SFT'd on traces of j wrong
   attempts then a right one, j ~ ``heterogeneity.wrong``, on problems set apart from the arms'
   (``heterogeneity.problems_offset``).
2. Data of both arms: ``vb.traces_per_prompt`` samples of π_b (≤ h = ``sampling.max_tokens``
   tokens) on each of the first ``data.n`` training problems, graded attempt by attempt.
3. VF: per problem one stitched trace (j ~ ``vf.stitch`` wrong attempts, then a right one) from
   those samples; completion-only SFT of π_b. At test, ``vf.eval_traces`` traces of at most
   H = N·h tokens for each N of ``selection.n_grid``.
4. VB: a verifier (π_b's weights + scalar head, BCE on final-answer correctness of the same
   samples) scores N samples of π_b (≤ h tokens each) for Best-of-N and weighted BoN; majority
   vote and pass@N run on the same samples.
Statistics of π_b (σ, c(ε)) at every H come from its test samples; every method reports its
``answer_rate``, the share of the samples it drew that hold a boxed answer. Trained models and their
data are stages of the stage cache; samples go through the sample cache; a rerun redoes only
what is missing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from vbvf.arms.components import configured_arms, run_in_order
from vbvf.arms.math_training import load_tokenizer
from vbvf.arms.selection import check_selection
from vbvf.arms.training import check_not_padding_free
from vbvf.config import MathArmsConfig
from vbvf.models.gguf import resolve_model
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.math_eval import typed_config
from vbvf.pipeline.math_fits import training_fits
from vbvf.pipeline.math_report import print_math_arms
from vbvf.pipeline.math_runner import MathArms
from vbvf.pipeline.math_statistics import answer_keys, answer_rate, base_statistics, by_level, gaps, horizons, problem_levels
from vbvf.pipeline.results import results_header
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import StageCache
from vbvf.tasks.math import GradingPool, load_problems
from vbvf.tasks.math.attempts import wrong_count_probabilities
from vbvf.tasks.math.config import CORRECT_SOURCES, WrongAttemptsConfig

log = logging.getLogger(__name__)


def validate(cfg: dict) -> None:
    """Value checks before any compute; errors name the key."""
    if not cfg["model"].get("name_or_path"):
        raise ValueError("model.name_or_path: the pretrained model (hub id or local dir) is required")
    for key in ("train", "eval"):
        if not cfg["data"].get(key):
            raise ValueError(f"data.{key}: a problem source is required (e.g. math_data=math_train)")
    check_selection(cfg["selection"], has_verifier=True)  # the arms train their verifier
    arms = configured_arms(cfg["arms"])  # a misspelt _target_ or role fails here, naming it
    if missing := [m for m in cfg["selection"]["methods"] if m not in {getattr(arm, "method", None) for arm in arms}]:
        raise ValueError(f"selection.methods: {missing} have no arm in arms (conf/arms/math.yaml)")
    check_not_padding_free(cfg["vb"]["verifier"]["train"], "vb.verifier.train")
    if cfg["vb"]["verifier"]["labels"] != "outcome":
        raise ValueError(f"vb.verifier.labels={cfg['vb']['verifier']['labels']!r}: the MATH verifier is an outcome verifier (set outcome)")
    if cfg["attempts"]["correct_source"] not in CORRECT_SOURCES:
        raise ValueError(f"attempts.correct_source={cfg['attempts']['correct_source']!r}: expected one of {CORRECT_SOURCES}")
    if not cfg["attempts"]["separator"].strip():
        raise ValueError("attempts.separator must contain visible text (attempts are split on it)")
    wrong_count_probabilities(WrongAttemptsConfig(**cfg["vf"]["stitch"]), "vf.stitch")
    if cfg["heterogeneity"]["enabled"]:
        wrong_count_probabilities(WrongAttemptsConfig(**cfg["heterogeneity"]["wrong"]), "heterogeneity.wrong")
    check_disjoint_ranges(cfg)
    for key, value in (("data.n", cfg["data"]["n"]), ("vb.traces_per_prompt", cfg["vb"]["traces_per_prompt"]),
                       ("vf.eval_traces", cfg["vf"]["eval_traces"])):
        if value < 1:
            raise ValueError(f"{key} must be ≥ 1, got {value}")
    if cfg["eval"]["samples_per_prompt"] < 2:
        raise ValueError(f"eval.samples_per_prompt must be ≥ 2 (σ needs two samples), got {cfg['eval']['samples_per_prompt']}")
    fit = cfg["fit_check"]
    for key in ("sft_min_relative_drop", "verifier_min_auroc"):
        if not 0.0 <= fit[key] <= 1.0:
            raise ValueError(f"fit_check.{key} must be in [0, 1], got {fit[key]}")


def problem_ranges(cfg: dict) -> dict[str, tuple[int, int]]:
    """The slices of data.train each use takes: the arms' first data.n, and the base SFTs' when enabled."""
    ranges = {"data.n": (0, cfg["data"]["n"])}
    for section in ("format_sft", "heterogeneity"):
        if cfg[section]["enabled"]:
            offset = cfg[section]["problems_offset"]
            ranges[f"{section}.problems_offset"] = (offset, offset + cfg[section]["n_problems"])
    return ranges


def check_disjoint_ranges(cfg: dict) -> None:
    """The arms, the format SFT and the heterogeneity SFT train on disjoint problems."""
    ranges = sorted(problem_ranges(cfg).items(), key=lambda item: item[1])
    for (first, (_, end)), (second, (start, _)) in zip(ranges, ranges[1:]):
        if start < end:
            raise ValueError(f"{second}={start} overlaps the problems of {first} (up to {end}); move it to at least {end}")


def check_problem_counts(cfg: dict, n_train: int) -> None:
    """Enough training problems for every slice of data.train."""
    for key, (_, end) in problem_ranges(cfg).items():
        if n_train < end:
            raise ValueError(f"{key}: needs data.train problems up to {end} but data.train holds only {n_train} problems")


def run_math_arms(cfg: Any, out_dir: str | Path) -> dict:
    """Run the MATH arms described by ``cfg``, stage by stage; write and return ``results.json``'s content."""
    cfg = typed_config(cfg, MathArmsConfig)
    validate(cfg)
    start = time.perf_counter()
    train_problems = load_problems(**cfg["data"]["train"])
    eval_problems = load_problems(**cfg["data"]["eval"])
    check_problem_counts(cfg, len(train_problems))
    pretrained = resolve_model(cfg["model"]["name_or_path"])
    cache = StageCache(Path(cfg["cache_dir"]) / "stages", **cfg["cache_check"])
    seeds = {"bootstrap": stage_seed(cfg["seed"], "bootstrap"), "traces": stage_seed(cfg["seed"], "traces")}
    with GradingPool(cfg["grading"]["workers"], cfg["grading"]["timeout_s"], cfg["grading"]["set_relation"]) as pool:
        run = MathArms(cfg, cache, pool, load_tokenizer(pretrained), pretrained, train_problems, eval_problems)
        arms, roles = run_in_order(configured_arms(cfg["arms"]), run, horizons(cfg))
        (base, formatting), train = run.base, run.train
        base_eval, graded, scores = run.scored
        vf_eval, vf = run.vf_evaluated  # also without a VF arm: graded.npz and the gaps' reference
        vb_correct = {name: run.selected[0][name] for name, role in roles.items() if role == "vb"}

    het = cfg["heterogeneity"]
    stats = base_statistics(base_eval, cfg, seeds["traces"])
    levels = problem_levels(eval_problems)
    training, training_warnings = training_fits(run.fits, cfg["fit_check"])
    for warning in training_warnings:
        log.warning(warning)
    results = results_header("math_arms", cfg, seeds | {"sampling": cfg["sampling"]["seed"], "run": cfg["seed"]}, horizons(cfg)) | {
        "level": het["level"] if het["enabled"] else "none",
        "budget": {"h": run.h, "n_grid": cfg["selection"]["n_grid"]},
        "sample_counts": {
            "train_problems": len(run.arm_problems), "eval_problems": len(eval_problems),
            "base_samples_per_eval_problem": int(base_eval.tokens.shape[1]), "m": cfg["eval"]["samples_per_prompt"],
            "vf_traces_per_eval_problem": cfg["vf"]["eval_traces"],
        },
        "data_budget": {
            "n": cfg["data"]["n"], "samples_per_problem": cfg["vb"]["traces_per_prompt"],
            "train_samples_correct": float(train.final_correct.mean()),
            "vf": run.reports["math_vf"], "vb": run.reports["math_verifier"],
        },
        "format_sft": formatting,
        "base": {"model": base, "sft_data": run.reports.get("math_base"), "answer_rate": answer_rate(graded.answers),
                 "by_level": by_level(levels, graded.correct, graded.answers, stats, cfg, seeds["bootstrap"])},
        "base_stats": stats,
        "training": training,
        "training_warnings": training_warnings,
        "arms": arms,
        "arm_roles": roles,
        "gaps": gaps(vb_correct, vf, cfg, seeds["bootstrap"]),
        "stages": cache.summary(),
        "timing_s": {"total": time.perf_counter() - start},
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "graded.npz", base_correct=graded.correct, base_tokens=graded.tokens, base_scores=scores,
                        base_answer_keys=answer_keys(graded.answers), levels=levels,
                        base_solved_at=base_eval.solved_at, vf_tokens=vf_eval.tokens, vf_solved_at=vf_eval.solved_at)
    atomic_write_json(out_dir / "results.json", results)
    print_math_arms(results)
    return results
