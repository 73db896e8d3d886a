"""Sampling with transformers ``generate`` (CPU or GPU).

The n samples of one prompt are drawn in batches of ``batch_size`` with a per-prompt seed, so
each prompt's samples are reproducible on their own (what the on-disk cache relies on).
Stop strings end generation; the returned text is cut before the first one, as in vLLM.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from vbvf.policies.samplers.base import Completion, SamplingParams, prompt_seed
from vbvf.tasks.math.prompts import prompt_token_ids


class HFSampler:
    """A causal LM loaded with ``from_pretrained(name_or_path)``."""

    backend = "hf"

    def __init__(self, name_or_path: str, device: str | None = None, dtype: str = "auto", batch_size: int = 16):
        self.name_or_path = str(name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.name_or_path, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        return [self._sample_prompt(prompt, params) for prompt in prompts]

    @torch.inference_mode()
    def _sample_prompt(self, prompt: str, params: SamplingParams) -> list[Completion]:
        ids = torch.tensor([prompt_token_ids(prompt, self.tokenizer)], device=self.device)
        generator_seed = prompt_seed(params.seed, prompt)
        completions = []
        for start in range(0, params.n, self.batch_size):
            torch.manual_seed(generator_seed + start)
            sampled = params.temperature > 0
            output = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=sampled,
                temperature=params.temperature if sampled else None,
                top_p=params.top_p if sampled else None,
                top_k=0,  # no top-k truncation: top_p and temperature only
                max_new_tokens=params.max_tokens,
                num_return_sequences=min(self.batch_size, params.n - start),
                stop_strings=list(params.stop) or None,
                tokenizer=self.tokenizer,
                pad_token_id=self.pad_id,
            )
            completions += [self._completion(row.tolist(), params) for row in output[:, ids.shape[1] :]]
        return completions

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
