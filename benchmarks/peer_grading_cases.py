"""Grading cases written by other projects, as data: (gold answer, completion, expected verdict).

Used by ``benchmarks/grading_agreement.py``. Only cases the kit is meant to handle are kept: a
bare gold answer against a completion whose answer sits in its last ``\\boxed{}``. Cases of
free-text extraction (no box: "the answer is 28 percent"), of a caller-chosen float precision,
or whose inputs are whole model transcripts are left out. Where a peer compares two bare
strings, the second one is boxed here. Verdicts are the peer's own (1 = equivalent).
"""

SOURCES = {
    "hendrycks": "hendrycks/math modeling/math_equivalence_test.py (is_equiv)",
    "math-verify": "huggingface/Math-Verify tests/test_all.py (verify, set-relation switch on where the test sets it)",
    "lm-eval": "EleutherAI/lm-evaluation-harness lm_eval/tasks/minerva_math/utils.py (normalize_final_answer + is_equiv): one case per normalisation rule",
    "qwen": "QwenLM/Qwen2.5-Math evaluation/grader.py (_test_math_equal pairs, verdicts as in Math-Verify's 'tests from qwen parser')",
}


def _boxed(answer: str) -> str:
    return f"The answer is $\\boxed{{{answer}}}$."


HENDRYCKS = [
    (r"\tfrac{1}{2} + \frac1{72}", _boxed(r"\\frac{1}{2} + 2/3"), 0),
    ("10, 4, -2", _boxed("4, 10, -2"), 0),
    ("10, 4, 2", _boxed("4, 12, 2"), 0),
    (r"\tfrac{1}{2} +\! \frac1{72}", _boxed(r"\dfrac{1}{2} +\frac{1}{72}"), 1),
    (r"10\text{ units}", _boxed("10 "), 1),
    (r"10\text{ units}", _boxed("100 "), 0),
    ("10", _boxed(r"\$10"), 1),
    (r"\left(x-2\right)\left(x+2\right)", _boxed("(x-2)(x+2)"), 1),
    ("0.1, 4, 2", _boxed("4, .1, 2"), 0),
    ("0.1", _boxed(".1"), 1),
    (r"10\%", _boxed("10"), 1),
    (r"10\sqrt{3} + \sqrt4", _boxed(r"10\sqrt3 + \sqrt{4}"), 1),
    (r"\frac34i", _boxed(r"\frac{3}{4}i"), 1),
    (r"\tfrac83", _boxed(r"\frac{8}{3}"), 1),
    ("5x - 7y + 11z + 4 = 0", _boxed("x + y - z + 2 = 0"), 0),
    ("1/2", _boxed(r"\frac{1}{2}"), 1),
]

