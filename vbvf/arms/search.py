"""Step-level beam search and DVTS guided by a process verifier (PRM).

A solution is a list of steps (the text between blank lines). Generation and scoring are
injected: ``propose(prompt, steps, n)`` returns n candidate next steps with their generated
token counts, and ``score(prompt, step_lists)`` returns one score per step of each list. A
path's value is the aggregation of its step scores named by ``aggregation`` (last, min, prod).
Both searches report every generated token. By default they follow huggingface/search-and-learn:
beam search refills to N beams when some finish, DVTS picks each subtree's first step with the
verifier and returns all N leaves; ``refill=False`` / ``dvts_leaves="best"`` are the variants.
Finished paths rank before unfinished ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from vbvf.tasks.math.prompts import STEP_SEPARATOR


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


@dataclass(frozen=True)
class SearchSettings:
    """N = ``n_beams`` paths, M = ``beam_width`` proposals per expansion, at most ``max_steps``
    steps per path, path value by ``aggregation``; ``refill``: beam search keeps N/M active
    beams by repeating the best while some have finished; ``dvts_leaves``: "all" returns the M
    last proposals of every subtree (N paths), "best" one per subtree. Checked on construction."""

    n_beams: int
    beam_width: int
    max_steps: int
    aggregation: str = "last"
    refill: bool = True
    dvts_leaves: str = "all"

    def __post_init__(self) -> None:
        if self.beam_width < 1 or self.n_beams < self.beam_width or self.n_beams % self.beam_width:
            raise ValueError(f"n_beams ({self.n_beams}) must be a positive multiple of beam_width ({self.beam_width})")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        aggregate([1.0], self.aggregation)  # an unknown name fails here
        if self.dvts_leaves not in ("all", "best"):
            raise ValueError(f"dvts_leaves must be 'all' or 'best', got {self.dvts_leaves!r}")


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
    """Final paths, best first (finished before unfinished), and the tokens generated to find them."""

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
        return SearchResult(sorted(paths, key=lambda p: (not p.finished, -p.score)), self.tokens)


def beam_search(prompt: str, propose: Propose, score: ProcessScore, settings: SearchSettings) -> SearchResult:
    """Keep the n_beams/beam_width best unfinished paths; each proposes beam_width next steps.

    The first step is proposed n_beams times from the prompt. Finished paths leave the beam and
    are returned; with ``refill`` the remaining best paths are repeated (best first) so that N
    proposals are made at every step, as search-and-learn does. The search stops after
    ``max_steps`` steps or once n_beams paths finished.
    """
    search = _Search(prompt, propose, score, settings.aggregation)
    n_beams, n_active = settings.n_beams, settings.n_beams // settings.beam_width
    candidates = search.scored(search.expand(Path([]), n_beams))
    done: list[Path] = []
    for _ in range(settings.max_steps - 1):
        done += [p for p in candidates if p.finished]
        active = sorted((p for p in candidates if not p.finished), key=lambda p: -p.score)[:n_active]
        if not active or len(done) >= n_beams:
            return search.result(done)
        if settings.refill:
            active = [active[i % len(active)] for i in range(n_active)]
        candidates = search.scored([child for path in active for child in search.expand(path, settings.beam_width)])
    return search.result(done + candidates)


def dvts(prompt: str, propose: Propose, score: ProcessScore, settings: SearchSettings) -> SearchResult:
    """Diverse verifier tree search: n_beams/beam_width independent subtrees, each greedy.

    Every subtree, from its first step on, proposes beam_width continuations and keeps the one
    the verifier scores best. Returns the beam_width proposals of each subtree's last expansion
    (N paths, ``dvts_leaves="all"``) or only the kept one (``"best"``).
    """
    search = _Search(prompt, propose, score, settings.aggregation)
    n_trees, width = settings.n_beams // settings.beam_width, settings.beam_width
    options = [children for _ in range(n_trees) if (children := search.expand(Path([]), width))]  # a subtree without a first step is dropped
    search.scored([child for children in options for child in children])
    leaves = [max(children, key=lambda p: p.score) for children in options]
    for _ in range(settings.max_steps - 1):
        growing = [i for i, leaf in enumerate(leaves) if not leaf.finished]
        if not growing:
            break
        expanded = [search.expand(leaves[i], width) for i in growing]
        search.scored([child for children in expanded for child in children])
        for i, children in zip(growing, expanded):
            if children:
                options[i], leaves[i] = children, max(children, key=lambda p: p.score)
            else:  # nothing proposed: the subtree ends where it is
                leaves[i] = options[i][0] = Path(leaves[i].steps, finished=True, score=leaves[i].score)
    if settings.dvts_leaves == "best":
        return search.result(leaves)
    return search.result([path for children in options for path in children])
