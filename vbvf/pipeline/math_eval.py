"""MATH evaluation, stage by stage: problems → prompts → samples → grades → selection at each N
(and PRM search) → statistics of the base (heterogeneity, anti-concentration) → results.json.

Samples go through the on-disk cache, so a rerun never resamples. Every method reports the
tokens it generated per problem.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vbvf.arms.prm_search import SEARCHES, evaluate_search, search_settings
from vbvf.arms.selection import check_selection, evaluate_selection
from vbvf.arms.voting import MemoMatch
from vbvf.config import MathEvalConfig, RunConfig
from vbvf.models.gguf import resolve_model
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.math_statistics import answer_rate, by_level, problem_levels
from vbvf.pipeline.results import results_header
from vbvf.pipeline.seeding import stage_seed
from vbvf.policies.samplers import CachedSampler, SamplingParams, build_sampler
from vbvf.stats import statistics_at
from vbvf.tasks.math import GradingPool, build_prompt, load_problems, solve_times
from vbvf.tasks.math.samples import Graded, grade_samples


def validate(cfg: dict) -> None:
    """Value checks before any compute; errors name the key."""
    check_selection(cfg["selection"], has_verifier=bool(cfg.get("verifier")))
    search = cfg.get("search")
    if search:
        if not cfg.get("verifier"):
            raise ValueError("search needs a verifier (its process scores guide the search)")
        if unknown := set(search["methods"]) - set(SEARCHES):
            raise ValueError(f"search.methods: unknown {sorted(unknown)}; choose from {sorted(SEARCHES)}")
        for n in search["n_grid"]:  # raises on a bad aggregation, beam shape or leaves choice
            search_settings(search, n)


def base_statistics(g: Graded, ev: dict, seed: int) -> dict:
    """Per H: performance, heterogeneity and anti-concentration of budget-H traces built from
    the first m = eval.samples_per_prompt attempts per problem (SPEC §4)."""
    m = ev["samples_per_prompt"]
    return statistics_at(lambda h: solve_times(g.tokens[:, :m], g.correct[:, :m], h, n_traces=m, seed=seed), ev["horizons"], ev, seed)


def typed_config(cfg: Any, schema: type[RunConfig]) -> dict:
    """The config as plain Python, checked against the testbed's root ``schema`` (an unknown key or a
    wrong type raises here, also for a plain dict passed from code) and completed with its defaults."""
    return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(schema), cfg), resolve=True)


def run_math_eval(cfg: Any, out_dir: str | Path) -> dict:
    """Run the MATH evaluation described by ``cfg``; write and return ``results.json``'s content."""
    cfg = typed_config(cfg, MathEvalConfig)
    validate(cfg)
    start, timing = time.perf_counter(), {}
    problems = load_problems(**cfg["data"]["eval"])
    if "name_or_path" in cfg["sampler"]:  # a gguf: model becomes its converted folder
        cfg["sampler"]["name_or_path"] = resolve_model(cfg["sampler"]["name_or_path"])
    sampler = CachedSampler(build_sampler(cfg["sampler"]), cfg["cache_dir"], **cfg["cache_check"])
    prompts = [build_prompt(p.problem, sampler.sampler.tokenizer, **cfg["prompt"]) for p in problems]
    m = cfg["eval"]["samples_per_prompt"]
    sampling = {**cfg["sampling"], "stop": tuple(cfg["sampling"]["stop"])}
    params = SamplingParams(n=max(cfg["selection"]["n_grid"][-1], m), **sampling)
    samples = sampler.sample(prompts, params)
    timing["sampling"] = time.perf_counter() - start

    verifier = instantiate(cfg["verifier"]) if cfg.get("verifier") else None
    seeds = {"sampling": params.seed, "bootstrap": stage_seed(cfg["seed"], "bootstrap")}
    seeds["traces"] = stage_seed(cfg["seed"], "traces")
    with GradingPool(cfg["grading"]["workers"], cfg["grading"]["timeout_s"], cfg["grading"]["set_relation"]) as pool:
        graded = grade_samples(problems, prompts, samples, pool, verifier)
        timing["grading"] = time.perf_counter() - start - sum(timing.values())
        methods = evaluate_selection(graded, cfg, MemoMatch(pool.match), seeds["bootstrap"])
        if cfg.get("search"):
            methods |= evaluate_search(problems, prompts, sampler, verifier, pool, cfg, params, seeds["bootstrap"])
    timing["selection"] = time.perf_counter() - start - sum(timing.values())

    stats = base_statistics(graded, cfg["eval"], seeds["traces"])
    levels = problem_levels(problems)
    results = results_header("math_eval", cfg, seeds, cfg["eval"]["horizons"], arm_budget="N") | {
        "sample_counts": {"problems": len(problems), "samples_per_problem": params.n, "m": m},
        "base": {"answer_rate": answer_rate(graded.answers),  # share of all samples with a boxed answer
                 "by_level": by_level(levels, graded.correct, graded.answers, stats, cfg, seeds["bootstrap"])},
        "base_stats": stats,
        "arms": methods,  # per method, per N: selections over the first N samples, searches with N beams
        "gaps": {},  # no VF arm here
    }
    timing["total"] = time.perf_counter() - start
    results["timing_s"] = timing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"correct": graded.correct, "tokens": graded.tokens, "levels": levels}
    np.savez_compressed(out_dir / "graded.npz", **arrays, **({} if graded.scores is None else {"scores": graded.scores}))
    atomic_write_json(out_dir / "results.json", results)
    return results
