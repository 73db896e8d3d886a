"""The didactic study, stage by stage: task → base policy → samples → statistics → results."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from vbvf.config import build
from vbvf.pipeline.artifacts import atomic_write_json, config_hash
from vbvf.pipeline.report import print_results
from vbvf.pipeline.seeding import stage_seed
from vbvf.stats import anti_concentration_summary, bilevel_return, heterogeneity_summary, performance
from vbvf.tasks import PlantedTask


def validate(cfg: DictConfig) -> None:
    """Value checks the schema cannot express; raise before any compute, naming the key."""
    horizons = list(cfg.eval.horizons)
    if not horizons or any(h < 1 for h in horizons) or sorted(set(horizons)) != horizons:
        raise ValueError(f"eval.horizons must be a non-empty increasing list of positive ints, got {horizons}")
    if cfg.eval.samples_per_prompt < 2:
        raise ValueError(f"eval.samples_per_prompt must be >= 2 (σ needs two samples), got {cfg.eval.samples_per_prompt}")
    if not 0 < cfg.eval.confidence < 1:
        raise ValueError(f"eval.confidence must lie in (0, 1), got {cfg.eval.confidence}")
    if not 0 < cfg.eval.c0 <= 1:
        raise ValueError(f"eval.c0 must lie in (0, 1], got {cfg.eval.c0}")


def base_statistics(task: PlantedTask, solve_time: np.ndarray, cfg: DictConfig, seed: int) -> dict:
    """Per-H performance, heterogeneity and anti-concentration of the base from its solve times."""
    out = {}
    for horizon in cfg.eval.horizons:
        returns = bilevel_return(solve_time, horizon)
        stats = performance(solve_time, horizon, cfg.eval.confidence, cfg.eval.n_bootstrap, seed)
        stats["heterogeneity"] = heterogeneity_summary(returns, horizon)
        stats["anti_concentration"] = anti_concentration_summary(returns, list(cfg.eval.eps), cfg.eval.c0)
        out[str(horizon)] = stats
    return out


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Run the didactic experiment and write ``results.json`` in ``run_dir``."""
    validate(cfg)
    timing = {}
    start = time.perf_counter()
    task: PlantedTask = build(cfg.task)
    base = build(cfg.base, task=task)

    # The base does not condition on H, so one sample at the largest budget serves every H.
    samples_seed = stage_seed(cfg.seed, "base_samples")
    prompts = task.test_prompts
    m, horizon_max = cfg.eval.samples_per_prompt, max(cfg.eval.horizons)
    traces = base.sample(prompts, m, horizon_max, samples_seed)
    gold = np.repeat(task.gold(prompts), m, axis=0)
    solve_time = task.solve_time(traces.reshape(-1, horizon_max), gold).reshape(len(prompts), m)
    timing["base_samples"] = time.perf_counter() - start

    resolved = OmegaConf.to_container(cfg, resolve=True)
    results = {
        "schema_version": 1,
        "experiment": cfg.experiment,
        "config": resolved,
        "config_hash": config_hash(resolved),
        "seeds": {"run": cfg.seed, "task": task.seed, "base_samples": samples_seed},
        "sample_counts": {"test_prompts": len(prompts), "samples_per_prompt": m},
        "horizons": list(cfg.eval.horizons),
        "base_stats": base_statistics(task, solve_time, cfg, stage_seed(cfg.seed, "bootstrap")),
        "arms": {},
        "gaps": {},
    }
    timing["total"] = time.perf_counter() - start
    results["timing_s"] = timing
    atomic_write_json(run_dir / "results.json", results)
    print_results(results)
    return results
