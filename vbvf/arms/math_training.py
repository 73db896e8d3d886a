"""Training stages of the MATH arms, run in-process or under ``accelerate launch`` unchanged.

- ``sft``: completion-only SFT with trl's ``SFTTrainer`` on pre-tokenised ``input_ids`` +
  ``completion_mask`` (the heterogeneity-controlled bases and the VF arm's stitched traces).
- ``verifier``: ``AutoModelForSequenceClassification`` with one logit, initialised from the
  policy's weights (same size, new scalar head), trained with BCE on correctness labels.

Both load the weights in float32 whatever the checkpoint's dtype (transformers 5 loads a bf16
checkpoint such as Llama 3.2 in bf16 by default, and Adam steps of lr 1e-5 then round away in
bf16 weights); ``bf16: true`` runs the matrix work under bf16 autocast.

Each writes ``fit.json`` beside its model: the loss on its whole training set before and after
training, and for the verifier its AUROC and accuracy on its training samples and the label prior's
BCE (``vbvf/pipeline/math_fits.py`` judges them).

A stage is a JSON spec (kind, model, data, out, train, seed) next to its ``datasets`` folder;
``python -m vbvf.arms.math_training SPEC`` runs it, and ``train_launcher`` (e.g.
``[accelerate, launch, --num_processes, "2"]``) is put in front of ``-m vbvf.arms.math_training
SPEC`` to run it on several GPUs. Examples are tokenised here, once, in the parent process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from datasets import Dataset
from scipy.stats import mannwhitneyu
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    TrainingArguments,
)

from vbvf.arms.training import fit, sft, trainer_args
from vbvf.arms.verifier import BCETrainer
from vbvf.config import TrainConfig
from vbvf.tasks.math.prompts import prompt_token_ids

KINDS = ("sft", "verifier")


def load_tokenizer(model_dir: str | Path):
    """The model's tokenizer, with pad = eos when it has no pad token (Llama 3)."""
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def sft_examples(tokenizer, prompts: Sequence[str], completions: Sequence[str], max_length: int | None) -> tuple[list[dict], int]:
    """``input_ids`` = prompt + completion + eos with the loss on completion and eos only.

    Examples longer than ``max_length`` are dropped (cutting would remove the final, right
    attempt); returns the examples and how many were dropped.
    """
    examples, too_long = [], 0
    for prompt, completion in zip(prompts, completions):
        head = prompt_token_ids(prompt, tokenizer)
        body = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        if max_length is not None and len(head) + len(body) > max_length:
            too_long += 1
            continue
        examples.append({"input_ids": head + body, "completion_mask": [0] * len(head) + [1] * len(body)})
    return examples, too_long


def verifier_examples(tokenizer, prompts: Sequence[str], completions: Sequence[str], labels: Sequence[float], max_length: int) -> list[dict]:
    """``input_ids`` of prompt + completion (what the scorer reads at test time), kept to the last
    ``max_length`` tokens, and a float label."""
    examples = []
    for prompt, completion, label in zip(prompts, completions, labels):
        ids = prompt_token_ids(prompt + completion, tokenizer)[-max_length:]
        examples.append({"input_ids": ids, "labels": float(label)})
    return examples


def _train_sft(model_dir: str, data: Dataset, out: Path, train: TrainConfig, seed: int) -> list[dict]:
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return sft(model, load_tokenizer(model_dir), data.to_list(), out, train, seed, train_set_loss=True)


def ranking_fit(predicted) -> dict:
    """The trained verifier on its own training set (``predicted``: ``Trainer.predict``'s output on
    it): accuracy at p = 0.5, AUROC (None with one class), and the BCE of the best constant score
    (the label prior's entropy), which a verifier that learned anything beats."""
    logits = np.asarray(predicted.predictions, dtype=np.float64).reshape(-1)
    labels = np.asarray(predicted.label_ids).reshape(-1) > 0.5
    prior = float(labels.mean())
    both = 0.0 < prior < 1.0
    auroc = mannwhitneyu(logits[labels], logits[~labels]).statistic / (labels.sum() * (~labels).sum()) if both else None
    return {"positive_share": prior, "accuracy": float(((logits > 0) == labels).mean()),
            "auroc": None if auroc is None else float(auroc),
            "constant_bce": float(-(prior * np.log(prior) + (1 - prior) * np.log(1 - prior))) if both else 0.0}


def _train_verifier(model_dir: str, data: Dataset, out: Path, train: TrainConfig, seed: int) -> list[dict]:
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # the new scalar head's initial weights: from the stage seed, not from what ran before
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id  # the head reads the last non-pad token
    trainer = BCETrainer(
        model=model,
        args=TrainingArguments(
            **trainer_args(train, out, seed), remove_unused_columns=False, gradient_checkpointing=train.gradient_checkpointing
        ),
        train_dataset=data,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=train.pad_to_multiple_of),
    )
    rows = fit(trainer, out, None, train_set_loss=True, train_set_metrics=ranking_fit, cudnn_attention=train.cudnn_attention)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(out))
    return rows


def run_spec(spec_path: str | Path) -> list[dict]:
    """Run the stage described by the JSON spec at ``spec_path``; returns the loss rows."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1 and torch.cuda.device_count() > 1:
        raise RuntimeError(  # the Trainer would wrap the model in nn.DataParallel: ~9x slower, and trl refuses
            f"{torch.cuda.device_count()} GPUs visible to one training process; launch one process per GPU "
            "(train_launcher=[accelerate,launch,--num_processes,N]) or set CUDA_VISIBLE_DEVICES to one GPU"
        )
    spec = json.loads(Path(spec_path).read_text())
    train = TrainConfig(**spec["train"])
    data = Dataset.load_from_disk(spec["data"])
    stage = {"sft": _train_sft, "verifier": _train_verifier}[spec["kind"]]
    return stage(spec["model"], data, Path(spec["out"]), train, spec["seed"])


def train_stage(
    kind: str, model_dir: str | Path, examples: list[dict], work_dir: Path, train: TrainConfig, seed: int,
    launcher: Sequence[str] = (),
) -> Path:
    """Train ``kind`` from ``model_dir`` on ``examples``; the model is saved to ``work_dir/model``.

    The examples and the spec are written to ``work_dir`` first; an empty ``launcher`` runs the
    stage in this process (in a child process pinned to the first GPU when several are visible),
    else ``launcher + [-m, vbvf.arms.math_training, spec]`` runs it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown training stage {kind!r}; expected one of {KINDS}")
    if not examples:
        raise ValueError(f"no training examples for the {kind} stage in {work_dir}")
    work_dir.mkdir(parents=True, exist_ok=True)
    Dataset.from_list(examples).save_to_disk(str(work_dir / "data"))
    spec = {"kind": kind, "model": str(model_dir), "data": str(work_dir / "data"), "out": str(work_dir / "model"),
            "train": asdict(train), "seed": seed}
    spec_path = work_dir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    env = None
    if not launcher and torch.cuda.device_count() > 1:  # in-process on a multi-GPU host: pin one GPU in a child
        launcher = [sys.executable]
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]}
    if launcher:
        subprocess.run([*launcher, "-m", "vbvf.arms.math_training", str(spec_path)], check=True, env=env)
    else:
        run_spec(spec_path)
    return work_dir / "model"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m vbvf.arms.math_training SPEC.json")
    run_spec(sys.argv[1])
