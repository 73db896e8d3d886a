"""Stage cache: each stage's artifacts live in a directory keyed by exactly the config that affects it.

A stage writes into a private temp directory; only when it finishes is a ``DONE`` marker written
and the directory renamed into place (one atomic rename). A crash or ``kill -9`` at any point
leaves at most a temp directory that no later run trusts, so a rerun redoes only unfinished
stages, and a run that shares a stage's config (the same base, another H) reuses it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from vbvf.pipeline.artifacts import atomic_write_text, config_hash

log = logging.getLogger(__name__)

DONE = "DONE"


class StageCache:
    """Runs stages at most once per key under ``root/<stage>/<key>``; counts what it reused."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.computed: list[str] = []
        self.reused: list[str] = []
        self.seconds: dict[str, float] = {}  # wall time of each stage computed by this run

    def path(self, stage: str, key_config: dict) -> Path:
        return self.root / stage / config_hash(key_config)

    def run(self, stage: str, key_config: dict, produce: Callable[[Path], Any]) -> Path:
        """Return the finished directory of ``stage`` for ``key_config``, producing it if needed.

        ``produce(tmp_dir)`` writes the stage's artifacts into ``tmp_dir``.
        """
        final = self.path(stage, key_config)
        label = f"{stage}/{final.name}"
        if (final / DONE).exists():
            log.info("stage %s: reused", label)
            self.reused.append(label)
            return final
        if final.exists():  # left by a run killed between rename and marker? never trusted
            shutil.rmtree(final)
        tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        start = time.perf_counter()
        try:
            produce(tmp)
            atomic_write_text(tmp / "stage.json", json.dumps({"stage": stage, "key": key_config}, indent=1, default=str))
            atomic_write_text(tmp / DONE, "")
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / DONE).exists():
                    raise
                shutil.rmtree(tmp)  # a parallel job of the same sweep finished it first
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.seconds[label] = time.perf_counter() - start
        log.info("stage %s: computed in %.1f s", label, self.seconds[label])
        self.computed.append(label)
        return final
