import json

import pytest

from vbvf.tasks.math.answers import extract_answer
from vbvf.tasks.math.data import ProblemFileError, load_problems, read_jsonl, select

ROW = {
    "problem": "What is 1+1?",
    "solution": r"It is $\boxed{2}$.",
    "answer": "2",
    "subject": "Algebra",
    "level": 1,
    "unique_id": "train/algebra/1.json",
}


def write_rows(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_reads_and_filters(tmp_path):
    rows = [
        ROW,
        {**ROW, "unique_id": "test/algebra/2.json", "level": 3},
        {**ROW, "unique_id": "train/geometry/3.json", "subject": "Geometry", "level": None},
    ]
    path = write_rows(tmp_path / "p.jsonl", rows)
    problems = read_jsonl(path)
    assert [p.unique_id for p in problems] == [r["unique_id"] for r in rows]
    assert [p.unique_id for p in load_problems(path=str(path), unique_id_prefix="train/")] == [
        "train/algebra/1.json",
        "train/geometry/3.json",
    ]
    assert [p.level for p in select(problems, subjects=["Algebra"], levels=[3])] == [3]
    assert len(select(problems, max_problems=2)) == 2


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ProblemFileError, match="nope.jsonl: no such file"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_bad_json_names_file_and_line(tmp_path):
    path = write_rows(tmp_path / "bad.jsonl", [ROW, ROW, '{"problem": "x",'])
    with pytest.raises(ProblemFileError, match=r"bad\.jsonl:3: invalid JSON"):
        read_jsonl(path)


@pytest.mark.parametrize(
    "row, message",
    [
        ({k: v for k, v in ROW.items() if k != "answer"}, r"f\.jsonl:2: missing field 'answer'"),
        ({**ROW, "level": "5"}, r"f\.jsonl:2: field 'level' must be int or NoneType, got str"),
        ({**ROW, "level": True}, r"f\.jsonl:2: field 'level'"),
        ({**ROW, "problem": None}, r"f\.jsonl:2: field 'problem' must be str, got NoneType"),
        ([1, 2], r"f\.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = write_rows(tmp_path / "f.jsonl", [ROW, row])
    with pytest.raises(ProblemFileError, match=message):
        read_jsonl(path)


def test_exactly_one_source():
    with pytest.raises(ValueError):
        load_problems()
    with pytest.raises(ValueError):
        load_problems(path="a.jsonl", hub_id="HuggingFaceH4/MATH-500")


def test_math500_file(data_dir):
    problems = load_problems(path=str(data_dir / "math500.jsonl"))
    assert len(problems) == 500 and len({p.unique_id for p in problems}) == 500
    assert all(extract_answer(p.solution) == p.answer for p in problems)


def test_math_train_split(data_dir):
    train = load_problems(path=str(data_dir / "math_train.jsonl"), unique_id_prefix="train/")
    assert len(train) == 7500
    assert {p.level for p in train} == {1, 2, 3, 4, 5, None}
