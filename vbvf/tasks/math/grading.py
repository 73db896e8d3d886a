"""Grade MATH answers with math-verify in worker processes with a hard per-item timeout.

math-verify's own timeouts use ``signal.alarm``, which only works in a main thread and cannot
interrupt sympy stuck in C code. Here every item runs in a worker subprocess
(:mod:`vbvf.tasks.math.grading_worker`, which never imports the caller's main module); a worker
that overruns its deadline is killed and replaced, and the item counts as not matching, so a
batch always finishes. Nothing here raises on model output.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Sequence

import sympy
from math_verify import parse, verify

from vbvf.tasks.math.answers import answer_key, clean_answer, extract_answer

DEFAULT_TIMEOUT_S = 5.0
STARTUP_TIMEOUT_S = 120.0


def answers_match(gold: str | None, pred: str | None, timeout_s: int = 5, set_relation: bool = True) -> bool:
    """Equivalence of two bare answers, gold first (runs inside a worker).

    Equal :func:`answer_key` keys match (so voting's groups agree with grading); otherwise
    math-verify decides on the cleaned answers. ``set_relation`` lets a gold ``x \\in [-2,7]``
    match ``-2 \\le x \\le 7`` (math-verify's ``allow_set_relation_comp``). Answers that divide
    by zero (``0/0 x``) only match by key: math-verify's verdicts on them changed with the hash
    seed.
    """
    if gold is None or pred is None:
        return False
    gold_key, pred_key = answer_key(gold), answer_key(pred)
    if not gold_key or not pred_key:
        return False
    if gold_key == pred_key:
        return True
    gold_parsed = parse(f"\\boxed{{{clean_answer(gold)}}}", parsing_timeout=timeout_s)
    pred_parsed = parse(f"\\boxed{{{clean_answer(pred)}}}", parsing_timeout=timeout_s)
    if _undefined(gold_parsed) or _undefined(pred_parsed):
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout_s, allow_set_relation_comp=set_relation))


def _undefined(parsed: list) -> bool:
    """True where a parsed answer holds NaN, complex infinity or a division by zero (math-verify
    keeps ``0/0 x`` unevaluated as ``0 * (0 x)^-1``; simplifying it depends on term order)."""
    return any(isinstance(p, sympy.Basic) and any(map(_undefined_node, sympy.preorder_traversal(p))) for p in parsed)


def _undefined_node(node: sympy.Basic) -> bool:
    if node in (sympy.nan, sympy.zoo):
        return True
    return isinstance(node, sympy.Pow) and bool(node.exp.is_negative) and bool(node.base.is_zero)


class _Worker:
    """A :mod:`vbvf.tasks.math.grading_worker` subprocess and its end of the socket."""

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        command = [sys.executable, "-m", "vbvf.tasks.math.grading_worker", str(child.fileno())]
        self.process = subprocess.Popen(command, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        self.conn = Connection(parent.detach())
        self.conn.send(sys.path)
        self.ready = False

    def wait_ready(self) -> _Worker:
        """Block until the worker has started; raise if it cannot (never grade silently wrong)."""
        try:
            if self.ready or (self.conn.poll(STARTUP_TIMEOUT_S) and self.conn.recv() == "ready"):
                self.ready = True
                return self
        except (EOFError, OSError):
            pass
        self.kill()
        raise RuntimeError("a grading worker failed to start (python -m vbvf.tasks.math.grading_worker)")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
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
    """A fixed set of worker processes; ``map`` gives each item at most ``timeout_s`` seconds.

    Workers start in parallel; a replaced worker starts while the others keep grading.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, set_relation: bool = True) -> None:
        self.timeout_s, self.set_relation = timeout_s, set_relation
        started = [_Worker() for _ in range(workers or default_workers())]
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
                idle.sort(key=lambda w: w.ready)  # started workers first, fresh ones may still load
                worker, (index, args) = idle.pop().wait_ready(), pending.popleft()
                try:
                    worker.conn.send((fn, args, default))
                except OSError:  # the worker died between items: send to a fresh one
                    worker = self._replace(worker).wait_ready()
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
        return self.map(answers_match, [(gold, pred, seconds, self.set_relation) for gold, pred in pairs])

    def grade(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """Correctness of each (gold answer, completion): extract the last box, then match."""
        extracted = [(gold, None if completion is None else extract_answer(completion)) for gold, completion in pairs]
        todo = [i for i, (gold, pred) in enumerate(extracted) if gold is not None and pred is not None]
        matched = self.match([extracted[i] for i in todo])
        correct = [False] * len(pairs)
        for i, ok in zip(todo, matched):
            correct[i] = ok
        return correct

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        fresh = _Worker()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            try:
                worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.conn.close()
        self._workers = []

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def grade_batch(
    pairs: Sequence[tuple[str | None, str | None]],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    set_relation: bool = True,
) -> list[bool]:
    """Grade (gold answer, completion) pairs in a temporary pool sized to the cores."""
    with GradingPool(min(workers or default_workers(), max(1, len(pairs))), timeout_s, set_relation) as pool:
        return pool.grade(pairs)


def grade(
    gold_answer: str | None, completion: str | None, timeout_s: float = DEFAULT_TIMEOUT_S, set_relation: bool = True
) -> bool:
    """True iff the last boxed answer in ``completion`` is equivalent to ``gold_answer``."""
    if gold_answer is None or completion is None:
        return False
    return grade_batch([(gold_answer, completion)], timeout_s, workers=1, set_relation=set_relation)[0]
