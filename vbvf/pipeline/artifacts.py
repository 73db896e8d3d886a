"""Artifacts on disk: atomic writes (temp file + rename), writability checks and the config hash that names results."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a reader sees either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN is written as null)."""
    return atomic_write_text(path, json.dumps(_finite(obj), indent=1, sort_keys=False) + "\n")


def require_writable(path: str | Path, key: str) -> Path:
    """Create ``path`` if needed and write a probe file there; a failure names ``key`` and the path."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise PermissionError(f"{key}={path}: not a writable directory ({error.strerror or error}); "
                              f"point {key} at a directory this user can write") from None
    return path


def config_hash(config: dict) -> str:
    """Short stable hash of a resolved config (sorted-key JSON, sha256, first 12 hex digits)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _finite(obj: Any) -> Any:
    # JSON has no NaN: write null so every reader (not only Python's) can parse the file.
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
