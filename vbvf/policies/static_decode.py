"""Batched ancestral sampling with a static KV cache and a compiled (CUDA-graph) decode step.

transformers ``generate`` costs a host round trip and tens of small launches per token, and with a
dynamic cache it copies every layer's keys and values at every step; for small models (the
didactic GPT-2, SmolLM2-135M) that per-token overhead, not arithmetic, is the time of a rollout
(docs/PERFORMANCE.md, "GRPO rollouts" and "HF sampler"). Here one decode step (forward of the
newest token against a ``StaticCache``, then Gumbel-max sampling with the suppressed tokens
masked) is compiled with ``mode="reduce-overhead"`` so each token is one graph replay, and rows
are never synchronised with the host until all ``max_new`` steps are done.

Sampling is exact ancestral sampling at the given temperature (Gumbel-max draws from the softmax;
top-p through transformers' own ``TopPLogitsWarper``): the same distribution as
``generate(do_sample=True, top_k=0)``. The Gumbel noise is torch's generator, or, given per-row
keys, the counter-based noise of ``samplers/gumbel.py`` (then a row's tokens are those of
``HFSampler``'s ``generate`` path, up to floating point). After a row emits eos it emits pad.
Prompts of different lengths come left-padded with their attention mask; each row's positions
count its own tokens only.

For grouped-query models (SmolLM2: 9 query heads, 3 key/value heads) transformers' SDPA path
copies every layer's cached keys and values once per query head at every masked decode step:
profiled on an H100 (SmolLM2-135M, 1,024 rows, 576 cached positions) those copies were 38% of a
step and the attention kernel 28% (docs/PERFORMANCE.md "HF sampler"). ``packed_gqa_attention``
instead lays a one-token query's heads out as the queries of their shared key/value head, the same
arithmetic with no copy; the decoder installs it on grouped-query SDPA models.
"""

from __future__ import annotations

import inspect
import logging
from typing import Iterable

import torch
from torch._dynamo.utils import counters
from transformers import AttentionInterface, StaticCache, TopPLogitsWarper
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

from vbvf.policies.samplers.gumbel import gumbel_noise


def _forward_names(model) -> tuple[str, bool]:
    """How the model's forward takes a cache, across transformers 5.x: the keyword (``cache`` where
    the forward names it so, ``past_key_values`` before), and whether it still takes
    ``cache_position`` (later versions derive it from the cache)."""
    parameters = inspect.signature(model.forward).parameters
    return ("cache" if "cache" in parameters else "past_key_values"), "cache_position" in parameters


log = logging.getLogger(__name__)
PACKED_GQA = "vbvf_packed_gqa_sdpa"
RECOMPILE_LIMIT = 64  # compiled decoder variants per process before torch falls back to eager


