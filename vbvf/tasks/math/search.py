"""Step-level beam search and DVTS guided by a process verifier (PRM).

A solution is a list of steps (the text between blank lines). Generation and scoring are
injected: ``propose(prompt, steps, n)`` returns n candidate next steps with their generated
token counts, and ``score(prompt, step_lists)`` returns one score per step of each list. A
path's value is the aggregation of its step scores named by ``aggregation`` (last, min, prod).
Both searches report every generated token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

STEP_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Proposal:
    """A candidate next step; ``finished`` when the generator ended the solution there."""

    text: str
    n_tokens: int
    finished: bool


Propose = Callable[[str, list[str], int], list[Proposal]]
ProcessScore = Callable[[str, list[list[str]]], list[list[float]]]

AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "last": lambda scores: scores[-1],
    "min": min,
    "prod": math.prod,
}


def aggregate(step_scores: Sequence[float], aggregation: str) -> float:
    """One value for a path from its per-step scores."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}; choose from {sorted(AGGREGATIONS)}")
    return float(AGGREGATIONS[aggregation](step_scores))


def split_steps(text: str) -> list[str]:
    """Steps of a solution text: non-empty chunks between blank lines."""
    return [chunk.strip() for chunk in text.split(STEP_SEPARATOR) if chunk.strip()]


@dataclass(frozen=True)
class SearchSettings:
    """N = ``n_beams`` paths, M = ``beam_width`` proposals per expansion, at most ``max_steps``
    steps per path, path value by ``aggregation``. Checked on construction."""

    n_beams: int
    beam_width: int
    max_steps: int
    aggregation: str = "last"

    def __post_init__(self) -> None:
        if self.beam_width < 1 or self.n_beams < self.beam_width or self.n_beams % self.beam_width:
            raise ValueError(f"n_beams ({self.n_beams}) must be a positive multiple of beam_width ({self.beam_width})")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        aggregate([1.0], self.aggregation)  # an unknown name fails here


@dataclass
class Path:
    """A partial or complete solution with its aggregated process score."""

    steps: list[str]
    finished: bool = False
    score: float = 0.0

    @property
    def text(self) -> str:
        return STEP_SEPARATOR.join(self.steps)


@dataclass
class SearchResult:
    """Final paths, best first, and the tokens generated to find them."""

    paths: list[Path]
    tokens: int

    @property
    def best(self) -> Path:
        return self.paths[0]


class _Search:
    """Shared bookkeeping: expand paths, score them, count tokens."""

    def __init__(self, prompt: str, propose: Propose, score: ProcessScore, aggregation: str) -> None:
        self.prompt, self.propose, self.score, self.aggregation = prompt, propose, score, aggregation
        self.tokens = 0

    def expand(self, path: Path, n: int) -> list[Path]:
        proposals = self.propose(self.prompt, path.steps, n)
        self.tokens += sum(p.n_tokens for p in proposals)
        return [Path(path.steps + [p.text], p.finished) for p in proposals]

    def scored(self, paths: list[Path]) -> list[Path]:
        step_scores = self.score(self.prompt, [p.steps for p in paths]) if paths else []
        for path, scores in zip(paths, step_scores):
            path.score = aggregate(scores, self.aggregation)
        return paths

    def result(self, paths: list[Path]) -> SearchResult:
        return SearchResult(sorted(paths, key=lambda p: -p.score), self.tokens)


def beam_search(prompt: str, propose: Propose, score: ProcessScore, settings: SearchSettings) -> SearchResult:
    """Keep the n_beams/beam_width best unfinished paths; each proposes beam_width next steps.

    The first step is proposed n_beams times from the prompt. Finished paths leave the beam and
    are returned; the search stops after ``max_steps`` steps or once n_beams paths finished.
    """
    search = _Search(prompt, propose, score, settings.aggregation)
    n_beams, beam_width = settings.n_beams, settings.beam_width
    candidates = search.scored(search.expand(Path([]), n_beams))
    done: list[Path] = []
    for _ in range(settings.max_steps - 1):
        done += [p for p in candidates if p.finished]
        active = sorted((p for p in candidates if not p.finished), key=lambda p: -p.score)[: n_beams // beam_width]
        if not active or len(done) >= n_beams:
            return search.result(done)
        candidates = search.scored([child for path in active for child in search.expand(path, beam_width)])
    return search.result(done + candidates)


def dvts(prompt: str, propose: Propose, score: ProcessScore, settings: SearchSettings) -> SearchResult:
    """Diverse verifier tree search: n_beams/beam_width independent subtrees, each greedy.

    Each subtree starts from its own first step and, at every step, keeps the best of
    beam_width proposed continuations. Returns the subtrees' final paths.
    """
    search = _Search(prompt, propose, score, settings.aggregation)
    leaves = search.scored(search.expand(Path([]), settings.n_beams // settings.beam_width))
    for _ in range(settings.max_steps - 1):
        growing = [i for i, leaf in enumerate(leaves) if not leaf.finished]
        if not growing:
            break
        options = [search.expand(leaves[i], settings.beam_width) for i in growing]
        search.scored([child for children in options for child in children])
        for i, children in zip(growing, options):
            stuck = Path(leaves[i].steps, finished=True, score=leaves[i].score)
            leaves[i] = max(children, key=lambda p: p.score, default=stuck)
    return search.result(leaves)
