"""The verifier of the VB arm: the base LM's backbone with a scalar head, trained with BCE.

Labels (``vb.verifier.labels``):
- ``prefix``: at completion step h the label is 1 if the trace is solved by h (T ≤ h), so
  Σ_{h≤H} sigmoid(v_h) estimates R_H(τ) = H − T + 1; the score of a trace at budget H is that
  sum, with steps after the trace ended (eos) taking the value at its last token.
- ``outcome``: one label per trace at its last token, 1 if it solved within the sampled budget;
  the score is the sigmoid there, times H so both label kinds share units.
The model is ``GPT2ForTokenClassification`` (one logit per position) initialised from π_b; the
loss is a thin override of transformers' ``Trainer.compute_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    AutoModelForTokenClassification,
    Trainer,
    TrainingArguments,
    default_data_collator,
)

from scipy.stats import mannwhitneyu

from vbvf.arms.training import HeldOut, fit, padded_positions, trainer_args
from vbvf.config import HeldOutTrainConfig
from vbvf.policies.lm import evaluating, pick_device, prompt_ids
from vbvf.tasks.planted import PlantedTask

LABEL_KINDS = ("prefix", "outcome")


@dataclass
class VerifierConfig:
    """How the verifier is labelled and trained."""

    labels: str = "prefix"  # prefix: "solved by step h" at every step; outcome: one label per trace
    train: HeldOutTrainConfig = field(default_factory=HeldOutTrainConfig)
    score_batch_size: int = 1024


def verifier_inputs(task: PlantedTask, prompts: np.ndarray, traces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-length ``input_ids`` (prompt + trace, pad kept) and ``attention_mask`` (0 on pad)."""
    ids = np.concatenate([prompt_ids(task, prompts), np.asarray(traces, dtype=np.int64)], axis=1)
    return ids, (ids != task.pad).astype(np.int64)


def verifier_labels(task: PlantedTask, traces: np.ndarray, solve_time: np.ndarray, kind: str) -> np.ndarray:
    """Per-step float labels for the completion part, -100 where no loss applies: [n, L]."""
    if kind not in LABEL_KINDS:
        raise ValueError(f"vb.verifier.labels={kind!r}: expected one of {LABEL_KINDS}")
    traces = np.asarray(traces)
    steps = np.arange(1, traces.shape[1] + 1)
    real = traces != task.pad
    if kind == "prefix":
        labels = (solve_time[:, None] <= steps).astype(np.float32)
        return np.where(real, labels, -100.0).astype(np.float32)
    last = real.sum(axis=1) - 1
    labels = np.full(traces.shape, -100.0, dtype=np.float32)
    labels[np.arange(len(traces)), last] = (solve_time <= traces.shape[1]).astype(np.float32)
    return labels


class BCETrainer(Trainer):
    """Trainer whose loss is the mean BCE over the positions that carry a label."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits[..., 0]
        mask = labels != -100
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[mask], labels[mask].to(logits.dtype))
        return (loss, outputs) if return_outputs else loss


def trimmed_batches(multiple: int | None = None):
    """A collator: ``default_data_collator``, then the columns after the batch's longest row cut (all
    pad, no label): exact for a causal model, and with ``train.group_by_length`` (rows sorted by the
    ``length`` column) most of a budget-256 batch's width is gone. With ``multiple``
    (``train.pad_to_multiple_of``) the kept width is rounded up to it (few shapes for a compiled
    model), never past the rows' full width."""

    def collate(features: list[dict]) -> dict:
        batch = default_data_collator([{k: v for k, v in f.items() if k != "length"} for f in features])
        full = batch["input_ids"].shape[1]
        width = int(batch["attention_mask"].sum(dim=1).max())
        width = min(full, padded_positions(width, multiple))
        return {k: v[:, :width] for k, v in batch.items()}

    return collate


def step_logits(model, task: PlantedTask, prompts: np.ndarray, traces: np.ndarray, batch_size: int) -> np.ndarray:
    """The verifier's logit v_h at every real completion step: float64 [n, L] (0 after the trace's end).

    Rows are scored in order of length and each batch is cut after its longest row: the model is
    causal, so the trailing pad changes no logit before it, and a budget-256 pool of ~30-token
    traces costs ~30 positions per row instead of 263.
    """
    ids, attention = verifier_inputs(task, prompts, traces)
    start = ids.shape[1] - traces.shape[1]
    lengths = attention.sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    device = next(model.parameters()).device
    out = np.zeros(traces.shape, dtype=np.float64)
    with evaluating(model):
        for lo in range(0, len(ids), batch_size):
            rows = order[lo : lo + batch_size]
            width = max(int(lengths[rows].max()), start + 1)
            batch = torch.as_tensor(ids[rows, :width], device=device)
            mask = torch.as_tensor(attention[rows, :width], device=device)
            out[rows, : width - start] = model(input_ids=batch, attention_mask=mask).logits[:, start:, 0].float().cpu().numpy()
    return out


def extend_past_end(logits: np.ndarray, traces: np.ndarray, pad: int) -> np.ndarray:
    """sigmoid(v_h) at every completion step [n, L]; steps after the trace ended repeat its last value."""
    probs = 1 / (1 + np.exp(-logits))
    last = np.maximum((np.asarray(traces) != pad).sum(axis=1) - 1, 0)
    steps = np.arange(traces.shape[1])
    return np.where(steps <= last[:, None], probs, probs[np.arange(len(probs)), last][:, None])


