"""Per-row reproducible sampling inside ``generate``: Gumbel-max with counter-based noise.

``argmax(log p + G)`` with G i.i.d. standard Gumbel is an exact draw from ``p``. Here G of a row at
step t and token v is a hash of (row key, t, v), not a draw from a shared generator, so a row's
tokens depend only on its key and its logits, never on which rows share its batch. The hash is
integer arithmetic that never overflows int64, so CPU and GPU give the same noise. Used as the last
logits processor of a greedy ``generate`` (after temperature and top-p), which keeps the library's
decoding loop, stop strings and caches.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

MASK = 0xFFFFFFFF


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``x * c mod 2**32`` for 32-bit x, through 16-bit halves of c so int64 never overflows."""
    low = x * (c & 0xFFFF)
    high = ((x * (c >> 16)) & 0xFFFF) << 16
    return (low + high) & MASK


def hash32(x: torch.Tensor) -> torch.Tensor:
    """A bijective 32-bit integer hash (Wellons' lowbias32) of int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def mix(a: torch.Tensor, b: torch.Tensor | int) -> torch.Tensor:
    """A 32-bit key from two (broadcast), different for different b under the same a."""
    b = torch.as_tensor(b, dtype=torch.int64, device=a.device)
    return hash32(a ^ hash32(b & MASK))


def row_keys(seeds: list[int], sample_index: list[int]) -> torch.Tensor:
    """One key per row: its prompt's seed and its index among that prompt's samples."""
    return mix(torch.tensor(seeds, dtype=torch.int64) & MASK, torch.tensor(sample_index, dtype=torch.int64))


def gumbel_noise(keys: torch.Tensor, step: int, vocab_size: int) -> torch.Tensor:
    """Standard Gumbel noise of shape (rows, vocab_size), a function of (key, step, token) only."""
    tokens = torch.arange(vocab_size, dtype=torch.int64, device=keys.device)
    bits = mix(mix(keys, step)[:, None], tokens[None, :])
    uniform = ((bits >> 8).to(torch.float32) + 0.5) / 2**24  # 24 bits, strictly inside (0, 1)
    return -torch.log(-torch.log(uniform))


class GumbelSampling(LogitsProcessor):
    """Adds each row's noise to its scores; the greedy step's argmax is then a sample.

    ``keys`` (one per row, on the model's device) come from :func:`row_keys`; ``prompt_width`` is the
    (padded) prompt length of the call, so the step is the number of tokens generated so far.
    """

    def __init__(self, keys: torch.Tensor, prompt_width: int):
        self.keys, self.prompt_width = keys, prompt_width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_width
        return scores + gumbel_noise(self.keys, step, scores.shape[1])
