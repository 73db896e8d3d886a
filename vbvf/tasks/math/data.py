"""MATH problems from a local jsonl file or a Hugging Face hub dataset, validated and filtered.

Rows carry ``problem, solution, answer, subject, level, unique_id``. A bad row raises
:class:`ProblemFileError` naming the source, the line (or row) number and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from vbvf.tasks.math.answers import extract_answer

FIELDS: dict[str, tuple[type, ...]] = {
    "problem": (str,),
    "solution": (str,),
    "answer": (str,),
    "subject": (str,),
    "level": (int, type(None)),  # two MATH-train rows have level "?" (null)
    "unique_id": (str,),
}


class ProblemFileError(ValueError):
    """A MATH source that is missing or has a malformed row."""


@dataclass(frozen=True)
class Problem:
    """One MATH problem with its reference solution and final answer."""

    problem: str
    solution: str
    answer: str
    subject: str
    level: int | None
    unique_id: str


def _problem(row: Any, where: str) -> Problem:
    if not isinstance(row, Mapping):
        raise ProblemFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for name, types in FIELDS.items():
        if name not in row:
            raise ProblemFileError(f"{where}: missing field {name!r}")
        if not isinstance(row[name], types) or isinstance(row[name], bool):
            raise ProblemFileError(
                f"{where}: field {name!r} must be {' or '.join(t.__name__ for t in types)}, "
                f"got {type(row[name]).__name__}"
            )
    return Problem(**{name: row[name] for name in FIELDS})


def read_jsonl(path: str | Path) -> list[Problem]:
    """All problems of a local jsonl file (one JSON object per line; blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise ProblemFileError(f"{path}: no such file")
    problems = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ProblemFileError(f"{path}:{number}: invalid JSON ({err.msg})") from err
            problems.append(_problem(row, f"{path}:{number}"))
    return problems


def load_hub(dataset_id: str, split: str = "test") -> list[Problem]:
    """Problems of a hub dataset (e.g. ``HuggingFaceH4/MATH-500``) via ``datasets.load_dataset``.

    Datasets without an ``answer`` column get it from the last box of ``solution``; ones
    without ``unique_id`` get ``<split>/<row>``; a ``type`` column stands in for ``subject`` and
    levels written "Level N" become ints.
    """
    from datasets import load_dataset

    problems = []
    for number, row in enumerate(load_dataset(dataset_id, split=split)):
        row = dict(row)
        row.setdefault("answer", extract_answer(row.get("solution", "")) or "")
        row.setdefault("unique_id", f"{split}/{number}")
        row.setdefault("subject", row.get("type", ""))
        if isinstance(row.get("level"), str):  # hendrycks-style "Level 3"
            digits = row["level"].removeprefix("Level ").strip()
            row["level"] = int(digits) if digits.isdigit() else None
        problems.append(_problem(row, f"{dataset_id}[{split}] row {number}"))
    return problems


def select(
    problems: Iterable[Problem],
    unique_id_prefix: str | None = None,
    subjects: Sequence[str] | None = None,
    levels: Sequence[int] | None = None,
    max_problems: int | None = None,
) -> list[Problem]:
    """Problems passing every given filter, in source order, at most ``max_problems``."""
    kept = [
        p
        for p in problems
        if (unique_id_prefix is None or p.unique_id.startswith(unique_id_prefix))
        and (subjects is None or p.subject in subjects)
        and (levels is None or p.level in levels)
    ]
    return kept if max_problems is None else kept[:max_problems]


def load_problems(
    path: str | None = None,
    hub_id: str | None = None,
    split: str = "test",
    unique_id_prefix: str | None = None,
    subjects: Sequence[str] | None = None,
    levels: Sequence[int] | None = None,
    max_problems: int | None = None,
    ladder: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Load from exactly one of a local ``path``, a ``hub_id`` or the arithmetic ``ladder``
    (``LadderConfig`` fields), then apply the filters."""
    if sum(source is not None for source in (path, hub_id, ladder)) != 1:
        raise ValueError("give exactly one of path= (local jsonl), hub_id= (hub dataset) or ladder= (arithmetic ladder)")
    if ladder is not None:
        from vbvf.tasks.math.ladder import ladder as generate  # the ladder builds Problems: import here, not at the top

        problems = generate(**ladder)
    else:
        problems = read_jsonl(path) if path is not None else load_hub(hub_id, split)
    return select(problems, unique_id_prefix, subjects, levels, max_problems)