def packed_gqa_attention(module, query, key, value, attention_mask, scaling=None, **kwargs):
    """transformers' SDPA attention, except for one query token of a grouped-query layer under a mask:
    query ``[b, heads, 1, d]`` is viewed as ``[b, kv_heads, heads / kv_heads, d]`` (head i belongs to
    key/value head i // groups, as ``repeat_kv`` pairs them) and attends to the unrepeated keys."""
    groups = getattr(module, "num_key_value_groups", 1)
    if query.shape[2] != 1 or groups == 1 or attention_mask is None or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    batch, heads, _, dim = query.shape
    packed = query.reshape(batch, heads // groups, groups, dim)
    out = torch.nn.functional.scaled_dot_product_attention(packed, key, value, attn_mask=attention_mask, scale=scaling)
    return out.reshape(batch, 1, heads, dim), None


def use_packed_gqa(model) -> bool:
    """Install ``packed_gqa_attention`` on a grouped-query model that runs SDPA (exact; the model's
    other forwards fall through to SDPA unchanged); True where installed."""
    config = model.config
    grouped = getattr(config, "num_key_value_heads", None) not in (None, getattr(config, "num_attention_heads", None))
    if not grouped or config._attn_implementation not in ("sdpa", PACKED_GQA):
        return False
    try:  # the registration API of transformers 5.x; a version that refuses it keeps SDPA, and says so
        AttentionInterface.register(PACKED_GQA, packed_gqa_attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(PACKED_GQA, sdpa_mask)
        model.set_attn_implementation(PACKED_GQA)
    except (AttributeError, TypeError, ValueError) as error:
        log.warning("StaticDecoder: this transformers refused the packed grouped-query attention (%s); "
                    "decoding attends with transformers' SDPA, which copies the KV cache per query head", error)
        return False
    return True


class StaticDecoder:
    """Samples up to ``capacity`` new tokens for ``rows`` prompts of ``prompt_length`` (left-padded) tokens.

    One decoder per (model, rows, prompt length): its cache (sized for ``capacity`` new tokens) and
    compiled step are reused across calls and budgets, so repeated rollouts (GRPO steps, every H of
    an evaluation, every batch of a MATH sampling call) compile once. ``compile`` false runs the
    same step eagerly (CPU tests; it is then no faster than ``generate``). ``eos`` is one token id
    or several.
    """

    def __init__(self, model, rows: int, prompt_length: int, capacity: int, eos: int | Iterable[int], pad: int,
                 suppress: Iterable[int] = (), temperature: float = 1.0, compile: bool = True, top_p: float = 1.0):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0: greedy), got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        self.model, self.rows, self.prompt_length, self.capacity = model, rows, prompt_length, capacity
        self.pad, self.temperature = pad, temperature
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1 else None
        device = next(model.parameters()).device
        self.cache = StaticCache(config=model.config, max_cache_len=prompt_length + capacity)
        vocab = model.config.vocab_size
        self.banned = torch.zeros(vocab, dtype=torch.bool, device=device)
        self.banned[list(suppress)] = True
        self.is_eos = torch.zeros(vocab, dtype=torch.bool, device=device)
        self.is_eos[[eos] if isinstance(eos, int) else list(eos)] = True
        self._cache_keyword, self._takes_cache_position = _forward_names(model)  # read once, not per token
        self.packed_gqa = use_packed_gqa(model)
        if compile:
            # every decoder of a process shares the step's code object, so each (shape, temperature, top-p)
            # it is compiled for counts against torch's recompile limit (8), past which later shapes would
            # silently run eagerly: a MATH run's width and row buckets, or a study's decoders, can pass 8
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        self._step = torch.compile(self._decode_step, mode="reduce-overhead", fullgraph=True, dynamic=False) if compile else self._decode_step
        self.compiled, self.graph_skips = compile, 0  # graph_skips: CUDA graphs torch declined for this decoder's steps

    def _cache_kwargs(self, cache_position: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor | None) -> dict:
        """Forward keywords for one chunk at ``cache_position`` (1-D) against the decoder's cache."""
        kwargs = {self._cache_keyword: self.cache, "position_ids": position_ids, "use_cache": True}
        if mask is not None:
            kwargs["attention_mask"] = mask
        if self._takes_cache_position:
            kwargs["cache_position"] = cache_position
        return kwargs

    def _sample(self, logits: torch.Tensor, step: torch.Tensor, keys: torch.Tensor | None) -> torch.Tensor:
        """One token per row from softmax(logits / T) over the allowed tokens (top-p cut), by Gumbel-max:
        torch's generator, or the rows' counter-based noise at ``step`` when ``keys`` are given; the
        most likely allowed token at T = 0."""
        scores = logits.float().masked_fill(self.banned, float("-inf"))
        if self.temperature == 0:
            return scores.argmax(dim=-1)
        scores = scores / self.temperature
        if self.top_p is not None:
            scores = self.top_p(None, scores)
        if keys is None:
            gumbel = -torch.log(-torch.log(torch.rand_like(scores).clamp_(min=1e-20)))
        else:
            gumbel = gumbel_noise(keys, step, scores.shape[1])
        return (scores + gumbel).argmax(dim=-1)

    def _decode_step(self, token, cache_position, position_ids, mask, step, keys) -> torch.Tensor:
        kwargs = self._cache_kwargs(cache_position, position_ids, mask)
        logits = self.model(input_ids=token[:, None], **kwargs).logits[:, -1]
        return self._sample(logits, step, keys)

    @torch.no_grad()
    def sample(self, prompt_ids: torch.Tensor, max_new: int, seed: int = 0, check_every: int = 32,
               attention_mask: torch.Tensor | None = None, keys: torch.Tensor | None = None) -> torch.Tensor:
        """int64 ``[rows, max_new]``: eos ends a row, pad follows it; rows that never emit eos run to max_new.

        ``attention_mask`` (0 on left padding) for prompts of different lengths; ``keys`` (one per
        row, ``samplers.gumbel.row_keys``) for per-row noise, else torch's generator seeded with
        ``seed``. Every ``check_every`` tokens one host sync asks whether all rows have ended (then
        the rest is pad).
        """
        if tuple(prompt_ids.shape) != (self.rows, self.prompt_length):
            raise ValueError(f"prompt_ids must be [{self.rows}, {self.prompt_length}], got {list(prompt_ids.shape)}")
        if not 1 <= max_new <= self.capacity:
            raise ValueError(f"max_new must be in [1, {self.capacity}], got {max_new}")
        device = prompt_ids.device
        torch.manual_seed(seed)
        self.cache.reset()
        width = self.prompt_length
        cache_positions = torch.arange(width + max_new, device=device)
        if attention_mask is None:
            mask, prompt_positions = None, cache_positions[:width].expand(self.rows, -1)
            lengths = torch.full((self.rows, 1), width, device=device)
        else:  # the whole cache's mask, fixed for the call: left padding 0, every generated position 1
            mask = torch.ones(self.rows, width + self.capacity, dtype=torch.long, device=device)
            mask[:, :width] = attention_mask
            prompt_positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
            lengths = attention_mask.sum(-1, keepdim=True)
        steps = torch.arange(max_new, device=device)
        skips = counters["inductor"]["cudagraph_skips"]
        prefill = self.model(input_ids=prompt_ids, logits_to_keep=1,  # logits of every position: rows x width x vocab
                             **self._cache_kwargs(cache_positions[:width], prompt_positions, mask))
        token = self._sample(prefill.logits[:, -1], steps[0], keys)
        out = torch.full((self.rows, max_new), self.pad, dtype=torch.long, device=device)
        done = torch.zeros(self.rows, dtype=torch.bool, device=device)
        for t in range(max_new):
            token = torch.where(done, self.pad, token)
            out[:, t] = token
            done |= self.is_eos[token]
            if t + 1 == max_new or ((t + 1) % check_every == 0 and bool(done.all())):
                break
            token = self._step(token.clone(), cache_positions[width + t : width + t + 1].clone(), (lengths + t).clone(),
                               mask, steps[t + 1].clone(), keys).clone()
        self._note_graph_skips(counters["inductor"]["cudagraph_skips"] - skips)
        return out

    def _note_graph_skips(self, new_skips: int) -> None:
        """Say so, once per decoder, when torch ran its compiled step without CUDA graphs: each token is then
        hundreds of kernel launches, the cost the decoder exists to avoid."""
        if self.compiled and new_skips and not self.graph_skips:
            log.warning("StaticDecoder: torch skipped CUDA graphs for the compiled decode step (%d times); tokens are "
                        "then launched kernel by kernel. TORCH_LOGS=perf_hints prints torch's reason", new_skips)
        self.graph_skips += new_skips
