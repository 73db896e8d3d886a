"""Temp directories named by their writer (pid and host), and removal of those whose writer died.

Stages and sample-cache entries are written into ``.NAME.tmp.PID@HOST.XXXXXXXX`` next to their
final place and renamed into it. A writer killed (``kill -9``, power loss) leaves its temp
directory behind; a later start removes it once that pid no longer runs on this host. Temp
directories of other hosts (a cache on a shared file system) are left alone: their pid cannot be
checked from here.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

_TEMP = re.compile(r"^\..+\.tmp\.(?P<pid>\d+)@(?P<host>[^/]+)\.[0-9a-f]{8}$")


def temp_path(final: Path) -> Path:
    """A fresh temp path beside ``final``, named by this process."""
    return final.parent / f".{final.name}.tmp.{os.getpid()}@{socket.gethostname()}.{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temps(root: Path, depth: int = 2) -> list[Path]:
    """Remove the temp directories (and files) of dead writers up to ``depth`` levels under ``root``."""
    root, host, removed = Path(root), socket.gethostname(), []
    level = [root] if root.is_dir() else []
    for _ in range(depth):
        below = []
        for folder in level:
            for entry in folder.iterdir():
                match = _TEMP.match(entry.name)
                if match is None:
                    if entry.is_dir() and not entry.name.startswith("."):
                        below.append(entry)
                elif match["host"] == host and not _alive(int(match["pid"])):
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed.append(entry)
        level = below
    for entry in removed:
        log.warning("removed %s, left by writer pid %s that is gone", entry, _TEMP.match(entry.name)["pid"])
    return removed
