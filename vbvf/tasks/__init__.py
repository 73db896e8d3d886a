"""Testbeds: the synthetic planted-subsequence task (and, in ``vbvf.tasks.math``, MATH)."""

from vbvf.tasks.planted import UNSOLVED, PlantedTask

__all__ = ["UNSOLVED", "PlantedTask"]
