"""Training wrappers: precision follows the device, a diverged run never becomes a finished stage, and padding
never reaches past the position table."""

from types import SimpleNamespace

import numpy as np
import pytest

from vbvf.arms.rl import rl_finetune
from vbvf.arms.training import StopOnNonFinite, precision, save_log, sft
from vbvf.config import RLConfig, TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.pipeline.bases import lm_base
from vbvf.pipeline.stages import StageCache
from vbvf.policies.lm import trace_examples
from vbvf.tasks.planted import PlantedTask


def test_precision_on_cpu_is_fp32():
    assert precision() == {"bf16": False, "fp16": False, "tf32": False, "use_cpu": True}


def test_save_log_rejects_non_finite_losses(tmp_path):
    ok = SimpleNamespace(state=SimpleNamespace(log_history=[{"loss": 2.0, "grad_norm": 0.5, "step": 1}, {"train_runtime": 1.0}]),
                         is_world_process_zero=lambda: True)
    assert save_log(ok, tmp_path) == [{"loss": 2.0, "grad_norm": 0.5, "step": 1}]
    diverged = SimpleNamespace(state=SimpleNamespace(log_history=[{"loss": 2.0, "grad_norm": float("nan"), "step": 7}]),
                               is_world_process_zero=lambda: True)
    with pytest.raises(FloatingPointError, match="step 7"):
        save_log(diverged, tmp_path)


def test_a_logged_non_finite_loss_or_grad_norm_stops_training_at_its_log():
    state = SimpleNamespace(global_step=3600)
    StopOnNonFinite().on_log(None, state, None, logs={"loss": 2.3, "grad_norm": 1.2, "learning_rate": 1e-4})
    with pytest.raises(FloatingPointError, match=r"step 3600: \{'grad_norm': nan\}"):
        StopOnNonFinite().on_log(None, state, None, logs={"loss": 2.288, "grad_norm": float("nan")})
    with pytest.raises(FloatingPointError, match="'loss': inf"):
        StopOnNonFinite().on_log(None, state, None, logs={"loss": float("inf")})


def test_padding_past_the_position_table_fails_before_training(tmp_path):
    """H = 12, prompt 2 + 2: rows of 16 tokens fill a 16-position table; padded to 32 they would not."""
    task = PlantedTask(vocab_size=4, prompt_length=2, n_train=8, n_test=2, seed=0)
    prompts = task.train_prompts[:8]
    traces = np.full((8, 12), 1, dtype=np.int32)  # never-ending traces: every row is prompt + H tokens
    lm = build_lm(task, 1, 16, 2, n_positions=task.prompt_length + 2 + 12)
    examples = trace_examples(task, prompts, traces)
    assert max(len(e["input_ids"]) for e in examples) == 16
    cfg = TrainConfig(max_steps=1, batch_size=4, pad_to_multiple_of=32)
    with pytest.raises(ValueError, match=r"train.pad_to_multiple_of=32: the longest row \(16 tokens\) is padded to 32, past the model's 16"):
        sft(lm, build_tokenizer(task), examples, tmp_path / "out", cfg, 0)
    with pytest.raises(ValueError, match=r"^vf.train.pad_to_multiple_of=32"):  # a stage names its own key
        sft(lm, build_tokenizer(task), examples, tmp_path / "out", cfg, 0, key="vf.train")
    assert not (tmp_path / "out").exists()  # nothing ran
    sft(lm, build_tokenizer(task), examples, tmp_path / "fits", TrainConfig(max_steps=1, batch_size=4, pad_to_multiple_of=8), 0)


def test_the_base_position_table_is_rounded_up_to_the_padding_multiple(tmp_path):
    """Rows of 16 tokens padded to 32: the base is built with 32 positions (else the check above refuses it)."""
    task = PlantedTask(vocab_size=4, prompt_length=2, n_train=8, n_test=2, seed=0)
    train = {"max_steps": 2, "batch_size": 8, "eval_every": 1, "patience": 1, "pad_to_multiple_of": 32}
    policy = lm_base(task, StageCache(tmp_path), 0, 12, [0.0], [1.0], model={"n_layer": 1, "n_embd": 16, "n_head": 2},
                     n_traces=16, train=train, sampler={}, target_nll_gap=0.0, n_heldout=8)
    assert policy.model.config.n_positions == 32


def test_grpo_padding_past_the_position_table_fails_before_training(tmp_path):
    task = PlantedTask(vocab_size=4, prompt_length=2, n_train=8, n_test=2, seed=0)
    build_lm(task, 1, 16, 2, n_positions=16).save_pretrained(tmp_path / "policy")
    with pytest.raises(ValueError, match="vb.rl.train.pad_to_multiple_of=32"):
        rl_finetune(tmp_path / "policy", task, task.train_prompts[:4], lambda traces: None, 12,
                    RLConfig(pad_to_multiple_of=32), tmp_path / "out", 0)
    assert not (tmp_path / "out").exists()


def test_verifier_batches_are_trimmed_then_rounded_up_to_the_padding_multiple():
    """The didactic verifier's collator keeps the batch's longest row, rounded up to
    ``train.pad_to_multiple_of`` but never past the rows' full width; the MATH verifier's pads to it."""
    from vbvf.arms.verifier import trimmed_batches

    def row(length: int, width: int = 20) -> dict:
        return {"input_ids": [5] * length + [0] * (width - length), "attention_mask": [1] * length + [0] * (width - length),
                "labels": [1.0] * width, "length": length}

    batch = [row(5), row(11)]
    assert trimmed_batches()(batch)["input_ids"].shape == (2, 11)
    assert trimmed_batches(8)(batch)["input_ids"].shape == (2, 16)
    assert trimmed_batches(16)([row(17)])["input_ids"].shape == (1, 20)  # 32 would pass the full width
    assert set(trimmed_batches(8)(batch)) == {"input_ids", "attention_mask", "labels"}


def test_training_leaves_out_cudnn_attention_unless_the_stage_allows_it(monkeypatch, tmp_path):
    """On a GPU a training stage runs SDPA without cuDNN's kernels (their bf16 backward is reported to
    turn gradients NaN); ``train.cudnn_attention`` lets them back; the flags are restored afterwards."""
    import torch

    from vbvf.arms import training

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch.backends.cuda.cudnn_sdp_enabled()
    with training.attention_kernels(False):
        assert not torch.backends.cuda.cudnn_sdp_enabled() and torch.backends.cuda.mem_efficient_sdp_enabled()
    with training.attention_kernels(True):
        assert torch.backends.cuda.cudnn_sdp_enabled()
    assert torch.backends.cuda.cudnn_sdp_enabled()
    monkeypatch.undo()

    seen = []
    real = training.attention_kernels
    monkeypatch.setattr(training, "attention_kernels", lambda cudnn: seen.append(cudnn) or real(cudnn))
    task = PlantedTask(vocab_size=4, prompt_length=2, n_train=8, n_test=2, seed=0)
    examples = trace_examples(task, task.train_prompts[:8], np.full((8, 4), 1, dtype=np.int32))
    for allowed in (False, True):
        lm = build_lm(task, 1, 16, 2, n_positions=12)
        sft(lm, build_tokenizer(task), examples, tmp_path / str(allowed), TrainConfig(max_steps=1, batch_size=4, cudnn_attention=allowed), 0)
    assert seen == [False, True]  # the stage's knob reaches the kernels