MATH_VERIFY = [
    # test_number_extraction (boxed)
    ("-5", _boxed("-5"), 1),
    ("7425000", _boxed("7,425,000"), 1),
    ("1000", _boxed("1 000"), 1),
    ("1000", _boxed("1000.0"), 1),
    ("1000.0", _boxed("1,000.0"), 1),
    ("0.4", _boxed(".4"), 1),
    ("1000.99", _boxed("1,000.99"), 1),
    ("1000.99", _boxed(r"\$1,000.99"), 1),
    # test_simple_fraction_notation
    ("10/9", _boxed(r"\frac{10}{9}"), 1),
    ("-10/9", _boxed(r"-\frac{10}{9}"), 1),
    # test_sets_handling
    ("[0,1)", _boxed("[0,1)"), 1),
    ("[0,9)", _boxed("[0,1)"), 0),
    ("(0,9)", _boxed("[0,9)"), 0),
    ("1", _boxed("-[0,1)"), 0),
    # test_latex_notation
    ("10", _boxed("(9+1)"), 1),
    ("1/3", _boxed(r"\frac13"), 1),
    ("1", _boxed(r"\frac3{3}"), 1),
    (r"\sqrt{3}", _boxed(r"\sqrt3"), 1),
    ("1/3", _boxed(r"\cfrac{1}{3}"), 1),
    ("1/3", _boxed(r"\dfrac{1}{3}"), 1),
    ("1/3", _boxed(r"\tfrac{1}{3}"), 1),
    ("1/3", _boxed("1/3"), 1),
    ("1/3", _boxed(r"\left( \frac{1}{3} \right)"), 1),
    ("1/3", _boxed(r"\frac{1}{3} \text{meters}"), 1),
    ("1/3", _boxed(r"\frac{1}{3} \textbf{meters}"), 1),
    ("1/3", _boxed(r"k = \frac{1}{3}"), 1),
    # test_percent_notation (boxed forms)
    (r"28\%", r"$\boxed{28}$ pct", 1),
    (r"28\%", _boxed("28"), 1),
    ("0.28", _boxed("28"), 0),
    ("28/100", _boxed("28"), 0),
    ("28", _boxed("28/100"), 0),
    (r"\frac{28}{100}", _boxed("28"), 0),
    (r"28*\frac{1}{100}", _boxed("28"), 0),
    ("20", r"so the answer is $\boxed{20 \%}. $", 1),
    (r"20\%", r"$\boxed{20\%}$", 1),
    # test_latex_notation_math (answers of the boxed transcripts)
    ("2-2p", r"Thus $x-p=\boxed{2-2p}$.", 1),
    (r"\begin{pmatrix} 0 & 3 \\ 0 & -1 \end{pmatrix}", "\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.", 1),
    (r"14{,}916", r"Therefore, $\boxed{14{,}916}$ is our answer.", 1),
    (r"\left( 3, \frac{\pi}{2} \right)", r"the polar coordinates are $\boxed{\left( 3, \frac{\pi}{2} \right)}.$", 1),
    (r"\frac{14}{3}", r"$=2+\frac{5}{3}+1=\boxed{\frac{14}{3}}$", 1),
    (r"\text{Evelyn}", r"Therefore, $\boxed{\text{Evelyn}}$ is our answer.", 1),
    (r"90^\circ", r"the angle between the lines is $\boxed{90^\circ}.$", 1),
    (r"3\sqrt{13}", r"= \sqrt{117} = \boxed{3\sqrt{13}}.", 1),
    (r"\frac{3}{56}", r"\[p(8) = \boxed{\frac{3}{56}}.\]", 1),
    ("2", r"there are $\boxed{2}$ distinct possible values", 1),
    (r"15\mbox{ cm}^2", r"$$\frac{1}{2}\times 3 \times 10 = \boxed{15\mbox{ cm}^2}.$$", 1),
    ("-2,1", r"the only integer roots are $\boxed{-2,1}.$", 1),
    ("9", r"$129^{34}+96^{38} \equiv \boxed{9} \pmod{11}.$", 1),
    ("0", r"the degree of $p(x)$ is $\boxed{0}.$", 1),
    ("204_5", r"for a quotient of $\boxed{204_5}$.", 1),
    ("(6,31,-1)", r"we find $(p,q,r) = \boxed{(6,31,-1)}.$", 1),
    (r"1 \pm \sqrt{19}", r"By the quadratic formula, $x = \boxed{1 \pm \sqrt{19}}.$", 1),
    (r"3 \pm 2 \sqrt{2}", r"the roots are $x = \boxed{3 \pm 2 \sqrt{2}}.$", 1),
    (r"\{1\pm\sqrt{5},-2\}", r"so the answer is $\boxed{\{1\pm\sqrt{5},-2\}}.$", 1),
    ("f(2) < f(1) < f(4)", r"Hence, $\boxed{f(2) < f(1) < f(4)}.$", 1),
    (r"2 \sin b \cos a", r"\[\sin (a + b) - \sin (a - b) = \boxed{2 \sin b \cos a}.\]", 1),
    (r"\frac{\pi r}{h+r}", r"The answer is $\boxed{\frac{\pi r}{h+r}}$.", 1),
    ("125 miles", r"The distance is $\boxed{125\textnormal{ miles}}.$", 1),
    (
        r"[-1, -\frac{1}{2}) \cup (-\frac{1}{2}, 0) \cup (0, 1) \cup (1, \infty)",
        r"The solution set is $\boxed{[-1, -\tfrac12) \cup (-\tfrac12, 0) \cup (0, 1) \cup (1, \infty)}.$",
        1,
    ),
    (r"\sqrt{2}+\sqrt{5}", r"The answer is $\boxed{\sqrt 2+\sqrt 5}$", 1),
    (r"\frac{9}{4}\pi", r"Therefore $\boxed{\frac94\pi}$.", 1),
    (r"\{-1\} \cup [0,7)", r"x \in \boxed{\{-1\} \cup [0,7)}.$", 1),
    # test_relations_math (boxed)
    ("x >= 5", _boxed(r"x \geq 5"), 1),
    ("x < 3", _boxed(r"x \lt 3"), 1),
    (r"x \leq 2", _boxed("x <= 2"), 1),
    ("x > 5", _boxed(r"x \gt 5"), 1),
    ("x != 3", _boxed(r"x \neq 3"), 1),
    ("x > 5", _boxed("x < 5"), 0),
    (r"x \geq 5", _boxed(r"x \leq 5"), 0),
    (r"x \neq 5", _boxed("x != 5"), 1),
    (r"x \leq 5", _boxed(r"5 \geq x"), 1),
    (r"x \geq 5", _boxed(r"5 \leq x"), 1),
    ("x = 11", _boxed("x = 5+5+1 = 7 =11"), 1),
    ("7 = 11a+c", _boxed("11a+c"), 0),
    ("11", _boxed("x=11"), 1),
    ("11", _boxed(r"x\approx11"), 1),
    ("x < 1", _boxed("-x > -1"), 1),
    ("x < 1", _boxed("x > -1"), 0),
    ("x <= 1", _boxed("-x >= -1"), 1),
    ("a +3z = 0", _boxed("0"), 0),
    ("2x + z = 1", _boxed("1"), 0),
    ("a^2 + b = 0", _boxed("0"), 0),
    ("k=1", _boxed("1"), 1),
    ("1", _boxed("k=1"), 1),
    ("2x+4y-3=0", _boxed(r"y=-\frac{1}{2}x+\frac{3}{4}"), 1),
    ("x^2/4 + y^2/3 = 1", _boxed("x^2/16 + y^2/12 = 1/4"), 1),
    # test_matrix_extraction (boxed)
    (r"\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}", _boxed(r"\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}"), 1),
    (r"\begin{bmatrix}0 & 0 \\0 & 0\end{bmatrix}", _boxed(r"\begin{pmatrix}0 & 0 \\0 & 0\end{pmatrix}"), 1),
    (r"\begin{pmatrix}1 & 2 \\3 & 4\end{pmatrix}", _boxed(r"\left[\begin{array}{cc}1 & 2 \\3 & 4\end{array}\right]"), 1),
    (r"\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}", _boxed(r"\begin{pmatrix}1 & 2 \\ 3 & 5\end{pmatrix}"), 0),
    # test_complex_math_expressions at the default precision
    (r"\frac{1}{12}", _boxed("0.0833333333333333"), 1),
    (r"(1,\frac{9}{2})", _boxed("(1,4.5)"), 1),
    (r"\frac{x+2}{7}", _boxed(r"\frac{x}{7}+\frac{2}{7}"), 1),
    (r"\tan^2(y)+1", _boxed(r"\sec^2(y)"), 1),
    ("34x+45y-20z+100=0", _boxed("-34x-45y+20z-100=0"), 1),
    ("(a+5)(b+2)", _boxed("(+5)(b+2)"), 0),
    ("2", _boxed(r"\frac{1+\sqrt{5}}{2}"), 0),
    ("x+2n+1", _boxed("x+1"), 0),
    # test_math_extraction_edge_cases / additional cases (answers of the boxed transcripts)
    ("16386.20", r"worth $\boxed{\$16,\!386.20}$ at the end", 1),
    ("16386.17", r"worth $\boxed{\$16386.17}$ after 5 years.", 1),
    (r"\left(\frac{1}{5},\frac{1}{6}\right)", r"Thus, $(p,q) = \boxed{\left( \frac{1}{5}, \frac{1}{6} \right)}.$", 1),
    ("[-3,2]", r"which is $\boxed{(-\infty, -3] \cup [2, \infty)}$.", 0),
    (r"(\tfrac{27}{8},\tfrac{15}{8})", r"intersects $\overline{CD}$ is $\boxed{(0, 0)}$.", 0),
    (r"\left( \frac{4}{3}, -\frac{1}{3} \right)", r"Thus, $(t,u) = \boxed{\left( \frac{4}{3}, -\frac{1}{3} \right)}.$", 1),
    ("x-2y+z-1=0", r"$$-1(x-1)+2(y-1)+1(z-1)=0\Rightarrow\boxed{x-2y+z-1=0}.$$", 1),
    ("[-4,0]", r"\[ \boxed{[-4, 0]} \]", 1),
    ("1112112_3", r"\(\boxed{1112122_3}\).", 0),
    (r"\text{C}", r"$\boxed{\text{(C)}}.$", 1),
    ("11111111100", r"is $\boxed{11,\! 111,\! 111,\! 100}$", 1),
    ("32349", r"is $\boxed{32,\! 349}$", 1),
    ("32349", r"is $\boxed{32, 349}$", 0),
    (r"(2, 12) \cup (12, 102)", r"Thus, the answer is $x \in \boxed{(2,12) \cup (12,102)}$", 1),
    (r"\text{E}", _boxed("E"), 1),
    (r"-2 \le x \le 7", _boxed(r"x \in [-2,7]"), 1),
    (r"x \in [-2,7]", _boxed(r"-2 \le x \le 7"), 1),
    ("4", _boxed(r"4\sqrt{2}"), 0),
    # test_trailing_punctuation (boxed)
    (r"\frac{1}{3}", _boxed(r"\frac{1}{3}."), 1),
    (r"\sqrt{2}", _boxed(r"\sqrt{2}."), 1),
    ("(1,2)", _boxed("(1,2)."), 1),
    ("42", _boxed("42."), 1),
    ("2", _boxed("2^{10}."), 0),
    ("1, 2, 3", _boxed("1, 2, 3, ..."), 0),
]

