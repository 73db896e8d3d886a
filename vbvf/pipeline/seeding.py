"""Per-stage seeds derived from the run seed, so stages are reproducible and independent."""

from __future__ import annotations

import hashlib


def stage_seed(seed: int, stage: str) -> int:
    """A 31-bit seed for ``stage`` that depends only on the run seed and the stage's name."""
    digest = hashlib.sha256(f"{seed}:{stage}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF
