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

A decode step attends through ``decode_attention``, which the decoder installs on SDPA models. Two
savings, both exact: (1) for grouped-query models (SmolLM2: 9 query heads, 3 key/value heads)
transformers' SDPA path copies every layer's cached keys and values once per query head at every
masked decode step (profiled on an H100, SmolLM2-135M, 1,024 rows, 576 cached positions: 38% of a
step, the attention kernel 28%; docs/PERFORMANCE.md "HF sampler"); ``decode_attention`` lays a
one-token query's heads out as the queries of their shared key/value head instead, the same
arithmetic with no copy. (2) A static cache is attended whole at every step, though at step t only
its first prompt + t positions hold tokens: the decoder cuts the cache into ``windows`` spans and
captures one graph per span, each attending only to the cache up to the span's end, so early tokens
read a fraction of the cache (the positions cut off are masked anyway).
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
DECODE_ATTENTION = "vbvf_decode_sdpa"
RECOMPILE_LIMIT = 128  # compiled step variants per process (a decoder shape compiles one per window) before torch runs eagerly
WINDOWS = 4  # graphs per decoder, each attending to a longer span of the cache


def decode_attention(module, query, key, value, attention_mask, scaling=None, attend: int | None = None, **kwargs):
    """transformers' SDPA attention, except for one query token under a mask (a decode step): keys, values
    and mask cut to the first ``attend`` cache positions when given (the caller vouches that the rest are
    masked), and a grouped-query layer's query ``[b, heads, 1, d]`` viewed as ``[b, kv_heads, heads /
    kv_heads, d]`` (head i belongs to key/value head i // groups, as ``repeat_kv`` pairs them) attending
    to the unrepeated keys."""
    if query.shape[2] != 1 or attention_mask is None or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    if attend is not None:
        key, value, attention_mask = key[:, :, :attend], value[:, :, :attend], attention_mask[..., :attend]
    groups = getattr(module, "num_key_value_groups", 1)
    if groups == 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    batch, heads, _, dim = query.shape
    packed = query.reshape(batch, heads // groups, groups, dim)
    out = torch.nn.functional.scaled_dot_product_attention(packed, key, value, attn_mask=attention_mask, scale=scaling)
    return out.reshape(batch, 1, heads, dim), None


def use_decode_attention(model) -> bool:
    """Install ``decode_attention`` on a model that runs SDPA (exact; the model's other forwards fall
    through to SDPA unchanged); True where installed."""
    if model.config._attn_implementation not in ("sdpa", DECODE_ATTENTION):
        return False
    try:  # the registration API of transformers 5.x; a version that refuses it keeps SDPA, and says so
        AttentionInterface.register(DECODE_ATTENTION, decode_attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(DECODE_ATTENTION, sdpa_mask)
        model.set_attn_implementation(DECODE_ATTENTION)
    except (AttributeError, TypeError, ValueError) as error:
        log.warning("StaticDecoder: this transformers refused the decode attention (%s); decoding attends with "
                    "transformers' SDPA to the whole cache, which it copies per query head", error)
        return False
    return True


def window_ends(prompt_length: int, capacity: int, windows: int) -> list[int]:
    """The cache spans a decoder's graphs attend to: ``windows`` ends, evenly spaced over the generated
    positions (rounded up to 16), the last the whole cache."""
    total = prompt_length + capacity
    spans = (-(-capacity * k // windows) for k in range(1, windows))  # ceil(capacity * k / windows)
    ends = {min(total, prompt_length + -(-span // 16) * 16) for span in spans}
    return sorted(ends | {total})


class StaticDecoder:
    """Samples up to ``capacity`` new tokens for ``rows`` prompts of ``prompt_length`` (left-padded) tokens.

    One decoder per (model, rows, prompt length): its cache (sized for ``capacity`` new tokens), its
    buffers and its compiled, graph-captured steps (one per window of the cache, ``window_ends``) are
    reused across calls and budgets, so repeated rollouts (GRPO steps, every H of an evaluation,
    every batch of a MATH sampling call) compile and capture once. A graph reads the model's
    parameters where they are, so in-place optimiser updates between calls (GRPO) reach it.
    ``compile`` false runs the same steps eagerly (CPU tests; it is then no faster than
    ``generate``); on the CPU a compiled step runs without a graph. ``eos`` is one token id or
    several.
    """

    def __init__(self, model, rows: int, prompt_length: int, capacity: int, eos: int | Iterable[int], pad: int,
                 suppress: Iterable[int] = (), temperature: float = 1.0, compile: bool = True, top_p: float = 1.0,
                 windows: int = WINDOWS):
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0: greedy), got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if windows < 1:
            raise ValueError(f"windows must be >= 1 (1: every step attends to the whole cache), got {windows}")
        self.model, self.rows, self.prompt_length, self.capacity, self.windows = model, rows, prompt_length, capacity, windows
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
        self.decode_attention = use_decode_attention(model)
        total = prompt_length + capacity  # without the decode attention, every step attends to the whole cache
        self.ends = window_ends(prompt_length, capacity, windows) if self.decode_attention else [total]
        # the state one token's step reads and writes, at fixed addresses (a CUDA graph replays on them)
        self.token = torch.zeros(rows, dtype=torch.long, device=device)  # each row's newest token
        self.t = torch.zeros(1, dtype=torch.long, device=device)  # index of the newest token in ``out``
        self.done = torch.zeros(rows, dtype=torch.bool, device=device)  # rows that emitted eos
        self.out = torch.full((rows, capacity), pad, dtype=torch.long, device=device)
        self.lengths = torch.zeros(rows, 1, dtype=torch.long, device=device)  # real prompt tokens per row
        self.mask = torch.ones(rows, total, dtype=torch.long, device=device)  # 0 on left padding
        self.keys = torch.zeros(rows, dtype=torch.long, device=device)  # per-row noise keys, when given
        if compile:
            # every decoder of a process shares the step's code object, so each (shape, window, temperature,
            # top-p) it is compiled for counts against torch's recompile limit (8), past which later shapes
            # would silently run eagerly: a MATH run's width and row buckets, or a study's decoders, pass 8
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        # the class's function, called with the decoder: a bound method kept on the decoder would be a reference
        # cycle, freed only when the cyclic collector happens to run, so a replaced decoder's cache stayed on the card
        step = StaticDecoder._decode_step
        self._step = torch.compile(step, fullgraph=True, dynamic=False) if compile else step
        self.graphed = compile and device.type == "cuda"  # False once a capture failed: then steps run one by one
        self._graphs: dict[tuple[bool, int], torch.cuda.CUDAGraph] = {}  # (keyed noise?, window end) -> captured step

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

    def _decode_step(self, token, cache_position, position_ids, step, keys, end: int) -> torch.Tensor:
        kwargs = self._cache_kwargs(cache_position, position_ids)
        if self.decode_attention:
            kwargs["attend"] = end  # reaches decode_attention through the model's attention kwargs
        logits = self.model(input_ids=token[:, None], **kwargs).logits[:, -1]
        return self._sample(logits, step, keys)

    def _advance(self, keyed: bool, end: int) -> None:
        """One token for every row, written at ``out[:, t + 1]`` (pad for rows that have ended); t += 1. The
        step attends to the first ``end`` cache positions, which must hold position prompt_length + t."""
        t = self.t
        new = self._step(self, self.token, t + self.prompt_length, self.lengths + t, t + 1, self.keys if keyed else None, end)
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
        self.mask.fill_(1)  # the whole cache's mask, fixed for the call: left padding 0, every other position 1
        if attention_mask is None:
            self.lengths.fill_(width)
            positions = torch.arange(width, device=device).expand(self.rows, -1)
        else:
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

    def _capture(self, keyed: bool) -> bool:
        """The step captured as one CUDA graph per window (after two warm-up steps that compile it); False,
        said once, where capture failed. The warm-ups and captures run on the current call's state; the
        caller then prefills again, so the steps they wrote (junk beyond the prompt, overwritten before it
        is attended) are gone. The graphs share one memory pool: they never run at once."""
        stream, pool = torch.cuda.Stream(), None
        try:
            for end in self.ends:
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    for _ in range(2):
                        self._advance(keyed, end)
                torch.cuda.current_stream().wait_stream(stream)
                self.t.zero_()  # every capture starts inside the first window
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    self._advance(keyed, end)
                pool = graph.pool()
                self._graphs[keyed, end] = graph
        except RuntimeError as error:
            torch.cuda.synchronize()
            log.warning("StaticDecoder: capturing the decode step as a CUDA graph failed (%s); tokens are launched "
                        "kernel by kernel", error)
            self.graphed = False
            self._graphs.clear()
        return self.graphed

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
        if self.graphed and max_new > 1 and (keyed, self.ends[0]) not in self._graphs and self._capture(keyed):
            self._prefill(prompt_ids, attention_mask, keys, seed)
        window = 0
        for t in range(1, max_new):  # the step of token t attends to positions up to prompt_length + t - 1
            if t % check_every == 0 and bool(self.done.all()):
                break
            while self.ends[window] < self.prompt_length + t:
                window += 1
            graph = self._graphs.get((keyed, self.ends[window]))
            if graph is not None:
                graph.replay()
            else:
                self._advance(keyed, self.ends[window])
        return self.out[:, :max_new].clone()
