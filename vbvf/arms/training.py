"""Thin wrappers around trl/transformers trainers shared by the arms: precision and SFT.

trl's configs default to bf16, which fails on a CPU; ``precision`` picks it from the device.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from vbvf.config import TrainConfig


def precision(allow_bf16: bool = True) -> dict:
    """bf16 on a GPU that supports it (unless disallowed), fp32 elsewhere (trl's bf16 default fails on CPU)."""
    cuda = torch.cuda.is_available()
    bf16 = allow_bf16 and cuda and torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": False, "tf32": cuda and not bf16, "use_cpu": not cuda}


def trainer_args(train: TrainConfig, out_dir: Path, seed: int) -> dict:
    """The TrainingArguments fields every vbvf stage sets the same way."""
    return dict(
        output_dir=str(out_dir / "trainer"),
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        learning_rate=train.learning_rate,
        warmup_steps=int(train.warmup_ratio * train.max_steps),
        weight_decay=train.weight_decay,
        lr_scheduler_type=train.lr_scheduler_type,
        logging_steps=max(1, train.max_steps // 10),
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        disable_tqdm=False,
        dataloader_num_workers=0,
        **precision(train.bf16),
    )


def sft(model, tokenizer, examples: list[dict], out_dir: Path, train: TrainConfig, seed: int) -> list[dict]:
    """Completion-only SFT of ``model`` on pre-tokenised examples; saves to ``out_dir``; returns the log."""
    args = SFTConfig(
        **trainer_args(train, out_dir, seed),
        completion_only_loss=True,
        gradient_checkpointing=train.gradient_checkpointing,  # trl defaults to True; off unless configured
        max_length=None,
        packing=False,
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
    trainer.train()
    trainer.save_model(str(out_dir))
    if trainer.is_world_process_zero():  # under accelerate launch, one process writes
        tokenizer.save_pretrained(str(out_dir))
    return save_log(trainer, out_dir)


def save_log(trainer, out_dir: Path) -> list[dict]:
    """Write the trainer's log history to ``train_log.json``; return the loss rows.

    A non-finite loss or gradient norm raises, so a diverged model never becomes a finished stage.
    """
    history = trainer.state.log_history
    if trainer.is_world_process_zero():
        (Path(out_dir) / "train_log.json").write_text(json.dumps(history, indent=1))
    rows = [row for row in history if "loss" in row]
    bad = [row for row in rows if not all(math.isfinite(float(row.get(k, 0.0))) for k in ("loss", "grad_norm"))]
    if bad:
        raise FloatingPointError(f"training of {out_dir} diverged at step {bad[0].get('step')}: {bad[0]}")
    return rows
