"""VB-RL arm (SPEC §3): fine-tune a policy LM from π_b to maximise a reward with a KL penalty to π_b.

A thin wrapper around trl's ``GRPOTrainer``: per step it samples ``num_generations`` completions
of at most H tokens for each of ``batch_size`` prompts, scores them with a ``RewardFn`` on task
token arrays, and takes a policy-gradient step on the group-baselined reward plus β·KL(π ‖ π_b),
π_b being the frozen starting policy. The reward is the verifier's score (VB-RL) or the true
R_H/H (the control). With a ``ProgressReward`` (``vbvf.arms.progress``) the trainer is
``ProgressGRPOTrainer``: the same GRPO whose advantages are per token, each token credited with
the progress made from its segment on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from transformers import AutoConfig
from trl import GRPOConfig, GRPOTrainer

from vbvf.arms.progress import ProgressReward, progress_before_segment, total_progress
from vbvf.arms.rewards import RewardFn
from vbvf.arms.training import check_padding_fits, resume_point, save_log, train_resumably, trainer_args
from vbvf.config import RLConfig
from vbvf.models.gpt2 import build_tokenizer
from vbvf.policies.lm import evaluating, generated_mask, never_emitted, prompt_ids, task_decoder
from vbvf.policies.static_decode import StaticDecoder
from vbvf.tasks.planted import PlantedTask

ROLLOUT_WINDOWS = 1  # graphs per GRPO rollout decoder (StaticRollout)


def prompt_dataset(task: PlantedTask, prompts: np.ndarray) -> Dataset:
    """One row per prompt: the text ``<bos> x_1 .. x_k <sep>``, which trl tokenises, and the digits,
    which trl passes on to the reward function as the keyword ``task_prompt``."""
    texts = build_tokenizer(task).batch_decode(prompt_ids(task, prompts).tolist())
    return Dataset.from_dict({"prompt": texts, "task_prompt": np.asarray(prompts).tolist()})


def completion_array(task: PlantedTask, completion_ids: list[list[int]], horizon: int) -> np.ndarray:
    """trl's completions (token lists, eos included when generated) as int32 traces [n, H], pad after."""
    traces = np.full((len(completion_ids), horizon), task.pad, dtype=np.int32)
    for row, ids in zip(traces, completion_ids):
        row[: len(ids)] = ids
    return traces


def trl_reward(task: PlantedTask, reward: RewardFn, horizon: int):
    """Wrap a ``RewardFn`` into trl's reward-function signature (keyword arguments, list of floats)."""

    def task_reward(completion_ids: list[list[int]], task_prompt: list[list[int]], **_) -> list[float]:
        traces = completion_array(task, completion_ids, horizon)
        return np.asarray(reward(np.asarray(task_prompt), traces), dtype=np.float64).tolist()

    return task_reward


class ProgressGRPOTrainer(GRPOTrainer):
    """trl's GRPO with per-token advantages from a progress reward (``vbvf.arms.progress``).

    trl scores each completion with its total progress U_H − U_0 and forms the group-baselined
    advantage; this subclass then subtracts from every token the progress made before its segment,
    so a token is credited only with the progress from its segment on. trl's loss accepts
    advantages of shape [B, T] from subclasses. The shift is in reward units, so rewards must not
    be rescaled (``scale_rewards: none``).
    """

    def __init__(self, *args, task: PlantedTask, progress: ProgressReward, horizon: int, **kwargs):
        self.task, self.progress, self.horizon = task, progress, horizon
        self.prefix_values: np.ndarray | None = None  # U_t of the completions last scored, in trl's row order
        super().__init__(*args, reward_funcs=self.total_progress, **kwargs)
        if self.scale_rewards != "none":
            raise ValueError(f"progress rewards need vb.rl.train.scale_rewards=none, got {self.scale_rewards!r}")

    def total_progress(self, completion_ids: list[list[int]], task_prompt: list[list[int]], **_) -> list[float]:
        """trl's reward function: U_H − U_0 per completion; keeps the prefix values for the advantages."""
        traces = completion_array(self.task, completion_ids, self.horizon)
        self.prefix_values = self.progress.values(np.asarray(task_prompt), traces)
        return total_progress(self.prefix_values).tolist()

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        advantages = output["advantages"]
        before = progress_before_segment(self.prefix_values, self.progress.segment_length, output["completion_ids"].shape[1])
        output["advantages"] = advantages[:, None] - torch.as_tensor(before, dtype=advantages.dtype, device=advantages.device)
        return output


