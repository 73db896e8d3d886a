"""The MATH arms as components behind the didactic arms' protocol (``vbvf.arms.components.Arm``):
each trains its (cached) stages through the runner and returns its summaries at every H = N·h,
tokens included; ``role`` says what it is to the gap (SPEC §2).

The run's arms are the ``arms:`` list of ``conf/arms/math.yaml``: VF, and one ``Selection`` per rule
of ``vbvf/arms/selection.py``, on when its rule is in ``selection.methods``; ``gaps`` pairs every
``vb`` arm with ``vf``. A new arm is one class here plus one entry there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class MathRunner(Protocol):
    """What the MATH arms use of their runner (``vbvf.pipeline.math_runner.MathArms``)."""

    def vf_arm(self) -> dict: ...
    def selection_arm(self, method: str) -> dict: ...


@dataclass
class MathVF:
    """SFT of π_b on one stitched trace per problem; at test, traces of at most H tokens."""

    enabled: bool = True
    role = "vf"

    def run(self, runner: MathRunner, horizons: list[int]) -> dict:
        return {"vf": runner.vf_arm()}


@dataclass
class Selection:
    """One rule among the first N samples of π_b at H = N·h (majority vote, (weighted) Best-of-N with the
    trained verifier, pass@N); on when ``method`` is in ``methods`` (``selection.methods``)."""

    method: str
    role: str
    methods: list[str]
    enabled: bool = field(init=False)

    def __post_init__(self) -> None:
        self.enabled = self.method in self.methods

    def run(self, runner: MathRunner, horizons: list[int]) -> dict:
        return {self.method: runner.selection_arm(self.method)}
