"""The base-policy stage: π_b built by name from ``conf/base/``, the exact procedural mixture or an LM trained on it.

Every factory takes the same live objects (task, stage cache, run seed, largest budget H) so the
pipeline builds either base the same way.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np

from vbvf.arms.training import HeldOut, padded_positions, sft
from vbvf.config import HeldOutTrainConfig, ModelConfig, SamplerConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import StageCache
from vbvf.policies.lm import LMPolicy, token_nll, trace_examples
from vbvf.policies.mixture_predictive import bayes_nll
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask


def procedural_base(
    task: PlantedTask, cache: StageCache, seed: int, horizon: int, gammas: Sequence[float], weights: Sequence[float]
) -> ProceduralPolicy:
    """base=procedural: the mixture itself (exact, no training)."""
    return ProceduralPolicy(task, gammas, weights)


def lm_base(
    task: PlantedTask, cache: StageCache, seed: int, horizon: int, gammas: Sequence[float], weights: Sequence[float],
    model: dict, n_traces: int, train: dict, sampler: dict, target_nll_gap: float, n_heldout: int,
) -> LMPolicy:
    """base=lm: a GPT-2 trained from scratch on ``n_traces`` mixture traces of budget H (cached stage).

    Training is held to the mixture's exact predictive: every ``train.eval_every`` steps the LM's
    per-token NLL on ``n_heldout`` fresh mixture traces is compared with the Bayes NLL of the same
    tokens, and training stops once the gap is at most ``target_nll_gap`` nats/token (or after
    ``train.patience`` evaluations without improvement, or at ``train.max_steps``). ``fit.json``
    records the curve, the final gap and whether the target was reached.
    """
    train_cfg, model_cfg = HeldOutTrainConfig(**train), ModelConfig(**model)
    if train_cfg.eval_every < 1:
        raise ValueError(f"base_lm.train.eval_every must be >= 1 (the base is held to its Bayes NLL), got {train_cfg.eval_every}")
    key = {"task": asdict(task), "gammas": list(gammas), "weights": list(weights), "model": model,
           "n_traces": n_traces, "train": train, "horizon": horizon, "seed": seed,
           "target_nll_gap": target_nll_gap, "n_heldout": n_heldout}
    mixture = ProceduralPolicy(task, gammas, weights)

    def mixture_traces(n: int, stream: str, prompt_pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng_seed = stage_seed(seed, stream)
        prompts = prompt_pool[np.random.default_rng(rng_seed).integers(0, len(prompt_pool), n)]
        return prompts, mixture.sample(prompts, 1, horizon, rng_seed)[:, 0]

    def produce(out: Path) -> None:
        prompts, traces = mixture_traces(n_traces, "base_data", task.train_prompts)
        held_prompts, held_traces = mixture_traces(n_heldout, "base_heldout", task.train_prompts)
        test_prompts, test_traces = mixture_traces(n_heldout, "base_heldout_test", task.test_prompts)
        bayes = bayes_nll(task, gammas, weights, held_prompts, held_traces)
        monitor = HeldOut(metric=lambda lm: token_nll(lm, task, held_prompts, held_traces) - bayes,
                          every=train_cfg.eval_every, patience=train_cfg.patience, target=target_nll_gap, name="nll_gap")
        # prompt + H tokens, rounded up to the batches' padding multiple when one is set (a padded
        # position must exist: check_padding_fits); the VF, verifier and RL models inherit the table
        lm = build_lm(task, model_cfg.n_layer, model_cfg.n_embd, model_cfg.n_head,
                      n_positions=padded_positions(task.prompt_length + 2 + horizon, train_cfg.pad_to_multiple_of),
                      dropout=model_cfg.dropout, seed=stage_seed(seed, "base_init"))

        def test_prompt_gap() -> dict:  # evaluated after training, on the restored best weights
            lm_nll = token_nll(lm, task, test_prompts, test_traces)
            reference = bayes_nll(task, gammas, weights, test_prompts, test_traces)
            return {"lm_nll": lm_nll, "bayes_nll": reference, "gap": lm_nll - reference}

        sft(lm, build_tokenizer(task), trace_examples(task, prompts, traces), out, train_cfg, stage_seed(seed, "base_train"),
            monitor=monitor, extra={"bayes_nll_heldout": bayes, "heldout_traces": n_heldout,
                                    "test_prompts": test_prompt_gap}, key="base_lm.train")

    model_dir = cache.run("base_lm", key, produce)
    return LMPolicy(task, model_dir, **SamplerConfig(**sampler).__dict__)
