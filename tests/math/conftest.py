"""Shared fixtures for the MATH tests: the local data folder (skip when absent)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$VBVF_DATA_DIR`` or ``../shared/data`` next to the repo; skips the test when missing."""
    folder = Path(os.environ.get("VBVF_DATA_DIR", REPO.parent / "shared" / "data"))
    if not (folder / "math500.jsonl").is_file():
        pytest.skip(f"MATH data not found in {folder} (set VBVF_DATA_DIR)")
    return folder


@pytest.fixture(scope="session")
def experiment_draft():
    """``experiment_draft(name)``: a draft experiment merged over math_eval, as Hydra composes it."""
    from omegaconf import OmegaConf

    def load(name: str):
        drafts = [OmegaConf.load(REPO / "conf" / "experiment" / f"{n}.yaml") for n in dict.fromkeys(["math_eval", name])]
        for draft in drafts:
            draft.pop("defaults")
        return OmegaConf.merge(*drafts)

    return load


def group_option(group: str, name: str):
    """``conf/GROUP/NAME.yaml`` without its defaults list (the schema Hydra would merge it over)."""
    from omegaconf import OmegaConf

    option = OmegaConf.load(REPO / "conf" / group / f"{name}.yaml")
    option.pop("defaults", None)
    return option
