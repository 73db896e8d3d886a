"""A tiny randomly initialised Llama, its locally trained tokenizer, and a tiny scorer.

Nothing is downloaded: the tokenizer is a byte-level BPE trained on a few strings, so every
text can be encoded. Both are written with ``save_pretrained`` so the rest of the kit loads them
by ``name_or_path`` exactly like a hub model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    PreTrainedTokenizerFast,
)

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
CORPUS = [
    r"Solve for $x$: $2x + 3 = 7$. Subtract 3, then divide by 2, so $x = \boxed{2}$.",
    r"The area is $\frac{1}{2} \cdot 3 \cdot 4 = 6$, so the answer is $\boxed{6}$.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    r"We have $\sqrt{16} = 4$ and $(1, 2) \cup [3, \infty)$; hence $\dfrac{3}{4}$.",
]


def build_tokenizer(vocab_size: int = 320) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on :data:`CORPUS` that prepends BOS; EOS/PAD and a minimal chat template."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(  # prepend BOS, as Llama tokenizers do
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _config(tokenizer: PreTrainedTokenizerFast, hidden: int, layers: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )


def save_tiny_llama(out_dir: str | Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Write a random tiny causal Llama and its tokenizer to ``out_dir``; returns the directory."""
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(_config(tokenizer, hidden, layers))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return Path(out_dir)


def save_tiny_scorer(out_dir: str | Path, hidden: int = 64, layers: int = 2, seed: int = 1) -> Path:
    """Write a random tiny Llama with a scalar head (sequence classification, one label)."""
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    LlamaForSequenceClassification(_config(tokenizer, hidden, layers)).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return Path(out_dir)


def save_tiny_models(out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``out_dir/policy`` (causal LM) and ``out_dir/scorer`` (scalar head) for smoke runs."""
    out_dir = Path(out_dir)
    return save_tiny_llama(out_dir / "policy"), save_tiny_scorer(out_dir / "scorer")


if __name__ == "__main__":
    import sys

    for written in save_tiny_models(sys.argv[1] if len(sys.argv) > 1 else ".cache/tiny"):
        print(written)
