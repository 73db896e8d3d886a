"""A stand-in for vLLM in tests: "samples" derived from the prompt's token ids and seed.

A prompt containing "boom" makes ``generate`` raise; one containing "exit" kills the process.
"""

import os
from types import SimpleNamespace

DTYPES = {"auto", "bfloat16", "float16", "float32"}


class SamplingParams:
    """Takes exactly the options the backend sets; keeps those the samples depend on."""

    def __init__(self, *, n, temperature, top_p, max_tokens, seed, stop):
        self.n, self.max_tokens, self.seed = n, max_tokens, seed


class Tokenizer:
    """Characters as token ids, BOS = 1."""

    bos_token = "<s>"

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": ([1] if add_special_tokens else []) + [ord(c) for c in text]}


class LLM:
    """Takes the engine options the backend passes; an unknown dtype fails, as in vLLM."""

    def __init__(self, model, tensor_parallel_size=1, dtype="auto", gpu_memory_utilization=0.9, max_model_len=None):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}")

    def get_tokenizer(self):
        return Tokenizer()

    def generate(self, prompts, sampling_params, use_tqdm=True):
        return [_output(p["prompt_token_ids"], params) for p, params in zip(prompts, sampling_params)]


def _output(ids, params):
    text = "".join(map(chr, ids[1:]))
    if "boom" in text:
        raise ValueError(f"boom in {text!r}")
    if "exit" in text:
        os._exit(3)
    n_tokens = min(len(ids), params.max_tokens)
    completions = [
        SimpleNamespace(
            text=f"{sum(ids)}/{params.seed}/{k}",
            token_ids=list(range(n_tokens)),
            finish_reason="length" if n_tokens == params.max_tokens else "stop",
            stop_reason=None,
        )
        for k in range(params.n)
    ]
    return SimpleNamespace(outputs=completions)
