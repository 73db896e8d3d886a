"""The arithmetic ladder: MATH-format rows whose boxed gold is right, disjoint seeded splits,
levels balanced in every prefix, and the jsonl the CLI writes reads back through the loader."""

import subprocess
import sys
from collections import Counter

import pytest

from vbvf.tasks.math import extract_answer, load_problems, read_jsonl
from vbvf.tasks.math.ladder import LEVELS, ladder


def _evaluate(problem: str) -> int:
    expression = problem.removeprefix("What is $").removesuffix("$?").replace("\\times", "*")
    return eval(expression, {"__builtins__": {}})  # our own generated arithmetic, digits and + - * ( ) only


def test_rows_are_math_format_and_their_answers_are_right():
    problems = ladder("train", 30, seed=1)
    assert len(problems) == 150 and len({p.unique_id for p in problems}) == 150
    for p in problems:
        assert extract_answer(p.solution) == p.answer == str(_evaluate(p.problem))
        assert p.subject == "arithmetic" and p.unique_id.startswith(f"ladder/train/L{p.level}/")
    assert [p.level for p in problems[:10]] == [1, 2, 3, 4, 5] * 2  # round-robin: any prefix is balanced
    assert Counter(p.level for p in problems) == {level: 30 for level in LEVELS}


def test_splits_are_disjoint_and_seeded():
    test = {p.problem for p in ladder("test", 16)}
    for seed in (0, 1):
        assert not test & {p.problem for p in ladder("train", 80, seed=seed)}
    assert ladder("test", 16) == ladder("test", 16)
    assert ladder("train", 20, seed=0) != ladder("train", 20, seed=1)
    with pytest.raises(ValueError, match="level 1 has only"):
        ladder("test", 500, levels=[1])


def test_loader_and_cli_give_the_same_problems(tmp_path):
    kwargs = {"split": "test", "per_level": 4, "levels": [2, 5], "seed": 3}
    loaded = load_problems(ladder=kwargs, levels=[5])
    assert [p.level for p in loaded] == [5] * 4
    with pytest.raises(ValueError, match="exactly one of"):
        load_problems(path="a.jsonl", ladder=kwargs)
    subprocess.run([sys.executable, "-m", "vbvf.tasks.math.ladder", str(tmp_path), "--train-per-level", "5",
                    "--test-per-level", "4", "--seed", "0"], check=True, capture_output=True)
    assert read_jsonl(tmp_path / "ladder_test.jsonl") == ladder("test", 4)
    assert len(read_jsonl(tmp_path / "ladder_train.jsonl")) == 25
