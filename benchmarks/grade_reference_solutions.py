"""Sanity check of the grader on MATH-500 reference solutions.

Grades ``grade(row.answer, row.solution)`` on all rows (should accept all) and on the shifted
pairs (answer of problem i, solution of problem i+1, wrapping; should accept none), and lists
every failure. Run: ``python benchmarks/grade_reference_solutions.py [path/to/math500.jsonl]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from vbvf.tasks.math import GradingPool, load_problems


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width // 2 - 2] + " .. " + text[-width // 2 + 2 :]


def main(path: Path) -> None:
    problems = load_problems(path=str(path))
    shifted = problems[1:] + problems[:1]
    start = time.perf_counter()
    with GradingPool(timeout_s=5) as pool:
        own = pool.grade([(p.answer, p.solution) for p in problems])
        cross = pool.grade([(p.answer, q.solution) for p, q in zip(problems, shifted)])
    seconds = time.perf_counter() - start
    print(f"{len(problems)} rows from {path}; graded {2 * len(problems)} pairs in {seconds:.1f} s")
    print(f"own solution accepted: {sum(own)}/{len(own)}")
    for p, ok in zip(problems, own):
        if not ok:
            print(f"  rejected {p.unique_id}: answer {_short(p.answer)!r}")
    print(f"next problem's solution wrongly accepted: {sum(cross)}/{len(cross)}")
    for p, q, ok in zip(problems, shifted, cross):
        if ok:
            print(f"  accepted {p.unique_id}: answer {_short(p.answer)!r} vs {q.unique_id} {_short(q.answer)!r}")


if __name__ == "__main__":
    default = Path(os.environ.get("VBVF_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default / "math500.jsonl")
