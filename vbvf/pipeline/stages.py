"""Stage cache: each stage's artifacts live in a directory keyed by exactly the config that affects it.

A stage writes into a private temp directory named by its writer; only when it finishes are a
file manifest (sizes and sha256, ``vbvf/pipeline/manifest.py``) and a ``DONE`` marker written
and the directory renamed into place (one atomic rename). A crash or ``kill -9`` at any point
leaves at most a temp directory that no later run trusts and that the next start removes once
its writer is gone; a rerun redoes only unfinished stages, and a run that shares a stage's config
(the same base, another H) reuses it. Reuse first checks the manifest: a stage whose files were
truncated, removed or changed is recomputed, with a warning that names it. A full disk during a
stage removes the half-written stage and says so. A training stage interrupted mid-way resumes
from its last checkpoint (``train.checkpoint_every``, ``vbvf/pipeline/checkpoints.py``).

Parallel jobs sharing the cache (a joblib sweep over H, mixtures or seeds) compute each stage once:
a job takes an exclusive lock (``flock`` on ``root/.locks/<stage>.<key>.lock``, released by the
kernel if the job dies) before computing a stage, and a job that finds the lock held waits, then
reuses what the holder finished. Before, every job computed a shared stage (the base) itself, on
the same device, into the same checkpoint folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from vbvf.pipeline.artifacts import atomic_write_text, config_hash
from vbvf.pipeline.checkpoints import stage_checkpoints
from vbvf.pipeline.manifest import MODES, check_manifest, write_manifest
from vbvf.pipeline.tempdirs import remove_stale_temps, temp_path

log = logging.getLogger(__name__)

DONE = "DONE"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def stage_label(directory: str | Path) -> str:
    """``<stage>/<key hash>`` of a finished stage's directory: how a later stage's key names what it builds on."""
    directory = Path(directory)
    return f"{directory.parent.name}/{directory.name}"


class StageCache:
    """Runs stages at most once per key under ``root/<stage>/<key>``; counts what it reused.

    ``mode`` / ``hash_max_mb`` say how reuse checks a stage's manifest (``cache_check`` in the
    config): ``sizes``, ``small`` (also sha256 of files up to ``hash_max_mb``) or ``all``.
    """

    def __init__(self, root: str | Path, mode: str = "small", hash_max_mb: float = 256.0):
        if mode not in MODES:
            raise ValueError(f"cache_check.mode={mode!r}: expected one of {MODES}")
        self.root = Path(root)
        self.mode, self.hash_max_mb = mode, hash_max_mb
        self.computed: list[str] = []
        self.reused: list[str] = []
        self.recomputed: dict[str, str] = {}  # stage -> why its cached artifacts were not trusted
        self.seconds: dict[str, float] = {}  # wall time of each stage computed by this run
        self.removed_temps = [str(p) for p in remove_stale_temps(self.root)]

    def path(self, stage: str, key_config: dict) -> Path:
        return self.root / stage / config_hash(key_config)

    def summary(self) -> dict:
        """What this run computed, reused and recomputed, for ``results.json``."""
        return {"computed": self.computed, "reused": self.reused, "recomputed": self.recomputed,
                "seconds": self.seconds, "removed_temps": self.removed_temps}

    def run(self, stage: str, key_config: dict, produce: Callable[[Path], Any]) -> Path:
        """Return the finished directory of ``stage`` for ``key_config``, producing it if needed.

        ``produce(tmp_dir)`` writes the stage's artifacts into ``tmp_dir``.
        """
        final = self.path(stage, key_config)
        label = f"{stage}/{final.name}"
        with self._lock(stage, final, label):
            return self._reuse(final, label) or self._produce(stage, key_config, final, label, produce)

    @contextmanager
    def _lock(self, stage: str, final: Path, label: str) -> Iterator[None]:
        """This stage's lock, held while the block runs; waits (and says so) while another job holds it."""
        path = self.root / ".locks" / f"{stage}.{final.name}.lock"  # hidden: never taken for a stage
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("stage %s: another job is computing it; waiting for it", label)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _reuse(self, final: Path, label: str) -> Path | None:
        """``final`` when it holds a finished stage that passes its manifest check, else None."""
        if (final / DONE).exists():
            problem = check_manifest(final, self.mode, self.hash_max_mb)
            if problem is None:
                log.info("stage %s: reused", label)
                self.reused.append(label)
                return final
            log.warning("stage %s: cached artifacts fail their check (%s); recomputing it", label, problem)
            self.recomputed[label] = problem
        return None

    def _produce(self, stage: str, key_config: dict, final: Path, label: str, produce: Callable[[Path], Any]) -> Path:
        """Compute the stage into a temp directory and rename it into ``final``."""
        if final.exists():  # damaged, or left by a run killed between rename and marker: never trusted
            shutil.rmtree(final)
        tmp = temp_path(final)
        tmp.mkdir(parents=True)
        checkpoints = self.root / "checkpoints" / stage / final.name
        start = time.perf_counter()
        try:
            with stage_checkpoints(checkpoints):
                produce(tmp)
            atomic_write_text(tmp / "stage.json", json.dumps({"stage": stage, "key": key_config}, indent=1, default=str))
            write_manifest(tmp)
            atomic_write_text(tmp / DONE, "")
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / DONE).exists():
                    raise
                shutil.rmtree(tmp)  # a parallel job of the same sweep finished it first
        except BaseException as error:
            shutil.rmtree(tmp, ignore_errors=True)
            if _disk_full(error):
                raise OSError(errno.ENOSPC, f"stage {label}: no space left on the device of cache_dir={self.root} "
                              "while writing it; the half-written stage was removed. Free space or point cache_dir "
                              "elsewhere, then rerun: finished stages are kept") from error
            raise
        shutil.rmtree(checkpoints, ignore_errors=True)  # finished: its checkpoints are of no further use
        self.seconds[label] = time.perf_counter() - start
        log.info("stage %s: computed in %.1f s", label, self.seconds[label])
        self.computed.append(label)
        return final


def _disk_full(error: BaseException | None) -> bool:
    """Whether ``error`` or an error it was raised from is a full disk (some writers wrap the OSError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if (isinstance(error, OSError) and error.errno in _DISK_FULL) or "No space left on device" in str(error):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False
