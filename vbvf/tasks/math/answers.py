"""Final answers of MATH solutions: extract the last ``\\boxed{}`` and give it a canonical key.

The key is a cheap, exact normal form: two answers with the same key are the same answer, so
voting can group N answers in O(N). Different keys may still be equivalent (``\\sqrt{2}/2`` vs
``\\frac{\\sqrt2}{2}``); :mod:`vbvf.tasks.math.voting` settles those with math-verify.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOX = re.compile(r"\\(?:boxed|fbox)")
_BARE_BOX_ARG = re.compile(r" +([^\s$]+)")


def _braced(text: str, start: int) -> str | None:
    """Content of the brace group opening at ``text[start] == "{"``, or None if unbalanced."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None


def extract_answer(text: str) -> str | None:
    """The last ``\\boxed{...}`` / ``\\fbox{...}`` / ``\\boxed N`` in ``text``, or None.

    Braces are matched with nesting; a box whose braces never close is skipped in favour of an
    earlier complete one.
    """
    for match in reversed(list(_BOX.finditer(text))):
        end = match.end()
        if text.startswith("{", end):
            content = _braced(text, end)
        else:
            bare = _BARE_BOX_ARG.match(text, end)
            content = bare.group(1) if bare else None
        if content is not None:
            return content.strip()
    return None


_REMOVALS = (r"\left", r"\right", r"\$", "$", r"\displaystyle")
_SPACING = re.compile(r"(?<!\\)\\[!,;: ]")  # thin spaces, but not a "\\" row break before them
_TEXT = re.compile(r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}")
_UNIT_WORDS = re.compile(
    r"(?:\\text\{)?\s*(?:units?|degrees?|cm|meters?|inches|inch|feet|foot|dollars?|cents?|"
    r"square|sq|hours?|minutes?|seconds?|days?|miles?|mph|km)\s*(?:\^\{?[23]\}?)?\s*\}?$"
)
_LHS = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*(?:=|\\in)\s*(?!.*=)")
_FRAC_SHORT = re.compile(r"\\frac(\d)(\d)")
_FRAC_HALF_SHORT = re.compile(r"\\frac\{([^{}]+)\}(\d)|\\frac(\d)\{([^{}]+)\}")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$|^-?\.\d+$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SIMPLE_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?\d+)/(-?\d+)$")


def _expand_short_fracs(s: str) -> str:
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    return _FRAC_HALF_SHORT.sub(
        lambda m: rf"\frac{{{m[1]}}}{{{m[2]}}}" if m[1] is not None else rf"\frac{{{m[3]}}}{{{m[4]}}}", s
    )


def _numeric_key(s: str) -> str | None:
    """Exact rational normal form ("-3/4", "2") of a plain number or simple fraction, else None."""
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if _NUMBER.match(s):
        value = Fraction(s)
    elif m := _SIMPLE_FRAC.match(s):
        sign, num, den = (m[1], m[2], m[3]) if m[2] is not None else ("", m[4], m[5])
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den)) * (-1 if sign else 1)
    else:
        return None
    return str(value)


def answer_key(answer: str) -> str:
    """Canonical key of an answer string: equal keys mean the same answer (the converse may fail)."""
    s = answer.strip()
    for token in _REMOVALS:
        s = s.replace(token, "")
    s = _SPACING.sub("", s)
    s = s.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac")
    s = re.sub(r"\^\s*\{?\\circ\}?|°|\\degree", "", s)
    s = s.replace(r"\%", "").replace("%", "")
    s = _UNIT_WORDS.sub("", s.strip()) or s
    s = _TEXT.sub(r"\1", s)
    s = _LHS.sub("", s.strip())
    s = re.sub(r"\s+", "", s).rstrip(".")
    s = _expand_short_fracs(s)
    return _numeric_key(s) or s


def is_numeric_key(key: str) -> bool:
    """True where ``key`` is the exact rational normal form, so two such keys differ iff values do."""
    return _numeric_key(key) == key
