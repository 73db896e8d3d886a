"""Typed schemas of the MATH evaluation's config sections; ``vbvf/config.py`` puts them in the top-level schema.

``vbvf.pipeline.math_eval.run_math_eval`` reads these sections plus ``model.name_or_path``,
``data.eval`` and the shared ``eval`` section. The sampler and the verifier are ``_target_``
nodes and stay untyped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from vbvf.tasks.math.prompts import STEP_BY_STEP


@dataclass
class LadderConfig:
    """The arithmetic ladder (``vbvf/tasks/math/ladder.py``), generated in memory."""

    split: str = "train"  # train | test: disjoint by construction
    per_level: int = 20
    levels: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    seed: int = 0


@dataclass
class ProblemSourceConfig:
    """One problem set: a local jsonl ``path``, a hub ``hub_id`` or the ``ladder`` (exactly one), then filters."""

    path: Optional[str] = None
    hub_id: Optional[str] = None
    ladder: Optional[LadderConfig] = None
    split: str = "test"
    unique_id_prefix: Optional[str] = None  # "train/" keeps the 7,500 MATH train problems
    subjects: Optional[list[str]] = None
    levels: Optional[list[int]] = None
    max_problems: Optional[int] = None


@dataclass
class PromptConfig:
    """``template`` gets ``{problem}``; the tokenizer's chat template is applied when it has one."""

    template: str = STEP_BY_STEP
    system: Optional[str] = None


@dataclass
class SamplingConfig:
    """Sampling parameters besides n (n comes from the N grid and samples_per_prompt)."""

    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 2048
    seed: int = 0
    stop: list[str] = field(default_factory=list)


@dataclass
class SelectionConfig:
    """Selection methods applied to the first N samples, for each N of the grid."""

    n_grid: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256])
    methods: list[str] = field(default_factory=lambda: ["majority_vote", "weighted_best_of_n", "best_of_n", "pass_at_n"])


@dataclass
class SearchConfig:
    """Beam search / DVTS with the verifier's process scores; N = n_grid, M = beam_width."""

    methods: list[str] = field(default_factory=lambda: ["beam_search", "dvts"])
    n_grid: list[int] = field(default_factory=lambda: [4, 16, 64])
    beam_width: int = 4
    max_steps: int = 40
    step_max_tokens: int = 256
    aggregation: str = "last"  # last | min | prod
    refill: bool = True  # beam search repeats the best active beams to N/M when some finish (search-and-learn)
    dvts_leaves: str = "all"  # all: the M last proposals of each subtree, N paths (search-and-learn) | best: one per subtree


@dataclass
class GradingConfig:
    """math-verify in worker processes: hard per-item timeout; workers null = all cores."""

    timeout_s: float = 5.0
    workers: Optional[int] = None
    set_relation: bool = True  # gold "x \\in [-2,7]" matches "-2 \\le x \\le 7" (math-verify allow_set_relation_comp)


ATTEMPT_SEPARATOR = "\n\nWait, that answer may be wrong. Let me try again.\n\n"
CORRECT_SOURCES = ("sampled", "reference", "sampled_or_reference")


@dataclass
class AttemptsConfig:
    """How attempts join into one multi-attempt trace: the heterogeneity SFT data, the VF arm's
    stitched traces, and where T (the end of the first correct attempt) is read at test time."""

    separator: str = ATTEMPT_SEPARATOR
    correct_source: str = "sampled"  # the right attempt: sampled | reference (MATH solution) | sampled_or_reference


@dataclass
class WrongAttemptsConfig:
    """j, the wrong attempts before the right one: j ∈ {0..max_wrong}, P(j) = weights[j] (empty: uniform)."""

    max_wrong: int = 0
    weights: list[float] = field(default_factory=list)
