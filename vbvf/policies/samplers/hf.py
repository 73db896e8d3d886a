"""Sampling with transformers ``generate`` (CPU or GPU), all prompts × samples in large calls.

One row per (prompt, sample); rows are ordered by prompt length, longest first, and generated
``batch_size`` at a time, left-padded, so each call holds prompts of similar lengths. A row's
randomness is Gumbel noise keyed by (``prompt_seed(seed, prompt)``, sample index, step)
(``gumbel.py``): a prompt's samples do not depend on the other prompts, on ``batch_size`` or on
the order, which the on-disk cache relies on. The logits themselves may differ in the last bits
with the batch (padding, shapes): on the CPU in float32 batched and one-by-one greedy outputs
agree token for token in our tests; in bf16 on a GPU a near-tie can flip a token, as in vLLM.
Stop strings end generation; the returned text is cut before the first one, as in vLLM.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from vbvf.policies.samplers.base import Completion, SamplingParams, prompt_seed
from vbvf.policies.samplers.gumbel import GumbelSampling, row_keys
from vbvf.tasks.math.prompts import prompt_token_ids

CACHES = (None, "static")  # generate's cache_implementation: None = dynamic; "static" compiles on a GPU


class HFSampler:
    """A causal LM loaded with ``from_pretrained(name_or_path)``; ``batch_size`` rows per ``generate`` call."""

    backend = "hf"

    def __init__(self, name_or_path: str, device: str | None = None, dtype: str = "auto", batch_size: int = 256,
                 cache_implementation: str | None = None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"sampler.batch_size={batch_size!r}: expected a positive number of sequences per call")
        if cache_implementation not in CACHES:
            raise ValueError(f"sampler.cache_implementation={cache_implementation!r}: expected one of {CACHES}")
        self.name_or_path = str(name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size, self.cache_implementation = batch_size, cache_implementation
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.name_or_path, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        encoded = [prompt_token_ids(p, self.tokenizer) for p in prompts]
        seeds = [prompt_seed(params.seed, p) for p in prompts]
        longest_first = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        rows = [(i, j) for i in longest_first for j in range(params.n)]
        samples: list[list] = [[None] * params.n for _ in prompts]
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            keys = row_keys([seeds[i] for i, _ in chunk], [j for _, j in chunk])
            for (i, j), tokens in zip(chunk, self._generate([encoded[i] for i, _ in chunk], keys, params)):
                samples[i][j] = self._completion(tokens, params)
        return samples

    @torch.inference_mode()
    def _generate(self, prompts: list[list[int]], keys: torch.Tensor, params: SamplingParams) -> list[list[int]]:
        """The tokens generated for each left-padded prompt (padding after a row's end included)."""
        ids, mask = self.left_padded(prompts)
        width = ids.shape[1]
        output = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,  # greedy over the noised scores of ``GumbelSampling`` is sampling
            logits_processor=self._sampling_processors(keys.to(self.device), width, params),
            max_new_tokens=params.max_tokens,
            stop_strings=list(params.stop) or None,
            tokenizer=self.tokenizer,
            pad_token_id=self.pad_id,
            cache_implementation=self.cache_implementation,
        )
        return output[:, width:].tolist()

    def left_padded(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids padded on the left to the longest prompt, and their attention mask, on the device."""
        width = max(map(len, prompts))
        ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        return ids, mask

    @staticmethod
    def _sampling_processors(keys: torch.Tensor, width: int, params: SamplingParams) -> LogitsProcessorList:
        """Temperature, then top-p (no top-k), then the rows' noise, as ``generate(do_sample=True)`` orders them;
        none at temperature 0 (greedy)."""
        if params.temperature <= 0:
            return LogitsProcessorList()
        top_p = [TopPLogitsWarper(params.top_p)] if params.top_p < 1.0 else []
        return LogitsProcessorList([TemperatureLogitsWarper(params.temperature), *top_p, GumbelSampling(keys, width)])

    def _completion(self, tokens: list[int], params: SamplingParams) -> Completion:
        """Text and count of the tokens this sample generated (through EOS; padding excluded)."""
        end = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
        if end is not None:
            return Completion(self._decode(tokens[:end]), end + 1, "eos")
        while tokens and tokens[-1] == self.pad_id:
            tokens = tokens[:-1]
        text = self._decode(tokens)
        cuts = [text.index(s) for s in params.stop if s in text]
        if cuts:
            return Completion(text[: min(cuts)], len(tokens), "stop")
        return Completion(text, len(tokens), "length")

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)
