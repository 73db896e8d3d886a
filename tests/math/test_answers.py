import pytest

from vbvf.tasks.math.answers import answer_key, extract_answer, is_numeric_key


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"so $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)"),
        (r"nested \boxed{\{1, \{2\}\}} done", r"\{1, \{2\}\}"),
        (r"\boxed{x^{2^{3}}}", r"x^{2^{3}}"),
        (r"The answer is $\boxed 5$.", "5"),
        (r"\fbox{7}", "7"),
        (r"first \boxed{1} then \boxed{2}", "2"),
        (r"first \boxed{1} then \fbox{3}", "3"),
        (r"\boxed{1} and an unclosed \boxed{2", "1"),
        ("no box here, answer 4", None),
        (r"\boxed{}", ""),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "variants",
    [
        [r"\frac{1}{2}", r"\dfrac{1}{2}", r"\tfrac12", "0.5", "1/2", ".5", r"\frac{2}{4}"],
        [r"-\frac{3}{4}", r"\frac{-3}{4}", "-0.75"],
        ["10000", r"10,\!000", "10,000", r"\$10000"],
        [r"90^\circ", r"90^{\circ}", "90", r"90\text{ degrees}"],
        [r"5\text{ cm}", "5", "5.", "x = 5", "x=5"],
        [r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})", r"(3, \dfrac{\pi}{2})"],
        [r"\text{(A)}", "(A)"],
        ["50\\%", "50"],
        [r"\begin{pmatrix} -7 \\ 16 \end{pmatrix}", r"\begin{pmatrix}-7\\16\end{pmatrix}"],
    ],
)
def test_equivalent_variants_share_a_key(variants):
    assert len({answer_key(v) for v in variants}) == 1, {v: answer_key(v) for v in variants}


@pytest.mark.parametrize("a, b", [("1/2", "0.25"), ("(1,2)", "[1,2]"), ("x+1", "x-1"), ("12", "1,2"), ("3", "-3")])
def test_different_answers_get_different_keys(a, b):
    assert answer_key(a) != answer_key(b)


def test_numeric_keys_are_exact_rationals():
    assert answer_key("0.125") == "1/8"
    assert is_numeric_key(answer_key(r"\frac{6}{4}"))
    assert not is_numeric_key(answer_key(r"\sqrt{2}"))
