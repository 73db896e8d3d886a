"""A grading worker: a plain subprocess that answers ``(fn, args, default)`` tasks on a socket.

:class:`vbvf.tasks.math.grading.GradingPool` starts it as
``python -m vbvf.tasks.math.grading_worker FD``, so it never imports the caller's main module:
grading works from any script, guarded by ``if __name__ == "__main__":`` or not. Its first
message is the parent's ``sys.path`` (so it imports the same code); it answers "ready" once
math-verify is loaded and exits when told to stop or when the parent goes away.
"""

from __future__ import annotations

import socket
import sys
from multiprocessing.connection import Connection


def serve(conn: Connection) -> None:
    sys.path[:] = conn.recv()
    import vbvf.tasks.math.grading  # noqa: F401 - load math-verify before saying ready

    conn.send("ready")
    while (task := conn.recv()) is not None:
        fn, args, default = task
        try:
            result = fn(*args)
        except BaseException:  # noqa: BLE001 - a worker must answer for any input
            result = default
        conn.send(result)


if __name__ == "__main__":
    channel = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(Connection(channel.detach()))
    except (EOFError, OSError):  # the parent closed the socket or died
        pass
