"""LM policies on the planted task: sequence encoding and batched, KV-cached sampling.

A sequence is ``bos x_1..x_k sep a_1..a_T eos`` (pad after); the completion is what follows sep.
Sampling uses transformers ``generate`` (KV cache on), many traces per prompt per call, or with
``decode: static`` a ``StaticDecoder`` (compiled decode step, one graph replay per token on a GPU);
all prompts have the same length, so no left padding is needed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from vbvf.policies.static_decode import WINDOWS, StaticDecoder
from vbvf.tasks.planted import PlantedTask


def prompt_ids(task: PlantedTask, prompts: np.ndarray) -> np.ndarray:
    """``bos x sep`` for each prompt: int64 [n, k + 2]."""
    n = len(prompts)
    return np.concatenate(
        [np.full((n, 1), task.bos), np.asarray(prompts), np.full((n, 1), task.sep)], axis=1
    ).astype(np.int64)


def trace_examples(task: PlantedTask, prompts: np.ndarray, traces: np.ndarray) -> list[dict]:
    """Pre-tokenised SFT examples: ``input_ids`` (prompt + trace up to eos) and ``completion_mask``.

    ``traces`` [n, L] holds one trace per prompt, ending at eos (or at L when unsolved); the pad
    after eos is dropped.
    """
    heads = prompt_ids(task, prompts)
    examples = []
    for head, trace in zip(heads, traces):
        body = trace[trace != task.pad]
        examples.append(
            {
                "input_ids": head.tolist() + body.tolist(),
                "completion_mask": [0] * len(head) + [1] * len(body),
            }
        )
    return examples


DECODES = ("generate", "static")  # sampler.decode and vb.rl.train.rollout


def never_emitted(task: PlantedTask) -> list[int]:
    """Tokens a policy never generates: bos, sep and pad (pad only fills after eos)."""
    return [task.bos, task.sep, task.pad]


def task_decoder(model, task: PlantedTask, rows: int, prompt_length: int, temperature: float,
                 windows: int = WINDOWS) -> StaticDecoder:
    """A ``StaticDecoder`` of ``model`` for the task's tokens, compiled when the model is on a GPU. Its cache
    fills the model's whole position table, so every budget H of a run uses one decoder shape, compiled
    once per process (sampling and GRPO rollouts alike); ``windows`` graphs per shape."""
    device = next(model.parameters()).device
    capacity = model.config.n_positions - prompt_length
    return StaticDecoder(model, rows, prompt_length, capacity, task.eos, task.pad, never_emitted(task), temperature,
                         compile=device.type == "cuda", windows=windows)


def generated_mask(task: PlantedTask, traces: np.ndarray) -> np.ndarray:
    """True on every generated token of a trace: everything up to and including eos, never the pad after it."""
    return np.asarray(traces) != task.pad


def generated_tokens(task: PlantedTask, traces: np.ndarray) -> np.ndarray:
    """Tokens actually generated per trace: everything up to and including eos, never pad."""
    return generated_mask(task, traces).sum(axis=-1)


@contextmanager
def evaluating(model) -> Iterator[None]:
    """Run ``model`` in eval mode without gradients, then restore its training mode (used mid-training)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` means CUDA when present, else CPU."""
    return torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))


def token_nll(model, task: PlantedTask, prompts: np.ndarray, traces: np.ndarray, batch_size: int = 1024) -> float:
    """Mean per-token NLL (nats) of a causal LM on the generated tokens of budget-L ``traces`` (up to eos, never pad).

    The same tokens and the same mean as ``vbvf.policies.mixture_predictive.bayes_nll``, so the two
    subtract into the LM's gap to the Bayes reference. Each batch is cut after its longest trace (exact:
    the model is causal): held-out traces of budget H = 256 hold ~30 generated tokens in the paper's
    mixtures, so a full-width pass would spend most of its positions on padding.
    """
    traces = np.asarray(traces, dtype=np.int64)
    ids = np.concatenate([prompt_ids(task, prompts), traces], axis=1)
    start = ids.shape[1] - traces.shape[1]
    scored = generated_mask(task, traces)
    device = next(model.parameters()).device
    total, count = 0.0, int(scored.sum())
    with evaluating(model):
        for lo in range(0, len(ids), batch_size):
            mask = scored[lo : lo + batch_size]
            end = start + int(mask.sum(axis=1).max())  # generated tokens come first, then pad
            batch = torch.as_tensor(ids[lo : lo + batch_size, :end], device=device)
            logits = model(input_ids=batch, attention_mask=(batch != task.pad).long()).logits[:, start - 1 : -1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, batch[:, start:, None])[..., 0]
            total -= float(logp[torch.as_tensor(mask[:, : end - start], device=device)].sum())
    return total / max(count, 1)


@dataclass
class LMPolicy:
    """A causal LM (a directory saved with ``save_pretrained``) used as a policy on the task."""

    task: PlantedTask
    model_dir: str | Path
    batch_size: int = 512  # sequences per generate call
    temperature: float = 1.0
    device: str = "auto"
    decode: str = "generate"  # or "static": vbvf.policies.static_decode

    def __post_init__(self) -> None:
        if self.decode not in DECODES:
            raise ValueError(f"sampler.decode must be one of {DECODES}, got {self.decode!r}")
        self._device = pick_device(self.device)
        dtype = torch.bfloat16 if self._device.type == "cuda" else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=dtype).to(self._device).eval()
        self._decoder: StaticDecoder | None = None

    def _static_sample(self, batch: torch.Tensor, horizon: int, seed: int) -> torch.Tensor:
        """One batch through the cached ``StaticDecoder`` (a short last batch is padded to its row count)."""
        rows = self.batch_size
        if self._decoder is None:
            self._decoder = task_decoder(self.model, self.task, rows, batch.shape[1], self.temperature)
        full = torch.cat([batch, batch[:1].expand(rows - len(batch), -1)]) if len(batch) < rows else batch
        return self._decoder.sample(full, horizon, seed)[: len(batch)]

    @torch.no_grad()
    def sample(self, prompts: np.ndarray, n_samples: int, horizon: int, seed: int) -> np.ndarray:
        """``n_samples`` traces of at most H tokens per prompt: int32 [prompts, n_samples, H], pad after eos."""
        task = self.task
        heads = np.repeat(prompt_ids(task, prompts), n_samples, axis=0)
        out = np.full((len(heads), horizon), task.pad, dtype=np.int32)
        generator_seed = torch.Generator().manual_seed(seed)
        for start in range(0, len(heads), self.batch_size):
            batch = torch.as_tensor(heads[start : start + self.batch_size], device=self._device)
            batch_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator_seed))
            if self.decode == "static":
                out[start : start + len(batch)] = self._static_sample(batch, horizon, batch_seed).cpu().numpy()
                continue
            torch.manual_seed(batch_seed)
            generated = self.model.generate(
                input_ids=batch,
                attention_mask=torch.ones_like(batch),
                do_sample=True,
                temperature=self.temperature,
                top_k=0,
                max_new_tokens=horizon,
                min_new_tokens=0,
                eos_token_id=task.eos,
                pad_token_id=task.pad,
                suppress_tokens=never_emitted(task),
            )[:, batch.shape[1] :]
            out[start : start + len(batch), : generated.shape[1]] = generated.cpu().numpy()
        return out.reshape(len(prompts), n_samples, horizon)
