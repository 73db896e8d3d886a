"""Contextualized planted subsequence task (SPEC §3): vocabulary, prompts, gold sequences, solve time T.

Tokens 0..V-1 are digits; the specials follow them (bos, sep, eos, pad). A trace is a row of
tokens a_1..a_L; its solve time T is the 1-based index of the token that completes the gold
sequence (as a subsequence, or as a contiguous substring), or ``UNSOLVED`` if it never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

UNSOLVED = np.iinfo(np.int64).max
"""Solve time of a trace that never solves: larger than any budget H, so T <= H is False."""

GOLD_MAPS = ("contextual", "elementwise")
SOLVE_MODES = ("subsequence", "substring")


@dataclass(frozen=True)
class PlantedTask:
    """The planted-subsequence task: a hidden permutation g of [V] maps each prompt to its gold sequence."""

    vocab_size: int = 10
    prompt_length: int = 5
    gold_map: str = "contextual"
    solve_mode: str = "subsequence"
    n_train: int = 2000
    n_test: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.gold_map not in GOLD_MAPS:
            raise ValueError(f"task.gold_map={self.gold_map!r}: expected one of {GOLD_MAPS}")
        if self.solve_mode not in SOLVE_MODES:
            raise ValueError(f"task.solve_mode={self.solve_mode!r}: expected one of {SOLVE_MODES}")
        if self.vocab_size < 2 or self.prompt_length < 1:
            raise ValueError("task.vocab_size must be >= 2 and task.prompt_length >= 1")
        if self.n_train + self.n_test > self.vocab_size**self.prompt_length:
            raise ValueError(
                f"task.n_train + task.n_test = {self.n_train + self.n_test} exceeds the "
                f"{self.vocab_size ** self.prompt_length} distinct prompts of [V]^k"
            )

    # Special tokens sit right after the digits.
    @property
    def bos(self) -> int:
        return self.vocab_size

    @property
    def sep(self) -> int:
        return self.vocab_size + 1

    @property
    def eos(self) -> int:
        return self.vocab_size + 2

    @property
    def pad(self) -> int:
        return self.vocab_size + 3

    @property
    def n_tokens(self) -> int:
        return self.vocab_size + 4

    @cached_property
    def permutation(self) -> np.ndarray:
        """The hidden map g, a permutation of [V] fixed by the task seed."""
        return np.random.default_rng([self.seed, 0]).permutation(self.vocab_size)

    @cached_property
    def _prompts(self) -> tuple[np.ndarray, np.ndarray]:
        # Draw distinct prompt codes, then split: train and test are disjoint by construction.
        rng = np.random.default_rng([self.seed, 1])
        n_all = self.vocab_size**self.prompt_length
        codes = rng.choice(n_all, size=self.n_train + self.n_test, replace=False)
        digits = (codes[:, None] // self.vocab_size ** np.arange(self.prompt_length)[::-1]) % self.vocab_size
        return digits[: self.n_train], digits[self.n_train :]

    @property
    def train_prompts(self) -> np.ndarray:
        """Training prompts, shape [n_train, k]."""
        return self._prompts[0]

    @property
    def test_prompts(self) -> np.ndarray:
        """Test prompts, shape [n_test, k], disjoint from the training prompts."""
        return self._prompts[1]

    def gold(self, prompts: np.ndarray) -> np.ndarray:
        """Gold sequences y* for prompts [n, k]: g((x_i + x_{i-1}) mod V) with x_0 = 0, or g(x_i)."""
        prompts = np.asarray(prompts)
        if self.gold_map == "elementwise":
            return self.permutation[prompts]
        previous = np.concatenate([np.zeros_like(prompts[:, :1]), prompts[:, :-1]], axis=1)
        return self.permutation[(prompts + previous) % self.vocab_size]

    def solve_time(self, traces: np.ndarray, gold: np.ndarray) -> np.ndarray:
        """First 1-based index T at which each trace contains its gold sequence; UNSOLVED if never.

        traces: [n, L] tokens (specials never match a digit); gold: [n, k]. Vectorised over the
        batch: the subsequence mode loops over the k gold positions, the substring mode over none.
        """
        traces = np.asarray(traces)
        gold = np.asarray(gold)
        n, length = traces.shape
        if self.solve_mode == "substring":
            if length < gold.shape[1]:
                return np.full(n, UNSOLVED, dtype=np.int64)
            windows = sliding_window_view(traces, gold.shape[1], axis=1)
            hit = (windows == gold[:, None, :]).all(axis=-1)
            first = hit.argmax(axis=1)
            return np.where(hit.any(axis=1), first + gold.shape[1], UNSOLVED).astype(np.int64)
        # Greedy leftmost matching gives the earliest completion of a subsequence.
        positions = np.arange(length)
        last = np.full(n, -1, dtype=np.int64)
        for i in range(gold.shape[1]):
            hit = (traces == gold[:, i : i + 1]) & (positions > last[:, None])
            found = hit.any(axis=1)
            last = np.where(found, hit.argmax(axis=1), length)
        return np.where(last < length, last + 1, UNSOLVED).astype(np.int64)
