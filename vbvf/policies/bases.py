"""Base policies π_b, built by name from ``conf/base/``: the exact procedural mixture, or an LM trained on it.

Every factory takes the same live objects (task, stage cache, run seed, largest budget H) so the
pipeline builds either base the same way.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np

from vbvf.arms.training import sft
from vbvf.config import ModelConfig, SamplerConfig, TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import StageCache
from vbvf.policies.lm import LMPolicy, trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask


def procedural_base(
    task: PlantedTask, cache: StageCache, seed: int, horizon: int, gammas: Sequence[float], weights: Sequence[float]
) -> ProceduralPolicy:
    """base=procedural: the mixture itself (exact, no training)."""
    return ProceduralPolicy(task, gammas, weights)


def lm_base(
    task: PlantedTask, cache: StageCache, seed: int, horizon: int, gammas: Sequence[float], weights: Sequence[float],
    model: dict, n_traces: int, train: dict, sampler: dict,
) -> LMPolicy:
    """base=lm: a GPT-2 trained from scratch on ``n_traces`` mixture traces of budget H (cached stage)."""
    train_cfg, model_cfg = TrainConfig(**train), ModelConfig(**model)
    key = {"task": asdict(task), "gammas": list(gammas), "weights": list(weights), "model": model,
           "n_traces": n_traces, "train": train, "horizon": horizon, "seed": seed}

    def produce(out: Path) -> None:
        rng_seed = stage_seed(seed, "base_data")
        rows = np.random.default_rng(rng_seed).integers(0, len(task.train_prompts), n_traces)
        prompts = task.train_prompts[rows]
        traces = ProceduralPolicy(task, gammas, weights).sample(prompts, 1, horizon, rng_seed)[:, 0]
        lm = build_lm(task, model_cfg.n_layer, model_cfg.n_embd, model_cfg.n_head,
                      n_positions=task.prompt_length + 2 + horizon, dropout=model_cfg.dropout,
                      seed=stage_seed(seed, "base_init"))
        sft(lm, build_tokenizer(task), trace_examples(task, prompts, traces), out, train_cfg, stage_seed(seed, "base_train"))

    model_dir = cache.run("base_lm", key, produce)
    return LMPolicy(task, model_dir, **SamplerConfig(**sampler).__dict__)
