"""The one shape of ``results.json``, shared by every pipeline and read by ``analysis/``.

Every run writes ``schema_version``, ``pipeline``, ``experiment``, ``config``, ``config_hash``,
``seeds``, ``horizons`` (the budgets of ``base_stats``), ``arm_budget`` (what keys ``arms.<name>``:
``H``, a token budget, or ``N``, a sample count), then ``base_stats.<H>``, ``arms.<name>.<budget>``
and ``gaps.<name>.<budget>``; each pipeline adds its own sections beside them.
"""

from __future__ import annotations

from vbvf.pipeline.artifacts import config_hash

SCHEMA_VERSION = 2


def results_header(pipeline: str, config: dict, seeds: dict, horizons: list[int], arm_budget: str = "H") -> dict:
    """The keys every results.json starts with; ``config`` is the resolved config as plain Python."""
    return {
        "schema_version": SCHEMA_VERSION, "pipeline": pipeline, "experiment": config["experiment"],
        "config": config, "config_hash": config_hash(config), "seeds": seeds,
        "horizons": list(horizons), "arm_budget": arm_budget,
    }
