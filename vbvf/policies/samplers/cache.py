"""On-disk cache of samples, so that rerunning an experiment never resamples.

One entry per (backend, model name_or_path, prompt, sampling parameters incl. seed), stored as
a ``datasets`` Arrow folder named by the SHA-256 of those inputs, next to a ``request.json``
recording them and a file manifest (``vbvf/pipeline/manifest.py``). Entries are written to a
temporary folder and renamed into place (atomic), so an interrupted run leaves no half-written
entry (and the next start removes the temp folder of a dead writer); an entry that fails its
manifest check is resampled with a warning, never silently used. A local model changed in place keeps its
name_or_path: use a new directory (or a new cache_dir) after retraining, or pass a ``model_id``
that changes with the weights (the MATH arms pass one for every model their stages train).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from datasets import Dataset
from datasets.utils import (
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
)

from vbvf.pipeline.manifest import MODES, check_manifest, write_manifest
from vbvf.pipeline.tempdirs import remove_stale_temps, temp_path
from vbvf.policies.samplers.base import Completion, Sampler, SamplingParams

log = logging.getLogger(__name__)


def cache_key(backend: str, name_or_path: str, prompt: str, params: SamplingParams) -> tuple[str, dict]:
    """The entry's hash and the request it hashes."""
    request = {"backend": backend, "name_or_path": name_or_path, "prompt": prompt, "params": asdict(params)}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest(), request


@contextmanager
def _quiet():
    """No per-entry progress bars from ``datasets`` (restored afterwards)."""
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


class CachedSampler:
    """Wraps a sampler; only prompts without a cache entry reach it."""

    def __init__(self, sampler: Sampler, cache_dir: str | Path, chunk_size: int = 256, model_id: str | None = None,
                 mode: str = "small", hash_max_mb: float = 256.0):
        if mode not in MODES:
            raise ValueError(f"cache_check.mode={mode!r}: expected one of {MODES}")
        self.sampler = sampler
        self.chunk_size = chunk_size
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.mode, self.hash_max_mb = mode, hash_max_mb
        self.backend, self.name_or_path = sampler.backend, model_id or sampler.name_or_path
        self.resampled: dict[str, str] = {}  # entry -> why its cached samples were not trusted
        remove_stale_temps(self.cache_dir)

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        keys = [cache_key(self.backend, self.name_or_path, p, params) for p in prompts]
        found = {key: self._load(key) for key, _ in keys}
        missing = list({key: request for key, request in keys if found[key] is None}.items())
        for start in range(0, len(missing), self.chunk_size):  # stored chunk by chunk: an interrupt keeps the finished ones
            chunk = missing[start : start + self.chunk_size]
            fresh = self.sampler.sample([request["prompt"] for _, request in chunk], params)
            for (key, request), completions in zip(chunk, fresh):
                self._store(key, request, completions)
                found[key] = completions
        return [found[key] for key, _ in keys]

    def _entry(self, key: str) -> Path:
        return self.cache_dir / key[:2] / key

    def _load(self, key: str) -> list[Completion] | None:
        entry = self._entry(key)
        if not entry.is_dir():
            return None
        if problem := check_manifest(entry, self.mode, self.hash_max_mb):
            log.warning("sample cache entry %s fails its check (%s); resampling it", entry, problem)
            self.resampled[str(entry)] = problem
            shutil.rmtree(entry, ignore_errors=True)
            return None
        with _quiet():
            rows = Dataset.load_from_disk(str(entry)).to_dict()
        return [Completion(*row) for row in zip(rows["text"], rows["n_tokens"], rows["finish_reason"])]

    def _store(self, key: str, request: dict, completions: list[Completion]) -> None:
        entry = self._entry(key)
        entry.parent.mkdir(exist_ok=True)
        tmp = temp_path(entry)
        try:
            columns = {name: [getattr(c, name) for c in completions] for name in ("text", "n_tokens", "finish_reason")}
            with _quiet():
                Dataset.from_dict(columns).save_to_disk(str(tmp))
            (tmp / "request.json").write_text(json.dumps(request, indent=1))
            write_manifest(tmp)
            try:
                os.rename(tmp, entry)
            except OSError:  # another process stored the same entry first; keep theirs
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
