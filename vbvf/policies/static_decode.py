"""Batched ancestral sampling with a static KV cache and a compiled (CUDA-graph) decode step.

transformers ``generate`` costs a host round trip and tens of small launches per token, and with a
dynamic cache it copies every layer's keys and values at every step; for small models (the
didactic GPT-2, SmolLM2-135M) that per-token overhead, not arithmetic, is the time of a rollout
(docs/PERFORMANCE.md, "GRPO rollouts" and "HF sampler"). Here one decode step (forward of the
newest token against a ``StaticCache``, Gumbel-max sampling with the suppressed tokens masked, and
the bookkeeping of ended rows) is compiled and, on a GPU, captured once into a CUDA graph, so each
token is one ``graph.replay()``; rows are synchronised with the host only every ``check_every``
tokens, to ask whether all have ended. The graph is captured by hand, not through
``torch.compile(mode="reduce-overhead")``: profiled on an H100, a call of that mode's step took
13 ms of host time per token (1,024 SmolLM2 rows: a third of the step; docs/PERFORMANCE.md, "HF
sampler"), where a replay is one launch.

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

    One decoder per (model, rows, prompt length): its cache (sized for ``capacity`` new tokens), its
    buffers and its compiled, graph-captured step are reused across calls and budgets, so repeated
    rollouts (GRPO steps, every H of an evaluation, every batch of a MATH sampling call) compile and
    capture once. The graph reads the model's parameters where they are, so in-place optimiser
    updates between calls (GRPO) reach it. ``compile`` false runs the same step eagerly (CPU tests;
    it is then no faster than ``generate``); on the CPU a compiled step runs without a graph. ``eos``
    is one token id or several.
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
        # the state one token's step reads and writes, at fixed addresses (a CUDA graph replays on them)
        self.token = torch.zeros(rows, dtype=torch.long, device=device)  # each row's newest token
        self.t = torch.zeros(1, dtype=torch.long, device=device)  # index of the newest token in ``out``
        self.done = torch.zeros(rows, dtype=torch.bool, device=device)  # rows that emitted eos
        self.out = torch.full((rows, capacity), pad, dtype=torch.long, device=device)
        self.lengths = torch.zeros(rows, 1, dtype=torch.long, device=device)  # real prompt tokens per row
        self.mask = torch.ones(rows, prompt_length + capacity, dtype=torch.long, device=device)  # 0 on left padding
        self.keys = torch.zeros(rows, dtype=torch.long, device=device)  # per-row noise keys, when given
        if compile:
            # every decoder of a process shares the step's code object, so each (shape, temperature, top-p)
            # it is compiled for counts against torch's recompile limit (8), past which later shapes would
            # silently run eagerly: a MATH run's width and row buckets, or a study's decoders, can pass 8
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        self._step = torch.compile(self._decode_step, fullgraph=True, dynamic=False) if compile else self._decode_step
        self.graphed = compile and device.type == "cuda"  # False once a capture failed: then steps run one by one
        self._graphs: dict[bool, torch.cuda.CUDAGraph] = {}  # keyed noise or torch's generator -> captured step

    def _cache_kwargs(self, cache_position: torch.Tensor, position_ids: torch.Tensor) -> dict:
        """Forward keywords for one chunk at ``cache_position`` (1-D) against the decoder's cache and mask."""
        kwargs = {self._cache_keyword: self.cache, "position_ids": position_ids, "use_cache": True,
                  "attention_mask": self.mask}
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

    def _decode_step(self, token, cache_position, position_ids, step, keys) -> torch.Tensor:
        logits = self.model(input_ids=token[:, None], **self._cache_kwargs(cache_position, position_ids)).logits[:, -1]
        return self._sample(logits, step, keys)

    def _advance(self, keyed: bool) -> None:
        """One token for every row, written at ``out[:, t + 1]`` (pad for rows that have ended); t += 1."""
        t = self.t
        new = self._step(self.token, t + self.prompt_length, self.lengths + t, t + 1, self.keys if keyed else None)
        new = torch.where(self.done, self.pad, new)
        t.add_(1)
        self.out.index_copy_(1, t, new[:, None])
        self.done |= self.is_eos[new]
        self.token.copy_(new)

    def _prefill(self, prompt_ids: torch.Tensor, attention_mask: torch.Tensor | None, keys: torch.Tensor | None,
                 seed: int) -> None:
        """Reset the cache and buffers for a call, run the prompts, and write each row's first token at ``out[:, 0]``."""
        torch.manual_seed(seed)
        self.cache.reset()
        width, device = self.prompt_length, prompt_ids.device
        if attention_mask is None:
            self.mask.fill_(1)
            self.lengths.fill_(width)
            positions = torch.arange(width, device=device).expand(self.rows, -1)
        else:  # the whole cache's mask, fixed for the call: left padding 0, every generated position 1
            self.mask.fill_(1)
            self.mask[:, :width] = attention_mask
            self.lengths.copy_(attention_mask.sum(-1, keepdim=True))
            positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        if keys is not None:
            self.keys.copy_(keys)
        self.t.zero_()
        logits = self.model(input_ids=prompt_ids, logits_to_keep=1,  # not every position's: rows x width x vocab
                            **self._cache_kwargs(torch.arange(width, device=device), positions)).logits
        token = self._sample(logits[:, -1], self.t, None if keys is None else self.keys)
        self.out.fill_(self.pad)
        self.out[:, 0] = token
        self.done.copy_(self.is_eos[token])
        self.token.copy_(token)

    def _graph(self, keyed: bool) -> torch.cuda.CUDAGraph | None:
        """The step captured as a CUDA graph (after two warm-up steps that compile it), or None where capture
        failed, said once. The warm-up and capture run on the current call's state; the caller then prefills
        again, so the steps they wrote (junk beyond the prompt, overwritten before it is attended) are gone."""
        if keyed not in self._graphs and self.graphed:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            try:
                with torch.cuda.stream(stream):
                    for _ in range(2):
                        self._advance(keyed)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    self._advance(keyed)
                self._graphs[keyed] = graph
            except RuntimeError as error:
                torch.cuda.synchronize()
                log.warning("StaticDecoder: capturing the decode step as a CUDA graph failed (%s); tokens are launched "
                            "kernel by kernel", error)
                self.graphed = False
        return self._graphs.get(keyed)

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
        keyed = keys is not None
        self._prefill(prompt_ids, attention_mask, keys, seed)
        graph = None
        if self.graphed and max_new > 1:
            if keyed not in self._graphs and self._graph(keyed) is not None:
                self._prefill(prompt_ids, attention_mask, keys, seed)
            graph = self._graphs.get(keyed)
        for t in range(1, max_new):
            if t % check_every == 0 and bool(self.done.all()):
                break
            if graph is not None:
                graph.replay()
            else:
                self._advance(keyed)
        return self.out[:, :max_new].clone()
