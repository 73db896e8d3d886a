"""Where a training stage keeps its resumable checkpoints while the stage cache produces it.

A stage's temp directory is private to one writer and removed when the writer fails, so a long
training stage that is interrupted (pre-emption, a lease that ends, Ctrl-C) would restart from
step 0. While ``StageCache.run`` produces a stage it names a stable folder,
``<cache_dir>/checkpoints/<stage>/<key>``; trainers with ``train.checkpoint_every > 0`` save into
it and resume from its newest ``checkpoint-N`` (transformers' ``resume_from_checkpoint``). The
folder is removed once the stage is finished, so it never outlives its use.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator, Optional

_CURRENT: ContextVar[Optional[Path]] = ContextVar("stage_checkpoints", default=None)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


@contextmanager
def stage_checkpoints(folder: Path) -> Iterator[None]:
    """Name ``folder`` as the checkpoint folder of the stage produced inside this block."""
    token = _CURRENT.set(Path(folder))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_checkpoints() -> Optional[Path]:
    """The checkpoint folder of the stage being produced (None outside ``StageCache.run``)."""
    return _CURRENT.get()


def latest_checkpoint(folder: Path) -> Optional[Path]:
    """The ``checkpoint-N`` with the largest N that finished writing (has ``trainer_state.json``), or None."""
    if not Path(folder).is_dir():
        return None
    found = [(int(m.group(1)), p) for p in Path(folder).iterdir() if (m := _CHECKPOINT.match(p.name))
             and (p / "trainer_state.json").exists()]
    return max(found)[1] if found else None