class StaticRollout:
    """trl ``rollout_func`` (``vb.rl.train.rollout: static``): GRPO's completions from a ``StaticDecoder``.

    trl's own rollout calls ``generate``, whose per-token overhead dominates a GRPO step of the
    didactic GPT-2 at large H (docs/PERFORMANCE.md, "GRPO rollouts"); here each token is one graph
    replay. The same distribution (temperature, no top-k, bos/sep/pad never emitted); trl scores
    and trains on the returned ids exactly as on its own.
    """

    def __init__(self, task: PlantedTask, horizon: int, temperature: float, seed: int):
        self.task, self.horizon, self.temperature, self.seed = task, horizon, temperature, seed
        self.decoders: dict[int, StaticDecoder] = {}
        self.calls = 0

    def __call__(self, prompts: list[str], trainer) -> dict:
        task = self.task
        ids = trainer.processing_class(prompts, add_special_tokens=False)["input_ids"]
        model = trainer.accelerator.unwrap_model(trainer.model)
        heads = torch.as_tensor(ids, device=next(model.parameters()).device)
        if len(heads) not in self.decoders:  # one shape for every H of a run (task_decoder): compiled once per
            # process (the first GRPO step took 24 s against 0.6 s for the others on an H100, docs/PERFORMANCE.md)
            # one graph, not the sampler's cache windows: at 128 rows a token's step is bound by its kernels'
            # latency, not by reading the cache; with four windows the rollout took 0.386 s a step, no faster
            # than one graph's 0.349 s, and the first step 55 s against 15 (H100, docs/PERFORMANCE.md)
            self.decoders[len(heads)] = task_decoder(model, task, len(heads), heads.shape[1], self.temperature,
                                                     windows=ROLLOUT_WINDOWS)
        with evaluating(model):
            out = self.decoders[len(heads)].sample(heads, self.horizon, self.seed * 1_000_003 + self.calls).cpu().numpy()
        self.calls += 1
        completions = [row[keep].tolist() for row, keep in zip(out, generated_mask(task, out))]  # through eos, no pad
        return {"prompt_ids": ids, "completion_ids": completions, "logprobs": None}


def grpo_config(task: PlantedTask, horizon: int, cfg: RLConfig, out_dir: Path, seed: int) -> GRPOConfig:
    """trl's config: the shared trainer fields plus rollouts of ≤ H tokens that never emit bos/sep/pad."""
    args = trainer_args(cfg, out_dir, seed)
    args["per_device_train_batch_size"] = cfg.batch_size * cfg.num_generations  # trl counts completions
    return GRPOConfig(
        **args,
        num_generations=cfg.num_generations,
        max_completion_length=horizon,
        temperature=cfg.temperature,
        top_k=0,  # no top-k cut, as in LMPolicy.sample
        generation_kwargs={"suppress_tokens": never_emitted(task)},
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        scale_rewards=cfg.scale_rewards,
        num_iterations=cfg.num_iterations,
        epsilon=cfg.epsilon,
        mask_truncated_completions=False,  # a trace cut at H is a real outcome (unsolved), not noise
        disable_dropout=True,
        gradient_checkpointing=cfg.gradient_checkpointing,
        pad_to_multiple_of=cfg.pad_to_multiple_of,
    )


def rl_finetune(
    policy_dir: str | Path,
    task: PlantedTask,
    prompts: np.ndarray,
    reward: RewardFn | ProgressReward,
    horizon: int,
    cfg: RLConfig,
    out_dir: str | Path,
    seed: int,
    callbacks: tuple = (),
) -> list[dict]:
    """GRPO from the policy saved in ``policy_dir`` (also the KL reference); saves to ``out_dir``; returns the log.

    ``reward``: one score per trace (outcome GRPO), or a ``ProgressReward`` (per-token progress credit).
    ``cfg.rollout``: trl's ``generate`` or the ``StaticRollout``; ``callbacks``: extra Trainer callbacks.
    """
    out_dir = Path(out_dir)
    check_padding_fits(getattr(AutoConfig.from_pretrained(policy_dir), "max_position_embeddings", None),
                       task.prompt_length + 2 + horizon, cfg.pad_to_multiple_of, "vb.rl.train")
    tokenizer = build_tokenizer(task)
    common = {"model": str(policy_dir), "args": grpo_config(task, horizon, cfg, out_dir, seed),
              "train_dataset": prompt_dataset(task, prompts), "processing_class": tokenizer,
              "callbacks": list(callbacks)}
    if cfg.rollout == "static":
        common["rollout_func"] = StaticRollout(task, horizon, cfg.temperature, seed)
    if isinstance(reward, ProgressReward):
        trainer = ProgressGRPOTrainer(task=task, progress=reward, horizon=horizon, **common)
    else:
        trainer = GRPOTrainer(reward_funcs=trl_reward(task, reward, horizon), **common)
    train_resumably(trainer, resume_point(trainer), cfg.cudnn_attention)
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return save_log(trainer, out_dir)
