"""MATH training stages on tiny local models: SFT examples and the verifier's BCE training."""

import numpy as np
import torch

from vbvf.arms.math_training import load_tokenizer, sft_examples, train_stage, verifier_examples
from vbvf.config import TrainConfig
from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.policies.scorer import HFScorer

PROMPT = "<s><|user|>\nWhat is $2\\cdot 3$?\n<|assistant|>\n"


def test_sft_examples_put_the_loss_on_completion_and_eos_only(tmp_path):
    tokenizer = load_tokenizer(save_tiny_llama(tmp_path / "m"))
    examples, dropped = sft_examples(tokenizer, [PROMPT, PROMPT], ["So $\\boxed{6}$.", "x" * 500], max_length=64)
    assert dropped == 1 and len(examples) == 1
    (ex,) = examples
    head = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    assert ex["input_ids"][: len(head)] == head and ex["input_ids"][-1] == tokenizer.eos_token_id
    assert ex["input_ids"].count(tokenizer.bos_token_id) == 1  # the chat prompt's BOS, no second one
    assert ex["completion_mask"] == [0] * len(head) + [1] * (len(ex["input_ids"]) - len(head))


def test_verifier_examples_keep_the_end_of_long_inputs(tmp_path):
    tokenizer = load_tokenizer(save_tiny_llama(tmp_path / "m"))
    (ex,) = verifier_examples(tokenizer, [PROMPT], ["y" * 300 + "\\boxed{6}"], [1.0], max_length=16)
    assert len(ex["input_ids"]) == 16 and ex["labels"] == 1.0
    assert tokenizer.decode(ex["input_ids"]).endswith("\\boxed{6}")


def _bce(scores, labels):
    p = np.clip(np.asarray(scores), 1e-7, 1 - 1e-7)
    return float(-(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean())


def test_verifier_training_reduces_bce_on_a_separable_toy_set(tmp_path):
    torch.manual_seed(0)
    policy = save_tiny_llama(tmp_path / "policy")
    tokenizer = load_tokenizer(policy)
    completions = [f"Step {i}. So the answer is $\\boxed{{{6 if i % 2 else 9}}}$." for i in range(32)]
    labels = np.array([float(i % 2) for i in range(32)])
    examples = verifier_examples(tokenizer, [PROMPT] * 32, completions, labels, max_length=128)
    train = TrainConfig(max_steps=40, batch_size=16, learning_rate=3e-3, warmup_ratio=0.0, lr_scheduler_type="constant")
    untrained = train_stage("verifier", policy, examples, tmp_path / "v0", TrainConfig(max_steps=1, learning_rate=1e-12), seed=0)
    trained = train_stage("verifier", policy, examples, tmp_path / "v1", train, seed=0)
    before = _bce(HFScorer(untrained).score_outcomes([PROMPT] * 32, completions), labels)
    after = _bce(HFScorer(trained).score_outcomes([PROMPT] * 32, completions), labels)
    assert after < 0.5 * before and after < 0.3, (before, after)


def test_verifier_batches_are_padded_to_train_pad_to_multiple_of(tmp_path, monkeypatch):
    """``train.pad_to_multiple_of`` reaches the verifier's collator: every batch's width is a multiple of it."""
    from transformers import Trainer

    policy = save_tiny_llama(tmp_path / "policy")
    examples = verifier_examples(load_tokenizer(policy), [PROMPT] * 4, ["a", "bb cc", "dd ee ff", "g"], [0.0, 1.0, 1.0, 0.0], 64)
    widths = []
    step = Trainer.training_step
    monkeypatch.setattr(Trainer, "training_step", lambda self, model, inputs, *a, **k: widths.append(inputs["input_ids"].shape[1]) or step(self, model, inputs, *a, **k))
    train_stage("verifier", policy, examples, tmp_path / "v", TrainConfig(max_steps=2, batch_size=2, pad_to_multiple_of=24), seed=0)
    assert len(widths) == 2 and all(w % 24 == 0 for w in widths), widths
    assert min(len(e["input_ids"]) for e in examples) % 24  # unpadded, some row's width would not be a multiple
