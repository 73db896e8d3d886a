"""The didactic arms as components behind one protocol: each trains its (cached) stages and returns
its per-H summaries, tokens included; ``role`` says what it is to the gap (SPEC §2).

``role`` replaces any contract on arm names: ``gaps`` pairs every ``vb`` arm with the ``vf`` arm,
``control`` arms are reported only. A new arm is one class here with a ``run`` (and, while arms are
chosen by the flags of ``vf`` / ``vb`` / ``controls``, one line in ``configured_arms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from omegaconf import DictConfig

from vbvf.arms.training import read_fit

if TYPE_CHECKING:
    from vbvf.pipeline.arms import ArmRunner

ROLES = ("vf", "vb", "control")


class Arm(Protocol):
    role: str  # one of ROLES

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict[str, dict[str, dict]]:
        """Train what the arm needs and evaluate it at every H: ``{arm name: {str(H): summary}}``."""


@dataclass
class VF:
    """SFT on one success within H per prompt, trained per H."""

    role = "vf"

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict:
        return {"vf": {str(h): runner.vf(h) for h in horizons}}


@dataclass
class ExpertControl:
    """SFT on traces of the sharpest expert μ_1, trained once."""

    role = "control"

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict:
        expert = runner.vf_expert()
        runner.fits["vf_expert"] = read_fit(expert)
        return {"vf_expert": {str(h): runner.summary(*runner.evaluate(expert, h), h) for h in horizons}}


@dataclass
class BestOfN:
    """The verifier picks one of N base candidates of ⌊H/N⌋ tokens, for each N of ``vb.bon.n_grid``."""

    role = "vb"

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict:
        return runner.bon(runner.trained_verifier())


@dataclass
class RL:
    """GRPO from π_b, per H, with the verifier's score (``vb``) or the true return (``control``) as
    reward; ``progress``: each token credited with the increase of a prefix value."""

    name: str
    role: str
    progress: bool = False

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict:
        verifier = runner.trained_verifier() if self.role == "vb" else None
        return {self.name: {str(h): runner.rl(h, verifier, progress=self.progress) for h in horizons}}


@dataclass
class OptimalControl:
    """The optimal policy: T = k on every trace."""

    role = "control"

    def run(self, runner: ArmRunner, horizons: list[int]) -> dict:
        return {"optimal": {str(h): runner.optimal(h) for h in horizons}}


def configured_arms(cfg: DictConfig) -> list[Arm]:
    """The arms the config enables, in the order they are trained and reported."""
    rl, progress = cfg.vb.rl, cfg.vb.rl.progress
    enabled = [
        (cfg.vf.enabled, VF()),
        (cfg.vf.expert_control, ExpertControl()),
        (cfg.vb.bon.enabled, BestOfN()),
        (rl.enabled, RL("vb_rl", "vb")),
        (rl.true_reward_control, RL("rl_true", "control")),
        (progress.enabled, RL("vb_progress", "vb", progress=True)),
        (progress.true_control, RL("rl_true_progress", "control", progress=True)),
        (cfg.controls.optimal, OptimalControl()),
    ]
    return [arm for on, arm in enabled if on]
