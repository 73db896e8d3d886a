"""Grade MATH answers with math-verify in worker processes with a hard per-item timeout.

math-verify's own timeouts use ``signal.alarm``, which only works in a main thread and cannot
interrupt sympy stuck in C code. Here every item runs in a worker process; a worker that
overruns its deadline is killed and replaced, and the item counts as not matching, so a batch
always finishes. Nothing here raises on model output.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Any, Callable, Sequence

from math_verify import parse, verify

from vbvf.tasks.math.answers import extract_answer

DEFAULT_TIMEOUT_S = 5.0
STARTUP_TIMEOUT_S = 120.0


def answers_match(gold: str, pred: str, timeout_s: int = 5) -> bool:
    """math-verify equivalence of two bare answers, gold first (runs inside a worker)."""
    if not gold.strip() or not pred.strip():
        return False
    gold_parsed = parse(f"\\boxed{{{gold}}}", parsing_timeout=timeout_s)
    pred_parsed = parse(f"\\boxed{{{pred}}}", parsing_timeout=timeout_s)
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout_s))


def _worker_loop(conn) -> None:
    conn.send("ready")
    while (task := conn.recv()) is not None:
        fn, args, default = task
        try:
            result = fn(*args)
        except BaseException:  # noqa: BLE001 - a worker must answer for any input
            result = default
        conn.send(result)


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_loop, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self) -> _Worker:
        """Block until the worker has started; raise if it cannot (never grade silently wrong)."""
        try:
            if self.conn.poll(STARTUP_TIMEOUT_S) and self.conn.recv() == "ready":
                return self
        except (EOFError, OSError):
            pass
        self.kill()
        raise RuntimeError(
            "a grading worker failed to start; workers re-import the main module (forkserver), "
            "so it must import cleanly and guard its entry with `if __name__ == '__main__':`"
        )

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


def _receive(worker: _Worker, results: list, index: int) -> bool:
    """Store the worker's answer; False when the worker died instead of answering."""
    try:
        results[index] = worker.conn.recv()
    except (EOFError, OSError):
        return False
    return True


def default_workers() -> int:
    """Number of cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class GradingPool:
    """A fixed set of worker processes; ``map`` gives each item at most ``timeout_s`` seconds."""

    def __init__(self, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload([__name__])
        started = [_Worker(self._ctx) for _ in range(workers or default_workers())]
        try:
            self._workers = [worker.wait_ready() for worker in started]
        except RuntimeError:
            for worker in started:
                worker.kill()
            raise

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], default: Any = False) -> list:
        """``[fn(*item) for item in items]`` in the workers; ``default`` on error or timeout."""
        results = [default] * len(items)
        pending = deque(enumerate(items))
        idle = list(self._workers)
        busy: dict[_Worker, tuple[int, float]] = {}
        while pending or busy:
            while idle and pending:
                worker, (index, args) = idle.pop(), pending.popleft()
                try:
                    worker.conn.send((fn, args, default))
                except OSError:  # the worker died between items: send to a fresh one
                    worker = self._replace(worker)
                    worker.conn.send((fn, args, default))
                busy[worker] = (index, time.monotonic() + self.timeout_s)
            next_deadline = min(deadline for _, deadline in busy.values())
            ready = set(wait([w.conn for w in busy], timeout=max(0.0, next_deadline - time.monotonic())))
            now = time.monotonic()
            for worker, (index, deadline) in list(busy.items()):
                if worker.conn not in ready and deadline > now:
                    continue
                del busy[worker]
                received = worker.conn in ready and _receive(worker, results, index)
                idle.append(worker if received else self._replace(worker))
        return results

    def match(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """:func:`answers_match` over (gold, pred) answer pairs."""
        seconds = max(1, int(self.timeout_s))
        return self.map(answers_match, [(gold, pred, seconds) for gold, pred in pairs])

    def grade(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """Correctness of each (gold answer, completion): extract the last box, then match."""
        extracted = [(gold, extract_answer(completion)) for gold, completion in pairs]
        todo = [i for i, (_, pred) in enumerate(extracted) if pred is not None]
        matched = self.match([extracted[i] for i in todo])
        correct = [False] * len(pairs)
        for i, ok in zip(todo, matched):
            correct[i] = ok
        return correct

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker(self._ctx).wait_ready()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(timeout=1)
            if worker.process.is_alive():
                worker.process.kill()
        self._workers = []

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def grade_batch(
    pairs: Sequence[tuple[str, str]], timeout_s: float = DEFAULT_TIMEOUT_S, workers: int | None = None
) -> list[bool]:
    """Grade (gold answer, completion) pairs in a temporary pool sized to the cores."""
    with GradingPool(min(workers or default_workers(), max(1, len(pairs))), timeout_s) as pool:
        return pool.grade(pairs)


def grade(gold_answer: str, completion: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    """True iff the last boxed answer in ``completion`` is equivalent to ``gold_answer``."""
    return grade_batch([(gold_answer, completion)], timeout_s, workers=1)[0]
