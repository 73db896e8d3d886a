"""The didactic arms as components behind one protocol: each trains its (cached) stages and returns
its per-H summaries, tokens included; ``role`` says what it is to the gap (SPEC §2).

``role`` replaces any contract on arm names: ``gaps`` pairs every ``vb`` arm with the ``vf`` arm,
``control`` arms are reported only. The run's arms are the ``arms:`` list of ``_target_`` entries
(``conf/arms/didactic.yaml``), each ``enabled`` by its usual switch; a new arm is one class here
plus one entry there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from vbvf.arms.training import read_fit
from vbvf.config import build
from vbvf.policies.protocols import TraceVerifier

ROLES = ("vf", "vb", "control")


class Arm(Protocol):
    role: str  # one of ROLES
    enabled: bool

    def run(self, runner: Any, horizons: list[int]) -> dict[str, dict[str, dict]]:
        """Train what the arm needs and evaluate it at every H: ``{arm name: {str(H): summary}}``;
        ``runner`` is the testbed's (``DidacticRunner`` here, ``math_components.MathRunner``)."""


class DidacticRunner(Protocol):
    """What the didactic arms use of their runner (``vbvf.pipeline.arms.ArmRunner``): arms never import the pipeline."""

    fits: dict[str, dict | None]

    def finished(self, arm: str, horizon: int, summary: dict) -> dict:
        """Record one arm's summary at one H as soon as it exists (an interrupted run reports it); returns it."""

    def vf(self, horizon: int) -> dict: ...
    def vf_expert(self) -> Path: ...
    def evaluate(self, model_dir: Path, horizon: int) -> tuple[np.ndarray, np.ndarray]: ...
    def summary(self, solve_time: np.ndarray, tokens: np.ndarray, horizon: int, tokens_per_prompt: np.ndarray | None = None) -> dict: ...
    def trained_verifier(self) -> TraceVerifier: ...
    def bon(self, verifier: TraceVerifier) -> dict[str, dict]: ...
    def rl(self, horizon: int, verifier: TraceVerifier | None, progress: bool = False) -> dict: ...
    def optimal(self, horizon: int) -> dict: ...


@dataclass
class VF:
    """SFT on one success within H per prompt, trained per H."""

    enabled: bool = True
    role = "vf"

    def run(self, runner: DidacticRunner, horizons: list[int]) -> dict:
        return {"vf": {str(h): runner.finished("vf", h, runner.vf(h)) for h in horizons}}


@dataclass
class ExpertControl:
    """SFT on traces of the sharpest expert μ_1, trained once."""

    enabled: bool = True
    role = "control"

    def run(self, runner: DidacticRunner, horizons: list[int]) -> dict:
        expert = runner.vf_expert()
        runner.fits["vf_expert"] = read_fit(expert)
        return {"vf_expert": {str(h): runner.finished("vf_expert", h, runner.summary(*runner.evaluate(expert, h), h))
                              for h in horizons}}


@dataclass
class BestOfN:
    """The verifier picks one of N base candidates of ⌊H/N⌋ tokens, for each N of ``vb.bon.n_grid``."""

    enabled: bool = True
    role = "vb"

    def run(self, runner: DidacticRunner, horizons: list[int]) -> dict:
        return runner.bon(runner.trained_verifier())


@dataclass
class RL:
    """GRPO from π_b, per H, with the verifier's score (``vb``) or the true return (``control``) as
    reward; ``progress``: each token credited with the increase of a prefix value."""

    name: str
    role: str
    progress: bool = False
    enabled: bool = True

    def run(self, runner: DidacticRunner, horizons: list[int]) -> dict:
        verifier = runner.trained_verifier() if self.role == "vb" else None
        return {self.name: {str(h): runner.finished(self.name, h, runner.rl(h, verifier, progress=self.progress))
                            for h in horizons}}


@dataclass
class OptimalControl:
    """The optimal policy: T = k on every trace."""

    enabled: bool = True
    role = "control"

    def run(self, runner: DidacticRunner, horizons: list[int]) -> dict:
        return {"optimal": {str(h): runner.optimal(h) for h in horizons}}


def configured_arms(nodes: Sequence) -> list[Arm]:
    """The enabled arms of an ``arms:`` list (``cfg.arms``), in the order they are trained and reported."""
    arms = [build(node) for node in nodes]
    if unknown := [arm.role for arm in arms if arm.role not in ROLES]:
        raise ValueError(f"arms: roles {unknown} are not among {ROLES}")
    return [arm for arm in arms if arm.enabled]


def arm_label(arm: Arm) -> str:
    """How ``pending_arms`` names an arm: its ``name`` where it has one (the RL arms), else its class."""
    return getattr(arm, "name", type(arm).__name__)


def run_in_order(arms: list[Arm], runner: Any, horizons: list[int],
                 after_each: Callable[[dict, dict, list[str]], None] | None = None) -> tuple[dict, dict]:
    """Run ``arms`` in order with the testbed's ``runner``: ``({arm name: {str(H): summary}}, {arm name:
    role})``; ``after_each(arms so far, their roles, names of the arms still to run)`` after each."""
    summaries: dict[str, dict] = {}
    roles: dict[str, str] = {}
    for done, arm in enumerate(arms, 1):
        named = arm.run(runner, horizons)
        summaries |= named
        roles |= dict.fromkeys(named, arm.role)
        if after_each is not None:
            after_each(summaries, roles, [arm_label(a) for a in arms[done:]])
    return summaries, roles