LM_EVAL = [
    # SUBSTITUTIONS
    ("5", _boxed(r"\$5"), 1),
    ("2", _boxed(r"2\ "), 1),
    (r"\text{(A)}", _boxed(r"\mbox{(A)}"), 1),
    ("3, 5", _boxed(r"3\text{ and }5"), 1),
    # REMOVED_EXPRESSIONS
    ("12", _boxed(r"12\text{ square units}"), 1),
    ("10", _boxed(r"10\text{ dollars}"), 1),
    ("60", _boxed(r"60\text{ mph}"), 1),
    ("8", _boxed(r"8\text{ inches}"), 1),
    ("3", _boxed(r"3\text{ hours}"), 1),
    ("25", _boxed(r"25\text{ cents}"), 1),
    ("45", _boxed(r"45\text{ degrees}"), 1),
    ("7", _boxed(r"7\text{ cm}"), 1),
    ("4", _boxed(r"4\text{ meters}"), 1),
    ("30", _boxed(r"30\text{ minutes}"), 1),
    ("6", _boxed(r"6\text{ feet}"), 1),
    ("90", _boxed(r"90^{\circ}"), 1),
    ("5", _boxed(r"5^\text{th}"), 1),
    ("10000", _boxed(r"10,\!000"), 1),
    ("14916", _boxed(r"14{,}916"), 1),
    # answers after the last "="
    ("4", _boxed("x = 4"), 1),
    # shorthand TeX
    (r"\frac{1}{2}", _boxed(r"\frac12"), 1),
    (r"2\sqrt{3}", _boxed(r"2\sqrt3"), 1),
    # thousands separators only for plain digits
    ("100000", _boxed("100,000"), 1),
]

