"""The MATH training stages train float32 weights from a bf16 checkpoint and honour gradient checkpointing."""

import torch
from transformers import AutoModelForCausalLM

import vbvf.arms.math_training as math_training
from vbvf.arms.math_training import load_tokenizer, sft_examples, train_stage, verifier_examples
from vbvf.config import TrainConfig
from vbvf.models.tiny_llama import save_tiny_llama

PROMPT = "<s><|user|>\nWhat is $2\\cdot 3$?\n<|assistant|>\n"


def _bf16_policy(path):
    """A tiny Llama saved in bf16, as the hub's Llama 3.2 checkpoints are."""
    save_tiny_llama(path)
    AutoModelForCausalLM.from_pretrained(path).to(torch.bfloat16).save_pretrained(path)
    return path


def test_stages_train_float32_weights_from_a_bf16_checkpoint_with_checkpointing(tmp_path, monkeypatch):
    policy = _bf16_policy(tmp_path / "policy")
    tokenizer = load_tokenizer(policy)
    seen = {}

    class Recording(math_training.BCETrainer):
        def train(self, *args, **kwargs):
            seen.update(dtype=next(self.model.parameters()).dtype, checkpointing=self.args.gradient_checkpointing)
            return super().train(*args, **kwargs)

    monkeypatch.setattr(math_training, "BCETrainer", Recording)
    train = TrainConfig(max_steps=1, batch_size=2, gradient_checkpointing=True)
    examples = verifier_examples(tokenizer, [PROMPT] * 2, ["So $\\boxed{6}$.", "So 9."], [1.0, 0.0], max_length=64)
    train_stage("verifier", policy, examples, tmp_path / "verifier", train, seed=0)
    assert seen == {"dtype": torch.float32, "checkpointing": True}

    examples, _ = sft_examples(tokenizer, [PROMPT] * 2, ["So $\\boxed{6}$.", "So 9."], max_length=None)
    out = train_stage("sft", policy, examples, tmp_path / "sft", TrainConfig(max_steps=1, batch_size=2), seed=0)
    assert AutoModelForCausalLM.from_pretrained(out).dtype == torch.float32
