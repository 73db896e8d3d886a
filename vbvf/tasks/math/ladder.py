"""An arithmetic ladder in the MATH format: a real-LM testbed that needs no download.

Five levels by digits and number of operations:

1. a + b or a − b, one-digit numbers
2. a + b or a − b, two-digit numbers
3. a × b, times tables (2..12)
4. a × b − c, one-digit factors, two-digit c
5. (a + b) × c − d, two-digit a, b, d and one-digit c

Each problem carries a worked solution ending in ``\\boxed{answer}``, its answer, level, subject
``arithmetic`` and a unique id. The split is a property of the problem itself (a hash of its
text), so train and test are disjoint whatever their sizes and seeds; ``seed`` only orders the
draw. ``python -m vbvf.tasks.math.ladder OUT_DIR`` writes ``ladder_train.jsonl`` and
``ladder_test.jsonl``; ``data.*.ladder`` (``math_data=ladder``) generates them in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from vbvf.tasks.math.data import Problem

LEVELS = (1, 2, 3, 4, 5)
SPLITS = ("train", "test")
TEST_SHARE = 0.2  # share of all problems of a level whose hash puts them in the test split


def _sum_or_difference(rng: random.Random, low: int, high: int) -> tuple[str, str, int]:
    a, b = rng.randint(low, high), rng.randint(low, high)
    if rng.random() < 0.5:
        return f"What is ${a} + {b}$?", f"${a} + {b} = {a + b}$.", a + b
    a, b = max(a, b), min(a, b)
    return f"What is ${a} - {b}$?", f"${a} - {b} = {a - b}$.", a - b


def _level1(rng: random.Random) -> tuple[str, str, int]:
    return _sum_or_difference(rng, 1, 9)


def _level2(rng: random.Random) -> tuple[str, str, int]:
    return _sum_or_difference(rng, 10, 99)


def _level3(rng: random.Random) -> tuple[str, str, int]:
    a, b = rng.randint(2, 12), rng.randint(2, 12)
    return f"What is ${a} \\times {b}$?", f"${a} \\times {b} = {a * b}$.", a * b


def _level4(rng: random.Random) -> tuple[str, str, int]:
    a, b, c = rng.randint(2, 9), rng.randint(2, 9), rng.randint(10, 40)
    p = a * b
    return (f"What is ${a} \\times {b} - {c}$?",
            f"First, ${a} \\times {b} = {p}$. Then ${p} - {c} = {p - c}$.", p - c)


def _level5(rng: random.Random) -> tuple[str, str, int]:
    a, b, c, d = rng.randint(10, 49), rng.randint(10, 49), rng.randint(2, 9), rng.randint(10, 99)
    s = a + b
    p = s * c
    return (f"What is $({a} + {b}) \\times {c} - {d}$?",
            f"First, ${a} + {b} = {s}$. Then ${s} \\times {c} = {p}$. Finally, ${p} - {d} = {p - d}$.", p - d)


GENERATORS: dict[int, Callable[[random.Random], tuple[str, str, int]]] = dict(zip(LEVELS, (_level1, _level2, _level3, _level4, _level5)))


def split_of(problem: str) -> str:
    """``test`` for a fixed TEST_SHARE of problem texts, ``train`` for the rest (by sha256)."""
    h = int.from_bytes(hashlib.sha256(problem.encode()).digest()[:8], "big")
    return "test" if h / 2**64 < TEST_SHARE else "train"


def ladder(split: str = "train", per_level: int = 100, levels: Sequence[int] = LEVELS, seed: int = 0) -> list[Problem]:
    """``per_level`` distinct problems of each level in ``split``, drawn in an order fixed by ``seed``.

    Problems are listed round-robin over levels (level 1, 2, …, 5, 1, 2, …), so any prefix of the
    list is balanced across levels.
    """
    if split not in SPLITS:
        raise ValueError(f"ladder split={split!r}: expected one of {SPLITS}")
    if unknown := set(levels) - set(LEVELS):
        raise ValueError(f"ladder levels: unknown {sorted(unknown)}; choose from {list(LEVELS)}")
    by_level = []
    for level in levels:
        rng, seen, rows = random.Random(f"ladder-{seed}-{level}"), set(), []
        for _ in range(200 * per_level + 2000):
            if len(rows) == per_level:
                break
            problem, work, answer = GENERATORS[level](rng)
            if problem in seen or split_of(problem) != split:
                continue
            seen.add(problem)
            uid = f"ladder/{split}/L{level}/{hashlib.sha256(problem.encode()).hexdigest()[:10]}"
            rows.append(Problem(problem, f"{work}\nThe answer is $\\boxed{{{answer}}}$.", str(answer), "arithmetic", level, uid))
        if len(rows) < per_level:
            raise ValueError(f"ladder level {level} has only {len(rows)} distinct {split} problems; lower per_level={per_level}")
        by_level.append(rows)
    return [rows[i] for i in range(per_level) for rows in by_level]


def write_jsonl(problems: Sequence[Problem], path: Path) -> Path:
    """Problems as MATH-format jsonl (one object per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(p)) + "\n" for p in problems), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the arithmetic ladder as MATH-format jsonl files.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--train-per-level", type=int, default=80)
    parser.add_argument("--test-per-level", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for split, n in (("train", args.train_per_level), ("test", args.test_per_level)):
        print(write_jsonl(ladder(split, n, seed=args.seed), args.out_dir / f"ladder_{split}.jsonl"))


if __name__ == "__main__":
    main()
