"""Structured configs: the typed schema behind every YAML in ``conf/``, registered in Hydra's ConfigStore.

A typo in a key or a value of the wrong type fails at composition, before any compute, with a
message that names the key. Group options (``base=procedural``, ``base=lm``, …) each extend a
schema registered here under their group; the YAML files only set values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig


@dataclass
class TaskConfig:
    """The planted-subsequence task (SPEC §3)."""

    _target_: str = "vbvf.tasks.planted.PlantedTask"
    vocab_size: int = 10  # V digit tokens
    prompt_length: int = 5  # k
    gold_map: str = "contextual"  # contextual: g((x_i + x_{i-1}) mod V); elementwise: g(x_i)
    solve_mode: str = "subsequence"  # or substring (contiguous)
    n_train: int = 2000
    n_test: int = 200
    seed: int = 0  # fixes the hidden permutation g and the prompt split


@dataclass
class MixtureConfig:
    """The base data's mixture of procedural experts μ_γ: the heterogeneity knob."""

    name: str = "custom"
    gammas: list[float] = field(default_factory=lambda: [0.5])
    weights: list[float] = field(default_factory=list)  # empty: uniform


@dataclass
class ProceduralBaseConfig:
    """base=procedural: the exact mixture policy itself, no training."""

    _target_: str = "vbvf.policies.procedural.ProceduralPolicy"
    gammas: list[float] = "${mixture.gammas}"  # type: ignore[assignment]
    weights: list[float] = "${mixture.weights}"  # type: ignore[assignment]


@dataclass
class EvalConfig:
    """Evaluation grid and statistics: budgets H, samples per test prompt, ε grid, bootstrap."""

    horizons: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    samples_per_prompt: int = 32  # m
    eps: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])
    c0: float = 0.1  # report the share of prompts with c_x(ε) ≥ c0
    confidence: float = 0.95
    n_bootstrap: int = 2000


@dataclass
class Config:
    """Top-level schema; ``pipeline`` names the function that runs the experiment."""

    experiment: str = "default"
    pipeline: str = "vbvf.pipeline.didactic.run"
    seed: int = 0
    task: TaskConfig = field(default_factory=TaskConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)
    base: Any = MISSING
    eval: EvalConfig = field(default_factory=EvalConfig)


def register_configs() -> None:
    """Put the schemas in Hydra's ConfigStore (called by the entry point before composing)."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    cs.store(group="task", name="planted_schema", node=TaskConfig)
    cs.store(group="mixture", name="mixture_schema", node=MixtureConfig)
    cs.store(group="base", name="procedural_schema", node=ProceduralBaseConfig)


def build(node: DictConfig, **objects: Any) -> Any:
    """Instantiate the ``_target_`` of ``node`` with plain-Python values plus live ``objects``.

    Live objects (a task, a model) are passed after instantiation so Hydra never tries to turn
    them into config nodes.
    """
    return instantiate(node, _partial_=True, _convert_="all")(**objects)