QWEN = [
    (r"\frac{1}{12}", _boxed("0.0833333333333333"), 1),
    (r"(1,\frac{9}{2})", _boxed("(1,4.5)"), 1),
    (r"\frac{x+2}{7}", _boxed(r"\frac{x}{7}+\frac{2}{7}"), 1),
    (r"\tan^2(y)+1", _boxed(r"\sec^2(y)"), 1),
    (
        r"(\begin{pmatrix}-\frac{7}{4}&-2\\4&\frac{1}{4}\\\end{pmatrix})",
        _boxed(r"\begin{pmatrix}-\frac{7}{4}&-2\\4&\frac{1}{4}\end{pmatrix}"),
        1,
    ),
    (
        r"(\begin{pmatrix}\frac{1}{3\sqrt[3]{x}^2}&0&0\\0&1&0\\-\sin(x)&0&0\\\end{pmatrix})",
        _boxed(r"\begin{pmatrix}\frac{1}{3x^{2/3}}&0&0\\0&1&0\\-\sin(x)&0&0\end{pmatrix}"),
        1,
    ),
    ("34x+45y-20z+100=0", _boxed("-34x-45y+20z-100=0"), 1),
    (
        r"\frac{\sqrt{\sqrt{11}+\sqrt{194}}}{15+2\sqrt{33}}",
        _boxed(r"\frac{\sqrt{\sqrt{11}+\sqrt{194}}}{2\sqrt{33}+15}"),
        1,
    ),
    ("(a+5)(b+2)", _boxed("(+5)(b+2)"), 0),
    ("2", _boxed(r"\frac{1+\sqrt{5}}{2}"), 0),
    ("4", _boxed(r"\frac{34}{16}+\frac{\sqrt{1358}}{16}"), 0),
    (r"1\sqrt{19}", _boxed("1"), 0),
    ("x+2n+1", _boxed("x+1"), 0),
]

SUITES = {"hendrycks": HENDRYCKS, "math-verify": MATH_VERIFY, "lm-eval": LM_EVAL, "qwen": QWEN}
