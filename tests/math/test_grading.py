import os
import time

import pytest

from vbvf.tasks.math.grading import GradingPool, grade, grade_batch

EQUIVALENT = [
    (r"\frac{1}{2}", r"Thus $\boxed{0.5}$."),
    ("0.5", r"\boxed{\dfrac{1}{2}}"),
    (r"\dfrac{3}{4}", r"\boxed{\frac34}"),
    (r"[1, 2)", r"\boxed{[1,2)}"),
    (r"(-\infty, 0] \cup [3, \infty)", r"\boxed{(-\infty,0]\cup[3,\infty)}"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"\boxed{(3, \pi/2)}"),
    (r"90^\circ", r"\boxed{90}"),
    (r"5\text{ cm}", r"\boxed{5}"),
    (r"\frac{\sqrt{2}}{2}", r"\boxed{\frac{1}{\sqrt{2}}}"),
    ("x^2+2x+1", r"\boxed{(x+1)^2}"),
]
WRONG = [
    (r"\frac{1}{2}", r"\boxed{0.51}"),
    ("(1, 2)", r"\boxed{(2, 1)}"),
    ("[1, 2)", r"\boxed{(1, 2]}"),
    ("3", r"the answer is 3"),  # no box: nothing to grade
    ("3", r"\boxed{}"),
    ("", r"\boxed{0}"),
    ("x+1", r"\boxed{x-1}"),
]


@pytest.fixture(scope="module")
def pool():
    with GradingPool(workers=2, timeout_s=5) as pool:
        yield pool


def test_equivalent_forms_are_accepted(pool):
    assert pool.grade(EQUIVALENT) == [True] * len(EQUIVALENT)


def test_wrong_answers_are_rejected(pool):
    assert pool.grade(WRONG) == [False] * len(WRONG)


def test_grade_and_grade_batch_agree():
    assert grade("42", r"so \boxed{42}.") is True
    assert grade_batch([("42", r"\boxed{42}"), ("42", r"\boxed{43}")], timeout_s=5, workers=2) == [True, False]


def test_pathological_input_times_out_and_the_batch_goes_on():
    # a power tower sympy tries to evaluate: hangs far beyond the budget without a hard kill
    items = [("1", r"\boxed{9^{9^{9^{9^{9}}}}}"), ("2", r"\boxed{2}")]
    start = time.monotonic()
    assert grade_batch(items, timeout_s=1.0, workers=1) == [False, True]
    assert time.monotonic() - start < 4.0


def spin_forever(*_):
    while True:
        pass


def test_hung_worker_is_killed_and_replaced():
    with GradingPool(workers=1, timeout_s=0.5) as pool:
        start = time.monotonic()
        assert pool.map(spin_forever, [(), ()], default="timeout") == ["timeout", "timeout"]
        assert time.monotonic() - start < 3.0
        assert pool.match([("7", "7")]) == [True]


def raise_error(*_):
    raise RuntimeError("boom")


def test_worker_errors_give_the_default(pool):
    assert pool.map(raise_error, [()], default=False) == [False]


def die(*_):
    os._exit(1)


def test_a_worker_that_dies_is_replaced():
    with GradingPool(workers=1, timeout_s=5) as pool:
        assert pool.map(die, [()], default="dead") == ["dead"]
        assert pool.match([("7", "7"), ("7", "8")]) == [True, False]
