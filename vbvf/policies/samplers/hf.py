"""Sampling with transformers ``generate`` (CPU or GPU), all prompts × samples in large calls.

One row per (prompt, sample); rows are ordered by prompt length, longest first, and generated
``batch_size`` at a time, left-padded, so each call holds prompts of similar lengths. A row's
randomness is Gumbel noise keyed by (``prompt_seed(seed, prompt)``, sample index, step)
(``gumbel.py``): a prompt's samples do not depend on the other prompts, on ``batch_size`` or on
the order, which the on-disk cache relies on. The logits themselves may differ in the last bits
with the batch (padding, shapes): on the CPU in float32 batched and one-by-one greedy outputs
agree token for token in our tests; in bf16 on a GPU a near-tie can flip a token, as in vLLM.
Stop strings end generation; the returned text is cut before the first one, as in vLLM.

``engine: continuous`` hands all rows to transformers' continuous batching (``generate_batch``: a
paged KV cache shared by a prompt's samples, finished rows replaced by waiting ones at once, CUDA
graphs on a GPU) instead of fixed calls. Its randomness is torch's generator seeded once per call
with ``params.seed``: the draws are exact samples of the same distribution, but a prompt's samples
then depend on which prompts share the call, so a resumed run can draw other (equally valid)
samples for the prompts it had not cached. It takes no stop strings (docs/MATH.md).
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from vbvf.policies.samplers.base import Completion, SamplingParams, prompt_seed
from vbvf.policies.samplers.gumbel import GumbelSampling, row_keys
from vbvf.tasks.math.prompts import prompt_token_ids

CACHES = (None, "static")  # generate's cache_implementation: None = dynamic; "static" compiles on a GPU
ENGINES = ("generate", "continuous")
BLOCK = 256  # tokens per paged-cache block: ContinuousBatchingConfig's default  # fixed generate calls of batch_size rows | transformers' continuous batching


def hf_backend(engine: str) -> str:
    """The sample cache's backend name: the continuous engine draws other samples than the generate one."""
    return "hf" if engine == "generate" else f"hf-{engine}"


def check_engine(engine: str, cache_implementation: str | None, stop: Sequence[str] = ()) -> None:
    """``sampler.engine`` and what it cannot combine with, before any model is loaded."""
    if engine not in ENGINES:
        raise ValueError(f"sampler.engine={engine!r}: expected one of {ENGINES}")
    if cache_implementation not in CACHES:
        raise ValueError(f"sampler.cache_implementation={cache_implementation!r}: expected one of {CACHES}")
    if engine == "continuous" and cache_implementation is not None:
        raise ValueError("sampler.cache_implementation applies to engine=generate; continuous batching has its own paged cache (set null)")
    if engine == "continuous" and stop:
        raise ValueError(f"sampler.engine=continuous does not take stop strings (sampling.stop={list(stop)}): use engine=generate")


class HFSampler:
    """A causal LM loaded with ``from_pretrained(name_or_path)``; ``batch_size`` rows per ``generate`` call."""

    backend = "hf"

    def __init__(self, name_or_path: str, device: str | None = None, dtype: str = "auto", batch_size: int = 256,
                 cache_implementation: str | None = None, engine: str = "generate"):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"sampler.batch_size={batch_size!r}: expected a positive number of sequences per call")
        check_engine(engine, cache_implementation)
        self.name_or_path = str(name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size, self.cache_implementation, self.engine = batch_size, cache_implementation, engine
        self.backend = hf_backend(engine)
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.name_or_path, dtype=dtype).to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        encoded = [prompt_token_ids(p, self.tokenizer) for p in prompts]
        if self.engine == "continuous":
            return self._sample_continuous(encoded, params)
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
        width = max(map(len, prompts))
        ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
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
    def _sample_continuous(self, encoded: list[list[int]], params: SamplingParams) -> list[list[Completion]]:
        """All prompts × ``params.n`` samples through ``generate_batch``, at most ``batch_size`` rows in flight."""
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        check_engine(self.engine, self.cache_implementation, params.stop)
        sampled = params.temperature > 0
        config = GenerationConfig(
            do_sample=sampled, temperature=params.temperature if sampled else None, top_p=params.top_p if sampled else None,
            top_k=0 if sampled else None, max_new_tokens=params.max_tokens, num_return_sequences=params.n,
            eos_token_id=sorted(self.eos_ids), pad_token_id=self.pad_id)
        sizes = {}  # on a GPU transformers sizes the paged cache from free memory; on the CPU that takes seconds and
        if not self.device.startswith("cuda"):  # gigabytes, so there it holds what this call needs: its rows in flight
            longest = max(map(len, encoded)) + params.max_tokens
            in_flight = min(self.batch_size, len(encoded) * params.n)
            sizes = dict(num_blocks=in_flight * -(-longest // BLOCK) + 1, max_batch_tokens=max(256, longest))
        outputs = self.model.generate_batch(
            encoded, generation_config=config, progress_bar=False,
            continuous_batching_config=ContinuousBatchingConfig(seed=params.seed, max_requests_per_batch=self.batch_size, **sizes))
        by_prompt: dict[tuple, list[list[int]]] = {}  # a prompt's samples, matched by its token ids (request ids are internal)
        for request_id, output in outputs.items():
            if output.error is not None:
                raise RuntimeError(f"continuous batching request {request_id} failed: {output.error}")
            by_prompt.setdefault(tuple(output.prompt_ids), []).append(list(output.generated_tokens))
        samples = []
        for ids in encoded:  # a prompt listed twice takes n of its 2n samples each time
            rows = by_prompt[tuple(ids)]
            samples.append([self._completion(tokens, params) for tokens in rows[: params.n]])
            del rows[: params.n]
        return samples

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
