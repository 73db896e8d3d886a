"""Shared fixtures: compose configs as the CLI does, and run the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import reduce
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from vbvf.config import register_configs

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


@pytest.fixture
def compose_config():
    """compose_config(overrides) -> DictConfig, exactly as ``python -m vbvf.run`` composes it."""
    register_configs()

    def _compose(overrides: list[str]):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(config_name="config", overrides=overrides)

    return _compose


def cli_env() -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout's ``vbvf`` first on the path, so a ``cwd``
    outside the checkout never imports an installed copy."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "1"}


def run_cli(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m vbvf.run ARGS`` in a subprocess; return the completed process."""
    proc = subprocess.run(
        [sys.executable, "-m", "vbvf.run", *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"vbvf.run {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def load_results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def assert_pinned(results: dict, pins: dict[str, float]) -> None:
    """Each "/"-separated path of ``pins`` (list items by index) holds its pinned number in ``results``,
    up to float rounding.

    The pins are numbers of a fully seeded smoke run (torch_threads=1): a refactor that changes any
    of them changed behaviour.
    """
    def step(node, key: str):
        return node[int(key)] if isinstance(node, list) else node[key]

    got = {path: reduce(step, path.split("/"), results) for path in pins}
    assert got == pytest.approx(pins, rel=1e-6, abs=1e-9)
