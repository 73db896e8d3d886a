"""Batched ancestral sampling with a static KV cache and a compiled (CUDA-graph) decode step.

transformers ``generate`` costs a host round trip and tens of small launches per token; for the
didactic GPT-2 (short prompts, H up to 256, hundreds of rows) that per-token overhead, not
arithmetic, is the time of a rollout (docs/PERFORMANCE.md, "GRPO rollouts"). Here one decode step
(forward of the newest token against a ``StaticCache``, then Gumbel-max sampling with the
suppressed tokens masked) is compiled with ``mode="reduce-overhead"`` so each token is one graph
replay, and rows are never synchronised with the host until all ``max_new`` steps are done.

Sampling is exact ancestral sampling at the given temperature (Gumbel-max draws from the softmax,
no top-k / top-p): the same distribution as ``generate(do_sample=True, top_k=0)``, with other
random numbers. After a row emits eos it emits pad. All prompts must have the same length (the
planted task's ``bos x sep``), so no padding is needed on the left.
"""

from __future__ import annotations

import inspect

import torch
from transformers import StaticCache


def _forward_names(model) -> tuple[str, bool]:
    """How the model's forward takes a cache, across transformers 5.x: the keyword (``cache`` where
    the forward names it so, ``past_key_values`` before), and whether it still takes
    ``cache_position`` (later versions derive it from the cache)."""
    parameters = inspect.signature(model.forward).parameters
    return ("cache" if "cache" in parameters else "past_key_values"), "cache_position" in parameters


class StaticDecoder:
    """Samples up to ``capacity`` new tokens for ``rows`` equal-length prompts from a causal LM.

    One decoder per (model, rows, prompt length): its cache (sized for ``capacity`` new tokens) and
    compiled step are reused across calls and budgets, so repeated rollouts (GRPO steps, every H of
    an evaluation) compile once. ``compile`` false runs the same step eagerly (CPU tests; it is then
    no faster than ``generate``).
    """

    def __init__(self, model, rows: int, prompt_length: int, capacity: int, eos: int, pad: int,
                 suppress: list[int], temperature: float = 1.0, compile: bool = True):
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0 for sampling, got {temperature}")
        self.model, self.rows, self.prompt_length, self.capacity = model, rows, prompt_length, capacity
        self.eos, self.pad, self.temperature = eos, pad, temperature
        param = next(model.parameters())
        self.cache = StaticCache(config=model.config, max_cache_len=prompt_length + capacity)
        self.banned = torch.zeros(model.config.vocab_size, dtype=torch.bool, device=param.device)
        self.banned[list(suppress)] = True
        self._cache_keyword, self._takes_cache_position = _forward_names(model)  # read once, not per token
        self._step = torch.compile(self._decode_step, mode="reduce-overhead", fullgraph=True, dynamic=False) if compile else self._decode_step

    def _cache_kwargs(self, position: torch.Tensor) -> dict:
        """Forward keywords for one chunk at ``position`` (1-D) against the decoder's cache."""
        kwargs = {self._cache_keyword: self.cache, "position_ids": position[None], "use_cache": True}
        if self._takes_cache_position:
            kwargs["cache_position"] = position
        return kwargs

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        """One token per row from softmax(logits / T) over the allowed tokens (Gumbel-max)."""
        scores = logits.float() / self.temperature
        scores = scores.masked_fill(self.banned, float("-inf"))
        gumbel = -torch.log(-torch.log(torch.rand_like(scores).clamp_(min=1e-20)))
        return (scores + gumbel).argmax(dim=-1)

    def _decode_step(self, token: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        logits = self.model(input_ids=token[:, None], **self._cache_kwargs(position)).logits[:, -1]
        return self._sample(logits)

    @torch.no_grad()
    def sample(self, prompt_ids: torch.Tensor, max_new: int, seed: int, check_every: int = 32) -> torch.Tensor:
        """int64 ``[rows, max_new]``: eos ends a row, pad follows it; rows that never emit eos run to max_new.

        Every ``check_every`` tokens one host sync asks whether all rows have ended (then the rest is pad).
        """
        if tuple(prompt_ids.shape) != (self.rows, self.prompt_length):
            raise ValueError(f"prompt_ids must be [{self.rows}, {self.prompt_length}], got {list(prompt_ids.shape)}")
        if not 1 <= max_new <= self.capacity:
            raise ValueError(f"max_new must be in [1, {self.capacity}], got {max_new}")
        device = prompt_ids.device
        torch.manual_seed(seed)
        self.cache.reset()
        positions = torch.arange(self.prompt_length + max_new, device=device)
        prefill = self.model(input_ids=prompt_ids, **self._cache_kwargs(positions[: self.prompt_length]))
        token = self._sample(prefill.logits[:, -1])
        out = torch.full((self.rows, max_new), self.pad, dtype=torch.long, device=device)
        done = torch.zeros(self.rows, dtype=torch.bool, device=device)
        for t in range(max_new):
            token = torch.where(done, self.pad, token)
            out[:, t] = token
            done |= token == self.eos
            if t + 1 == max_new or ((t + 1) % check_every == 0 and bool(done.all())):
                break
            token = self._step(token.clone(), positions[self.prompt_length + t : self.prompt_length + t + 1].clone()).clone()
        return out
