"""The didactic study, stage by stage: task → base policy → samples → statistics → arms → evaluation → results.

Each expensive stage goes through the stage cache (``vbvf/pipeline/stages.py``), keyed by the
config that affects it, so a rerun or a sweep point that shares a stage reuses it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from vbvf.arms.bon import CONVENTIONS, POOLS
from vbvf.arms.components import configured_arms
from vbvf.arms.training import check_not_padding_free, read_fit
from vbvf.config import build
from vbvf.pipeline.arms import run_arms, sample_solve_times
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.fidelity import fidelity_report
from vbvf.pipeline.figures import plot_run
from vbvf.pipeline.report import print_results
from vbvf.pipeline.results import results_header
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import StageCache, stage_label
from vbvf.policies.lm import DECODES, LMPolicy
from vbvf.policies.mixture_value import VALUE_KINDS
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.stats import statistics_at
from vbvf.tasks import PlantedTask

log = logging.getLogger(__name__)


def validate(cfg: DictConfig) -> None:
    """Value checks the schema cannot express; raise before any compute, naming the key."""
    horizons = list(cfg.eval.horizons)
    configured_arms(cfg.arms)  # a misspelt _target_ or role fails here, naming it
    if not horizons or any(h < 1 for h in horizons) or sorted(set(horizons)) != horizons:
        raise ValueError(f"eval.horizons must be a non-empty increasing list of positive ints, got {horizons}")
    if cfg.eval.samples_per_prompt < 2:
        raise ValueError(f"eval.samples_per_prompt must be >= 2 (σ needs two samples), got {cfg.eval.samples_per_prompt}")
    if not 0 < cfg.eval.confidence < 1:
        raise ValueError(f"eval.confidence must lie in (0, 1), got {cfg.eval.confidence}")
    if not 0 < cfg.eval.c0 <= 1:
        raise ValueError(f"eval.c0 must lie in (0, 1], got {cfg.eval.c0}")
    if cfg.data.n < 1 or cfg.data.n > cfg.task.n_train:
        raise ValueError(f"data.n must lie in [1, task.n_train={cfg.task.n_train}], got {cfg.data.n}")
    bon = list(cfg.vb.bon.n_grid)
    if not bon or min(bon) < 1:
        raise ValueError(f"vb.bon.n_grid must be a non-empty list of positive ints, got {bon}")
    if cfg.vb.bon.return_convention not in CONVENTIONS:
        raise ValueError(f"vb.bon.return_convention must be one of {CONVENTIONS}, got {cfg.vb.bon.return_convention!r}")
    progress = cfg.vb.rl.progress
    if progress.segment_length < 1:
        raise ValueError(f"vb.rl.progress.segment_length must be >= 1, got {progress.segment_length}")
    if progress.true_value not in VALUE_KINDS:
        raise ValueError(f"vb.rl.progress.true_value must be one of {VALUE_KINDS}, got {progress.true_value!r}")
    if (progress.enabled or progress.true_control) and cfg.vb.rl.train.scale_rewards != "none":
        raise ValueError(f"the progress arms need vb.rl.train.scale_rewards=none, got {cfg.vb.rl.train.scale_rewards!r}")
    if cfg.vb.bon.pool not in POOLS:
        raise ValueError(f"vb.bon.pool must be one of {POOLS}, got {cfg.vb.bon.pool!r}")
    if cfg.vb.rl.train.rollout not in DECODES:
        raise ValueError(f"vb.rl.train.rollout must be one of {DECODES}, got {cfg.vb.rl.train.rollout!r}")
    if cfg.sampler.decode not in DECODES:
        raise ValueError(f"sampler.decode must be one of {DECODES}, got {cfg.sampler.decode!r}")
    check_not_padding_free(cfg.vb.verifier.train, "vb.verifier.train")
    check_not_padding_free(cfg.vb.rl.train, "vb.rl.train")


def base_statistics(solve_time: np.ndarray, cfg: DictConfig, seed: int) -> dict:
    """Per-H performance, heterogeneity and anti-concentration of the base from its solve times."""
    return statistics_at(lambda h: solve_time, cfg.eval.horizons, cfg.eval, seed)


def base_solve_times(task: PlantedTask, base, cache: StageCache, cfg: DictConfig, horizon: int, seed: int) -> np.ndarray:
    """Solve times of ``eval.samples_per_prompt`` base samples per test prompt at budget ``horizon``.

    From an LM base a cached stage (``base_samples``): at paper scale its sampling compiles a decoder
    and takes minutes, which a run that finds every other stage cached (the assembly of arms run in
    parallel jobs) then skips. The procedural mixture is sampled directly (exact, and fast)."""
    prompts, m = task.test_prompts, cfg.eval.samples_per_prompt
    if not isinstance(base, LMPolicy):
        return sample_solve_times(task, base, prompts, m, horizon, seed)[0]
    key = {"model": stage_label(base.model_dir), "horizon": horizon, "m": m, "seed": seed,
           "sampler": OmegaConf.to_container(cfg.sampler, resolve=True)}

    def produce(out: Path) -> None:
        np.save(out / "solve_time.npy", sample_solve_times(task, base, prompts, m, horizon, seed)[0])

    return np.load(cache.run("base_samples", key, produce) / "solve_time.npy")


def run(cfg: DictConfig, run_dir: Path) -> dict:
    """Run the didactic experiment and write ``results.json`` (and a figure) in ``run_dir``."""
    validate(cfg)
    start = time.perf_counter()
    task: PlantedTask = build(cfg.task)
    cache = StageCache(cfg.cache_dir, **cfg.cache_check)
    horizon_max = max(cfg.eval.horizons)
    base = build(cfg.base, task=task, cache=cache, seed=cfg.seed, horizon=horizon_max)

    # The base does not condition on H, so one sample at the largest budget serves every H.
    samples_seed = stage_seed(cfg.seed, "base_samples")
    prompts, m = task.test_prompts, cfg.eval.samples_per_prompt
    solve_time = base_solve_times(task, base, cache, cfg, horizon_max, samples_seed)
    boot_seed = stage_seed(cfg.seed, "bootstrap")

    seeds = {"run": cfg.seed, "task": task.seed, "base_samples": samples_seed, "bootstrap": boot_seed}
    results = results_header("didactic", OmegaConf.to_container(cfg, resolve=True), seeds, list(cfg.eval.horizons)) | {
        "sample_counts": {"test_prompts": len(prompts), "samples_per_prompt": m},
        "base_stats": base_statistics(solve_time, cfg, boot_seed),
        "arms": {},
        "gaps": {},
        "data_budget": {},
    }
    partial = run_dir / "results.partial.json"  # the finished arms of a run not yet finished
    if isinstance(base, LMPolicy):
        # the LM base against the exact mixture it imitates: same prompts, same m, same sampling seed
        mixture = ProceduralPolicy(task, list(cfg.mixture.gammas), list(cfg.mixture.weights))
        procedural_t, _ = sample_solve_times(task, mixture, prompts, m, horizon_max, samples_seed)
        results["procedural_stats"] = base_statistics(procedural_t, cfg, boot_seed)
        results["base_fidelity"] = fidelity_report(results["base_stats"], results["procedural_stats"],
                                                   read_fit(base.model_dir), cfg.base_lm.fidelity_tolerance)
        for warning in results["base_fidelity"]["warnings"]:
            log.warning(warning)
        run_arms(task, base, cache, cfg, results, after_arm=lambda so_far: atomic_write_json(partial, so_far))
    else:
        results["arms_skipped"] = "the arms fine-tune and score with an LM: run with base=lm"
        log.warning("arms skipped: %s", results["arms_skipped"])
    results["stages"] = cache.summary()
    results["timing_s"] = {"total": time.perf_counter() - start}
    if torch.cuda.is_available():
        results["cuda"] = {"device": torch.cuda.get_device_name(), "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30}
    atomic_write_json(run_dir / "results.json", results)
    partial.unlink(missing_ok=True)
    if results["arms"]:
        plot_run(results, run_dir)
    print_results(results)
    return results
