"""GPT-2-style causal LMs for the planted task, built from config, with a tokenizer built locally.

Token ids equal the task's ids (digit d is id d; bos, sep, eos, pad follow), so traces move
between numpy and the model without a lookup. Sizes range from a CPU-tiny model to GPT-2-xl
(`conf/model/`); nothing is downloaded. Models are saved with ``save_pretrained`` (safetensors)
and reloaded with ``from_pretrained``.
"""

from __future__ import annotations

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from vbvf.tasks.planted import PlantedTask


def build_tokenizer(task: PlantedTask) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose ids are the task's token ids ("3 1 4" -> [3, 1, 4])."""
    vocab = {str(d): d for d in range(task.vocab_size)}
    vocab.update({"<bos>": task.bos, "<sep>": task.sep, "<eos>": task.eos, "<pad>": task.pad})
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<pad>"
    )


def build_lm(task: PlantedTask, n_layer: int, n_embd: int, n_head: int, n_positions: int, dropout: float = 0.0, seed: int = 0) -> GPT2LMHeadModel:
    """A randomly initialised GPT-2 LM over the task's vocabulary."""
    import torch

    config = GPT2Config(
        vocab_size=task.n_tokens,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=task.bos,
        eos_token_id=task.eos,
        pad_token_id=task.pad,
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
