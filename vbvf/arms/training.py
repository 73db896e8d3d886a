"""Thin wrappers around trl/transformers trainers shared by the arms: precision, SFT and held-out stopping.

trl's configs default to bf16, which fails on a CPU; ``precision`` picks it from the device.
A ``HeldOut`` monitor evaluates a held-out metric during training, keeps the best weights and
stops when the metric reaches its target or stops improving; what it saw is written to
``fit.json`` beside the model, so every trained stage records whether it fit its data.
"""

from __future__ import annotations

import json
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch
from datasets import Dataset
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import TrainerCallback, TrainingArguments
from trl import SFTConfig, SFTTrainer

from safetensors.torch import load_file, save_file

from vbvf.arms.interrupt import SaveOnInterrupt
from vbvf.config import TrainConfig
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.checkpoints import current_checkpoints, latest_checkpoint


def precision(allow_bf16: bool = True) -> dict:
    """bf16 on a GPU that supports it (unless disallowed), fp32 elsewhere (trl's bf16 default fails on CPU)."""
    cuda = torch.cuda.is_available()
    bf16 = allow_bf16 and cuda and torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": False, "tf32": cuda and not bf16, "use_cpu": not cuda}


def trainer_args(train: TrainConfig, out_dir: Path, seed: int) -> dict:
    """The TrainingArguments fields every vbvf stage sets the same way.

    With ``train.checkpoint_every > 0`` inside a cached stage, the trainer saves a checkpoint (the
    newest only) every that many steps into the stage's checkpoint folder, from which
    ``resume_point`` resumes a rerun.
    """
    checkpoints = current_checkpoints() if train.checkpoint_every > 0 else None
    saving = (dict(output_dir=str(checkpoints), save_strategy="steps", save_steps=train.checkpoint_every, save_total_limit=1)
              if checkpoints is not None else dict(output_dir=str(out_dir / "trainer"), save_strategy="no"))
    return dict(
        **saving,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        learning_rate=train.learning_rate,
        warmup_steps=int(train.warmup_ratio * train.max_steps),
        weight_decay=train.weight_decay,
        lr_scheduler_type=train.lr_scheduler_type,
        logging_steps=max(1, train.max_steps // 10),
        report_to=[],
        seed=seed,
        data_seed=seed,
        disable_tqdm=False,
        dataloader_num_workers=0,
        **({"optim": train.optim} if train.optim else {}),
        torch_compile=train.torch_compile,
        **length_grouping(train.group_by_length),
        **precision(train.bf16),
    )


def check_not_padding_free(train, key: str) -> None:
    """Raise, naming ``key``, where a non-SFT stage's train mapping asks for ``padding_free`` (only ``sft`` flattens batches)."""
    if train.get("padding_free"):
        raise ValueError(f"{key}.padding_free=true: padding-free batches exist for the SFT stages only (base_lm, vf, "
                         f"format_sft, heterogeneity); this stage's trainer would ignore it. Set it false")


def padded_positions(longest: int, multiple: int | None) -> int:
    """The length a batch whose longest row has ``longest`` tokens is padded to."""
    return -(-longest // multiple) * multiple if multiple else longest


def check_padding_fits(positions: int | None, longest: int, multiple: int | None, key: str) -> None:
    """Raise, naming ``key``, before training when padding to a multiple reaches past the model's position
    table: an embedding index out of range, an error in eager mode and on the CPU, but compiled GPU
    kernels need not check bounds."""
    padded = padded_positions(longest, multiple)
    if positions is not None and padded > positions:
        raise ValueError(f"{key}.pad_to_multiple_of={multiple}: the longest row ({longest} tokens) is padded to {padded}, "
                         f"past the model's {positions} positions; build the model with at least {padded} positions "
                         f"(the didactic base does when base_lm.train sets the multiple) or set it null")


def resume_point(trainer) -> str | None:
    """The newest finished checkpoint of this trainer's stage, when it saves checkpoints (else None)."""
    if trainer.args.save_strategy == "no":
        return None
    found = latest_checkpoint(Path(trainer.args.output_dir))
    if found is not None:
        log.info("resuming %s from %s", trainer.args.output_dir, found.name)
    return None if found is None else str(found)


def length_grouping(enabled: bool) -> dict:
    """transformers' length-grouped sampler: ``train_sampling_strategy`` since 5.2x, ``group_by_length`` before."""
    if not enabled:
        return {}
    if "train_sampling_strategy" in TrainingArguments.__dataclass_fields__:
        return {"train_sampling_strategy": "group_by_length"}
    return {"group_by_length": True}


log = logging.getLogger(__name__)


@dataclass
class HeldOut:
    """A held-out metric (lower is better) evaluated every ``every`` optimiser steps.

    Training stops at the first evaluation with ``metric ≤ target`` (when a target is set) or after
    ``patience`` evaluations without an improvement; the best weights seen are restored at the end.
    ``max_steps`` of the stage stays the cap.
    """

    metric: Callable[[torch.nn.Module], float]
    every: int
    patience: int
    target: Optional[float] = None
    name: str = "heldout_loss"
    history: list[dict] = field(default_factory=list)
    best: Optional[dict] = None
    stop_reason: str = "max_steps"

    def report(self) -> dict:
        """What fit.json holds: the held-out curve, the best point, why training stopped, and the target."""
        return {"metric": self.name, "history": self.history, "best": self.best, "stop_reason": self.stop_reason,
                "target": self.target, "reached_target": None if self.target is None else bool(
                    self.best is not None and self.best["value"] <= self.target)}


class HeldOutCallback(TrainerCallback):
    """Runs a ``HeldOut`` monitor inside a transformers/trl Trainer.

    transformers' ``EarlyStoppingCallback`` needs ``load_best_model_at_end``, which writes a full
    checkpoint at every evaluation and evaluates only a Trainer loss; this keeps the best weights
    in memory and evaluates any metric (the base's gap to the Bayes NLL, a verifier's BCE).
    """

    def __init__(self, monitor: HeldOut, resume_from: str | None = None):
        self.monitor = monitor
        self._best_state: dict | None = None
        self._bad = 0
        self._resume_from = resume_from

    def _evaluate(self, model, step: int, control) -> None:
        mon = self.monitor
        value = float(mon.metric(model))
        mon.history.append({"step": step, "value": value})
        log.info("step %d: %s = %.4f", step, mon.name, value)
        if not math.isfinite(value):  # NaN never compares lower: without this a diverged run trains on to patience
            raise FloatingPointError(f"training diverged: held-out {mon.name} = {value} at step {step} (best "
                                     f"{mon.best}); lower train.learning_rate or set train.bf16=false")
        if mon.best is None or value < mon.best["value"]:
            mon.best = {"step": step, "value": value}
            self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            self._bad = 0
        else:
            self._bad += 1
        if mon.target is not None and value <= mon.target:
            mon.stop_reason, control.should_training_stop = "target", True
        elif self._bad >= mon.patience:
            mon.stop_reason, control.should_training_stop = "patience", True

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self._resume_from is not None:  # the monitor's state as it was at the checkpoint
            self._restore(Path(self._resume_from))
            return
        self._evaluate(model, 0, control)
        control.should_training_stop = False  # never stop before the first step

    def on_save(self, args, state, control, **kwargs):
        """Beside each checkpoint: the held-out curve so far and the best weights seen."""
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        mon = self.monitor
        atomic_write_json(folder / "heldout.json", {"history": mon.history, "best": mon.best, "bad": self._bad})
        if self._best_state is not None:
            save_file({k: v.contiguous() for k, v in self._best_state.items()}, str(folder / "heldout_best.safetensors"))

    def _restore(self, folder: Path) -> None:
        saved = json.loads((folder / "heldout.json").read_text())
        self.monitor.history[:], self.monitor.best, self._bad = saved["history"], saved["best"], saved["bad"]
        best = folder / "heldout_best.safetensors"
        self._best_state = load_file(str(best)) if best.exists() else None

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.monitor.every == 0:
            self._evaluate(model, state.global_step, control)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        mon = self.monitor
        if mon.history[-1]["step"] != state.global_step:
            self._evaluate(model, state.global_step, control)
        if self._best_state is not None and mon.best["step"] != state.global_step:
            model.load_state_dict(self._best_state)
        mon.best = dict(mon.best, steps_run=state.global_step)


def non_finite(row: dict) -> dict:
    """The loss and gradient norm of a trainer log row that are not finite (empty: none)."""
    return {k: row[k] for k in ("loss", "grad_norm") if k in row and not math.isfinite(float(row[k]))}


class StopOnNonFinite(TrainerCallback):
    """Raise at the first logged non-finite loss or gradient norm, instead of training on to ``max_steps``."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if bad := non_finite(logs or {}):
            raise FloatingPointError(f"training diverged at step {state.global_step}: {bad}; lower "
                                     "train.learning_rate or set train.bf16=false")


@contextmanager
def attention_kernels(cudnn: bool) -> Iterator[None]:
    """The SDPA kernels a training stage may use on a GPU: all, or all but cuDNN's (``train.cudnn_attention``)."""
    if cudnn or not torch.cuda.is_available():
        yield
        return
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
        yield


def train_resumably(trainer, resume_from: str | None, cudnn_attention: bool = False):
    """``trainer.train(resume_from_checkpoint=resume_from)`` under ``attention_kernels``, with ``SaveOnInterrupt``
    added after the trainer's other callbacks (theirs are saved beside its checkpoint first); returns what
    ``train`` returns."""
    interrupt = SaveOnInterrupt()
    trainer.add_callback(interrupt)
    with interrupt.armed(trainer), attention_kernels(cudnn_attention):
        return trainer.train(resume_from_checkpoint=resume_from)


def fit(trainer, out_dir: Path, monitor: HeldOut | None, extra: dict | None = None, train_set_loss: bool = False,
        train_set_metrics: Callable | None = None, cudnn_attention: bool = False) -> list[dict]:
    """Train with ``monitor`` (if any), save the model, write ``train_log.json`` and ``fit.json``; return the loss rows.

    ``train_set_loss``: also evaluate the trainer's loss on its whole training set before and after
    training (``fit.json``: ``train_set.loss_before`` / ``loss_after``), the record that the stage
    fit its data where no held-out monitor judges it. ``train_set_metrics``: the pass after training
    is a ``predict``, and this function of its output adds to ``train_set`` (every process runs the
    pass, which gathers across them).
    """
    resume = resume_point(trainer)
    trainer.add_callback(StopOnNonFinite())
    if monitor is not None:
        trainer.add_callback(HeldOutCallback(monitor, resume_from=resume))
    before = trainer.evaluate(trainer.train_dataset, metric_key_prefix="train_set") if train_set_loss else None
    outcome = train_resumably(trainer, resume, cudnn_attention)
    after, more = None, {}
    if train_set_metrics is not None:
        predicted = trainer.predict(trainer.train_dataset, metric_key_prefix="train_set")
        after, more = predicted.metrics, train_set_metrics(predicted)
    elif train_set_loss:
        after = trainer.evaluate(trainer.train_dataset, metric_key_prefix="train_set")
    trainer.save_model(str(out_dir))
    rows = save_log(trainer, out_dir)
    if trainer.is_world_process_zero():
        report = (monitor.report() if monitor is not None else {"metric": None, "stop_reason": "max_steps"})
        report |= {"mean_train_loss": outcome.training_loss, "last_logged_train_loss": rows[-1]["loss"] if rows else None,
                   "steps_run": trainer.state.global_step}
        if train_set_loss:
            report["train_set"] = {"examples": len(trainer.train_dataset), "loss_before": before["train_set_loss"],
                                   "loss_after": after["train_set_loss"]} | more
        # an extra value may be a callable: evaluated now, on the final (best) weights
        report |= {name: value() if callable(value) else value for name, value in (extra or {}).items()}
        atomic_write_json(Path(out_dir) / "fit.json", report)
    return rows


def read_fit(model_dir: Path) -> dict | None:
    """A trained stage's ``fit.json`` (None for a stage that was not trained, e.g. π_b itself)."""
    path = Path(model_dir) / "fit.json"
    return json.loads(path.read_text()) if path.exists() else None


def sft(model, tokenizer, examples: list[dict], out_dir: Path, train: TrainConfig, seed: int,
        monitor: HeldOut | None = None, extra: dict | None = None, callbacks: tuple = (), train_set_loss: bool = False,
        key: str = "train") -> list[dict]:
    """Completion-only SFT of ``model`` on pre-tokenised examples; saves to ``out_dir``; returns the log
    (``train_set_loss``: see ``fit``; ``key``: the config key of ``train``, named in errors)."""
    check_padding_fits(getattr(model.config, "max_position_embeddings", None), max(len(e["input_ids"]) for e in examples),
                       train.pad_to_multiple_of, key)
    args = SFTConfig(
        **trainer_args(train, out_dir, seed),
        completion_only_loss=True,
        gradient_checkpointing=train.gradient_checkpointing,  # trl defaults to True; off unless configured
        max_length=None,
        packing=False,
        padding_free=train.padding_free,
        pad_to_multiple_of=train.pad_to_multiple_of,
        dataset_num_proc=None,
    )
    # padding_free: trl's compute_loss passes use_cache=False, without which transformers would keep the
    # plain causal mask for the flattened row (tests/test_padding_free.py)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
                         callbacks=list(callbacks))
    rows = fit(trainer, out_dir, monitor, extra, train_set_loss, cudnn_attention=train.cudnn_attention)
    if trainer.is_world_process_zero():  # under accelerate launch, one process writes
        tokenizer.save_pretrained(str(out_dir))
    return rows


def save_log(trainer, out_dir: Path) -> list[dict]:
    """Write the trainer's log history to ``train_log.json``; return the loss rows.

    A non-finite loss or gradient norm raises, so a diverged model never becomes a finished stage.
    """
    history = trainer.state.log_history
    if trainer.is_world_process_zero():
        (Path(out_dir) / "train_log.json").write_text(json.dumps(history, indent=1))
    rows = [row for row in history if "loss" in row]
    bad = [row for row in rows if non_finite(row)]
    if bad:
        raise FloatingPointError(f"training of {out_dir} diverged at step {bad[0].get('step')}: {bad[0]}")
    return rows
