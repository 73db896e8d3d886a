"""Fixture MATH problems (simple answers) written as a jsonl file, for tests that run pipelines."""

import json
from pathlib import Path

ANSWERS = ["2", "6", "\\frac12", "9", "12", "5", "7", "3", "10", "4"]


def write_problems(path: Path, n: int, prefix: str = "fixture/") -> Path:
    """``n`` problems "What is a + b?" with their answers, in the MATH jsonl format."""
    rows = []
    for i in range(n):
        answer = ANSWERS[i % len(ANSWERS)]
        rows.append({
            "problem": f"Problem {i}: what is the value of $x$ if $x = {answer}$?",
            "solution": f"Since $x = {answer}$, the answer is $\\boxed{{{answer}}}$.",
            "answer": answer, "subject": "Algebra", "level": 1 + i % 5, "unique_id": f"{prefix}{i}.json",
        })
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
