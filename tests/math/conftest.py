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
