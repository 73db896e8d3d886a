"""Sampling with transformers ``generate`` (CPU or GPU), all prompts × samples in large calls.

One row per (prompt, sample); rows are ordered by prompt length, longest first, and generated
``batch_size`` at a time, left-padded, so each call holds prompts of similar lengths. A row's
randomness is Gumbel noise keyed by (``prompt_seed(seed, prompt)``, sample index, step)
(``gumbel.py``): a prompt's samples do not depend on the other prompts, on ``batch_size`` or on
the order, which the on-disk cache relies on. The logits themselves may differ in the last bits
with the batch (padding, shapes): on the CPU in float32 batched and one-by-one greedy outputs
agree token for token in our tests; in bf16 on a GPU a near-tie can flip a token, as in vLLM.
Stop strings end generation; the returned text is cut before the first one, as in vLLM.

``decode="static"`` replaces ``generate`` with the kit's ``StaticDecoder`` (static KV cache, the
decode step compiled into one CUDA-graph replay per token on a GPU, the same per-row noise, so the
same samples up to floating point): ``generate`` was measured to be the bottleneck for a 135 M model
(1.08x between 512-row plain ``generate`` and this sampler's batched ``generate`` on an H100,
docs/PERFORMANCE.md "HF sampler"). Its rows run to eos or ``max_tokens``; a stop string is found
afterwards, and the completion is cut and counted where ``generate`` would have stopped. Each call's
shape is bucketed (rows and prompt width rounded up to a power of two) so that few shapes compile;
one decoder, and its KV cache of rows x (width + max_tokens), is kept at a time.
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
from vbvf.policies.static_decode import StaticDecoder
from vbvf.tasks.math.prompts import prompt_token_ids

CACHES = (None, "static")  # generate's cache_implementation: None = dynamic; "static" compiles on a GPU
DECODES = ("generate", "static")  # transformers generate, or vbvf.policies.static_decode (compiled on a GPU)
MIN_WIDTH = 16  # the narrowest prompt bucket


def bucket(size: int, floor: int = 1) -> int:
    """``size`` rounded up to a power of two (at least ``floor``): few distinct shapes to compile."""
    return max(floor, 1 << (size - 1).bit_length())


class HFSampler:
    """A causal LM loaded with ``from_pretrained(name_or_path)``; ``batch_size`` rows per ``generate`` call."""

    backend = "hf"

    def __init__(self, name_or_path: str, device: str | None = None, dtype: str = "auto", batch_size: int = 256,
                 cache_implementation: str | None = None, decode: str = "generate", decode_windows: int = 1):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"sampler.batch_size={batch_size!r}: expected a positive number of sequences per call")
        if cache_implementation not in CACHES:
            raise ValueError(f"sampler.cache_implementation={cache_implementation!r}: expected one of {CACHES}")
        if decode not in DECODES:
            raise ValueError(f"sampler.decode={decode!r}: expected one of {DECODES}")
        if not isinstance(decode_windows, int) or decode_windows < 1:
            raise ValueError(f"sampler.decode_windows={decode_windows!r}: expected a positive number of cache windows")
        self.name_or_path = str(name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size, self.cache_implementation, self.decode = batch_size, cache_implementation, decode
        self.decode_windows = decode_windows
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.name_or_path, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)
        self._decoder: tuple[tuple, StaticDecoder] | None = None  # (shape and parameters, decoder) for decode=static

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        encoded = [prompt_token_ids(p, self.tokenizer) for p in prompts]
        seeds = [prompt_seed(params.seed, p) for p in prompts]
        longest_first = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        rows = [(i, j) for i in longest_first for j in range(params.n)]
        samples: list[list] = [[None] * params.n for _ in prompts]
        generate = self._generate if self.decode == "generate" else self._decode_static
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            keys = row_keys([seeds[i] for i, _ in chunk], [j for _, j in chunk])
            for (i, j), tokens in zip(chunk, generate([encoded[i] for i, _ in chunk], keys, params)):
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

    @torch.inference_mode()
    def _decode_static(self, prompts: list[list[int]], keys: torch.Tensor, params: SamplingParams) -> list[list[int]]:
        """``_generate``'s tokens from the ``StaticDecoder``, every row to eos or max_tokens; the rows are
        completed to the bucketed row count with copies of the first."""
        rows, width = bucket(len(prompts), 1), bucket(max(map(len, prompts)), MIN_WIDTH)
        shape = (min(rows, bucket(self.batch_size)), width, params.max_tokens, params.temperature, params.top_p)
        if self._decoder is None or self._decoder[0] != shape:
            self._decoder = None  # free the old cache before the new one is allocated
            on_gpu = torch.device(self.device).type == "cuda"
            self._decoder = shape, StaticDecoder(self.model, shape[0], width, params.max_tokens, self.eos_ids, self.pad_id,
                                                 temperature=params.temperature, top_p=params.top_p, compile=on_gpu,
                                                 windows=self.decode_windows)
        filled = prompts + [prompts[0]] * (shape[0] - len(prompts))
        ids, mask = self.left_padded(filled, width)
        keys = torch.cat([keys, keys[:1].expand(shape[0] - len(prompts))]).to(self.device)
        out = self._decoder[1].sample(ids, params.max_tokens, attention_mask=mask, keys=keys)
        return [self._through_stop(tokens, params.stop) for tokens in out[: len(prompts)].tolist()]

    def _through_stop(self, tokens: list[int], stop: Sequence[str]) -> list[int]:
        """The tokens up to the first whose text completes a stop string before eos (where ``generate``
        stops), or all of them."""
        end = next((i for i, t in enumerate(tokens) if t in self.eos_ids), len(tokens))

        def holds_stop(k: int) -> bool:
            return any(s in self._decode(tokens[:k]) for s in stop)

        if not stop or not holds_stop(end):
            return tokens
        low, high = 1, end  # the shortest prefix whose text holds a stop string: the text grows with the prefix
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if holds_stop(middle) else (middle + 1, high)
        return tokens[:low]

    def left_padded(self, prompts: list[list[int]], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids padded on the left to ``width`` (default: the longest prompt), and their attention mask, on the device."""
        width = width or max(map(len, prompts))
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