def trace_score(probs: np.ndarray, kind: str, horizon: int) -> np.ndarray:
    """Estimated R_H of budget-H traces from their step probabilities: Σ_{h≤H} sigmoid(v_h), or H·sigmoid(v_last)."""
    return probs.sum(axis=1) if kind == "prefix" else horizon * probs[:, -1]


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney U / n₁n₀); None when one class is absent."""
    positive, negative = scores[labels > 0.5], scores[labels < 0.5]
    if not positive.size or not negative.size:
        return None
    return float(mannwhitneyu(positive, negative).statistic / (positive.size * negative.size))


def verifier_quality(model, task: PlantedTask, prompts: np.ndarray, traces: np.ndarray, solve_time: np.ndarray,
                     kind: str, batch_size: int) -> dict:
    """BCE, AUC and Brier score of the verifier on labelled traces, at the labelled steps; plus the
    trace-level AUC of its budget-L score for "solved within L"."""
    logits = step_logits(model, task, prompts, traces, batch_size)
    labels = verifier_labels(task, traces, solve_time, kind)
    mask = labels != -100
    z, y = logits[mask], labels[mask]
    probs = 1 / (1 + np.exp(-z))
    bce = float(np.mean(np.logaddexp(0, z) - y * z))
    scores = trace_score(extend_past_end(logits, traces, task.pad), kind, traces.shape[1])  # as Verifier.score
    solved = (solve_time <= traces.shape[1]).astype(np.float64)
    return {"bce": bce, "auc": auc(probs, y), "brier": float(np.mean((probs - y) ** 2)), "positive_rate": float(y.mean()),
            "trace_auc": auc(scores, solved), "traces": int(len(traces))}


def train_verifier(
    task: PlantedTask, base_dir: Path, prompts: np.ndarray, traces: np.ndarray, solve_time: np.ndarray,
    cfg: VerifierConfig, out_dir: Path, seed: int, held: np.ndarray | None = None,
) -> list[dict]:
    """Train the verifier on labelled base traces (one row per trace) and save it to ``out_dir``.

    Rows where ``held`` is True are held out: training stops on their BCE (``train.eval_every``,
    ``train.patience``) and ``fit.json`` records their BCE, AUC and Brier score at the end.
    """
    held = np.zeros(len(prompts), dtype=bool) if held is None else held
    ids, attention = verifier_inputs(task, prompts[~held], traces[~held])
    head = np.full((len(ids), ids.shape[1] - traces.shape[1]), -100.0, dtype=np.float32)
    labels = np.concatenate([head, verifier_labels(task, traces[~held], solve_time[~held], cfg.labels)], axis=1)
    dataset = Dataset.from_dict({"input_ids": ids, "attention_mask": attention, "labels": labels, "length": attention.sum(axis=1)})
    torch.manual_seed(seed)  # the new scalar head's initial weights: from the stage seed, not from what ran before
    model = AutoModelForTokenClassification.from_pretrained(base_dir, num_labels=1)
    model.config.pad_token_id = task.pad
    trainer = BCETrainer(
        model=model,
        args=TrainingArguments(**trainer_args(cfg.train, out_dir, seed), remove_unused_columns=False,
                               gradient_checkpointing=cfg.train.gradient_checkpointing),
        train_dataset=dataset,
        data_collator=trimmed_batches(cfg.train.pad_to_multiple_of),
    )
    monitor, extra = None, {"train_traces": int((~held).sum()), "heldout_traces": int(held.sum())}
    if held.any():
        def quality() -> dict:
            return verifier_quality(model, task, prompts[held], traces[held], solve_time[held], cfg.labels, cfg.score_batch_size)

        monitor = HeldOut(metric=lambda m: quality()["bce"], every=cfg.train.eval_every, patience=cfg.train.patience,
                          name="heldout_bce")
        extra["heldout"] = quality
    return fit(trainer, out_dir, monitor, extra, cudnn_attention=cfg.train.cudnn_attention)


class Verifier:
    """A trained verifier loaded from disk; scores traces at a budget H in return units."""

    def __init__(self, task: PlantedTask, model_dir: Path, labels: str, batch_size: int = 1024, device: str = "auto"):
        self.task, self.labels, self.batch_size, self.model_dir = task, labels, batch_size, Path(model_dir)
        self.device = pick_device(device)
        self.model = AutoModelForTokenClassification.from_pretrained(model_dir).to(self.device).eval()

    def step_probabilities(self, prompts: np.ndarray, traces: np.ndarray) -> np.ndarray:
        """sigmoid(v_h) at every completion step [n, L]; steps after the trace ended repeat its last value."""
        return extend_past_end(step_logits(self.model, self.task, prompts, traces, self.batch_size), traces, self.task.pad)

    def score(self, prompts: np.ndarray, traces: np.ndarray, horizon: int) -> np.ndarray:
        """Estimated R_H of each trace cut to budget H: Σ_{h≤H} sigmoid(v_h), or H·sigmoid(v_last)."""
        traces = np.asarray(traces)[:, :horizon]
        return trace_score(self.step_probabilities(prompts, traces), self.labels, horizon)
