"""Verifier labels by hand, and the verifier's BCE training on a separable toy set."""

import json

import numpy as np
import pytest

from vbvf.arms.verifier import Verifier, VerifierConfig, train_verifier, verifier_labels
from vbvf.config import HeldOutTrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.tasks import UNSOLVED, PlantedTask

TASK = PlantedTask(vocab_size=4, prompt_length=2, n_train=8, n_test=8, seed=0)
EOS, PAD = TASK.eos, TASK.pad


def test_prefix_labels_mark_solved_by_step():
    traces = np.array([[0, 1, 2, EOS, PAD], [3, 3, 3, 3, 3]])
    labels = verifier_labels(TASK, traces, np.array([3, UNSOLVED]), "prefix")
    assert labels.tolist() == [[0, 0, 1, 1, -100], [0, 0, 0, 0, 0]]
    # Σ_h labels over a budget-H trace is exactly R_H = H − T + 1 (steps after eos count as solved)
    horizon = 5
    assert labels[0][labels[0] != -100].sum() + (horizon - 4) == horizon - 3 + 1


def test_outcome_labels_sit_on_the_last_token_only():
    traces = np.array([[0, 1, 2, EOS, PAD], [3, 3, 3, 3, 3]])
    labels = verifier_labels(TASK, traces, np.array([3, UNSOLVED]), "outcome")
    assert labels.tolist() == [[-100, -100, -100, 1, -100], [-100, -100, -100, -100, 0]]


def test_unknown_label_kind_is_rejected():
    with pytest.raises(ValueError, match="vb.verifier.labels"):
        verifier_labels(TASK, np.zeros((1, 3), dtype=int), np.array([1]), "dense")


def toy_set(tmp_path, seed, n=64, length=6):
    """Solved traces start with token 0, unsolved ones with token 3: separable from the first step.
    Also saves a random base LM to ``tmp_path/base``."""
    traces = np.random.default_rng(seed).integers(1, 3, size=(n, length))
    solved = np.arange(n) % 2 == 0
    traces[:, 0] = np.where(solved, 0, 3)
    prompts = TASK.train_prompts[np.arange(n) % len(TASK.train_prompts)]
    base = build_lm(TASK, n_layer=1, n_embd=16, n_head=2, n_positions=16)
    base.save_pretrained(tmp_path / "base")
    build_tokenizer(TASK).save_pretrained(tmp_path / "base")
    return prompts, traces, solved, np.where(solved, 1, UNSOLVED)


def test_verifier_training_separates_a_toy_set(tmp_path):
    prompts, traces, solved, solve_time = toy_set(tmp_path, seed=0)
    n, length = traces.shape
    cfg = VerifierConfig(labels="prefix", train=HeldOutTrainConfig(max_steps=60, batch_size=32, learning_rate=1e-2, warmup_ratio=0))
    log = train_verifier(TASK, tmp_path / "base", prompts, traces, solve_time, cfg, tmp_path / "verifier", seed=0)
    assert log[-1]["loss"] < 0.5 * log[0]["loss"]
    verifier = Verifier(TASK, tmp_path / "verifier", "prefix", device="cpu")
    scores = verifier.score(prompts, traces, length)
    assert scores[solved].min() > scores[~solved].max()


def test_held_out_verifier_quality_is_recorded(tmp_path):
    # the same separable toy set, a quarter held out: fit.json holds its BCE, AUC and Brier score
    prompts, traces, solved, solve_time = toy_set(tmp_path, seed=1)
    n = len(traces)
    train = HeldOutTrainConfig(max_steps=80, batch_size=32, learning_rate=1e-2, warmup_ratio=0, eval_every=10, patience=20)
    held = np.arange(n) % 8 < 2  # both classes held out
    train_verifier(TASK, tmp_path / "base", prompts, traces, solve_time, VerifierConfig(labels="prefix", train=train),
                   tmp_path / "verifier", seed=0, held=held)
    fit = json.loads((tmp_path / "verifier" / "fit.json").read_text())
    assert fit["train_traces"] == 48 and fit["heldout_traces"] == 16 and fit["metric"] == "heldout_bce"
    quality = fit["heldout"]
    # How well this 1-layer, 48-trace toy fits depends on the head's initial weights (stage seeds 0-3:
    # best held-out BCE 0.32, 0.009, 0.35, 0.48 from 0.69); seed 0 ranks perfectly, and its Brier
    # (~0.08) is far below the 0.25 of a constant 0.5. The bounds were set on an unseeded head before.
    assert quality["auc"] > 0.95 and quality["trace_auc"] == 1.0 and quality["brier"] < 0.15
    assert quality["bce"] == pytest.approx(fit["best"]["value"], rel=1e-6)
    assert fit["history"][0]["value"] > 2 * fit["best"]["value"]


def test_the_verifier_head_starts_from_the_stage_seed_not_the_process_rng(tmp_path):
    # a fresh run and a rerun that reuses cached upstream stages reach this with different RNG states
    import torch
    from safetensors.torch import load_file

    prompts, traces, solved, solve_time = toy_set(tmp_path, seed=2)
    cfg = VerifierConfig(labels="prefix", train=HeldOutTrainConfig(max_steps=2, batch_size=32, learning_rate=1e-2))
    for state in (1, 2):
        torch.manual_seed(state)  # whatever ran before in the process
        train_verifier(TASK, tmp_path / "base", prompts, traces, solve_time, cfg, tmp_path / f"v{state}", seed=0)
    first, second = (load_file(str(tmp_path / f"v{s}" / "model.safetensors")) for s in (1, 2))
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
