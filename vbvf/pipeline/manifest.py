"""File manifests of cached artifacts: every file's size and sha256, and the check on reuse.

A finished stage (or sample-cache entry) records ``manifest.json`` before its ``DONE`` marker.
Reuse checks it: sizes always (a truncated or missing file fails at once), sha256 for files up to
``hash_max_mb`` in ``small`` mode and for every file in ``all`` mode (a flipped byte fails), so a
damaged artifact is recomputed instead of silently used or crashing its reader.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from vbvf.pipeline.artifacts import atomic_write_text

MANIFEST = "manifest.json"
MODES = ("sizes", "small", "all")  # what reuse checks beyond sizes: nothing, hashes of small files, every hash
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path, skip: set[str]) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).as_posix() not in skip)


def write_manifest(root: Path, skip: tuple[str, ...] = ()) -> dict:
    """Record every file under ``root`` (but ``skip`` and the manifest itself) with size and sha256."""
    root = Path(root)
    entries = {
        p.relative_to(root).as_posix(): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in _files(root, {MANIFEST, *skip})
    }
    atomic_write_text(root / MANIFEST, json.dumps({"files": entries}, indent=1))
    return entries


def check_manifest(root: Path, mode: str = "small", hash_max_mb: float = 256.0) -> str | None:
    """Why the files under ``root`` do not match their manifest, or None when they do."""
    if mode not in MODES:
        raise ValueError(f"cache_check.mode={mode!r}: expected one of {MODES}")
    try:
        entries = json.loads((Path(root) / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        return f"no {MANIFEST} (written by an older vbvf, or damaged)"
    except (ValueError, KeyError, TypeError) as error:
        return f"unreadable {MANIFEST} ({error!r})"
    hash_max_bytes = hash_max_mb * 2**20
    for name, entry in entries.items():
        path = Path(root) / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != entry["bytes"]:
            return f"{name} has {size} bytes, the manifest says {entry['bytes']}"
        hashed = mode == "all" or (mode == "small" and size <= hash_max_bytes)
        if hashed and sha256_file(path) != entry["sha256"]:
            return f"{name} does not match its sha256"
    return None
