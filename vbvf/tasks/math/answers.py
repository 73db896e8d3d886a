"""Final answers of MATH solutions: extract the last ``\\boxed{}``, clean it, give it a canonical key.

The key is a cheap, exact normal form: two answers with the same key are the same answer, and
grading (:func:`vbvf.tasks.math.grading.answers_match`) accepts every pair of equal keys, so
voting can group N answers in O(N). Different keys may still be equivalent (``\\sqrt{2}/2`` vs
``\\frac{\\sqrt2}{2}``); :mod:`vbvf.arms.voting` settles those with math-verify. Every
function here is linear in its input (model output can be long and hostile).
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOX = re.compile(r"\\(?:boxed|fbox)")
_BRACE = re.compile(r"[{}]")
_BARE_BOX_ARG = re.compile(r" +([^\s$]+)")


def _closing_braces(text: str) -> dict[int, int]:
    """Position of the ``}`` that closes each ``{`` of ``text`` (unclosed ones absent), in one pass."""
    closing, open_at = {}, []
    for brace in _BRACE.finditer(text):
        if brace[0] == "{":
            open_at.append(brace.start())
        elif open_at:
            closing[open_at.pop()] = brace.start()
    return closing


def extract_answer(text: str) -> str | None:
    """The last ``\\boxed{...}`` / ``\\fbox{...}`` / ``\\boxed N`` in ``text``, or None.

    Braces are matched with nesting; a box whose braces never close is skipped in favour of an
    earlier complete one.
    """
    closing = None
    for match in reversed(list(_BOX.finditer(text))):
        end = match.end()
        if text.startswith("{", end):
            closing = _closing_braces(text) if closing is None else closing
            content = text[end + 1 : closing[end]] if end in closing else None
        else:
            bare = _BARE_BOX_ARG.match(text, end)
            content = bare.group(1) if bare else None
        if content is not None:
            content = content.strip()
            return content + " " if content.endswith("\\") else content  # keep a spacing "\ "
    return None


_TRAILING_SPACING = ("\\ ", "\\,", "\\;", "\\!")
_PERCENT = re.compile(r"\\?%")
_ORDINAL = re.compile(r"(?<=\d) ?(?:\^ ?)?(?:\{ ?)?(?:\\(?:text|mathrm) ?)?\{?(?:st|nd|rd|th)\}?\}?(?![a-zA-Z])")
_DIGIT_GROUP_SPACE = re.compile(r"(?<![\d.])\d{1,3}(?:(?:\\[,;!: ]|~| )\d{3})+(?![\d/])")
_ROOT_SHORT = re.compile(r"\\sqrt(\[[^\[\]{}]*\])? ?([0-9a-zA-Z])")


def clean_answer(answer: str) -> str:
    """Light, meaning-preserving cleanup shared by grading and the key: a trailing full stop or
    spacing, runs of whitespace, ``%``, ordinal suffixes (``5^\\text{th}``), digit groups split by spaces
    (``1\\,000``, ``1 000``), root shorthand (``\\sqrt[3]2``)."""
    s = _PERCENT.sub("", " ".join(_strip_trailing(answer).split()))
    s = _ORDINAL.sub("", s)
    s = _DIGIT_GROUP_SPACE.sub(lambda m: re.sub(r"\D", "", m[0]), s)
    return _ROOT_SHORT.sub(lambda m: rf"\sqrt{m[1] or ''}{{{m[2]}}}", s).strip()


def _strip_trailing(s: str) -> str:
    """``s`` without trailing spaces, spacing commands and full stops (not an ellipsis)."""
    end = len(s)
    while end:
        if s.endswith(_TRAILING_SPACING, 0, end):
            end -= 2
        elif s[end - 1].isspace() or (s[end - 1] == "." and not s.endswith(("..", "\\."), 0, end)):
            end -= 1
        else:
            break
    return s[:end]


_REMOVALS = (r"\left", r"\right", r"\$", "$", r"\displaystyle")
_SPACING = re.compile(r"(?<!\\)\\[!,;: ]")  # thin spaces, but not a "\\" row break before them
_TEXT = re.compile(r"\\(?:text|textbf|textnormal|mbox|mathrm)\{([^{}]*)\}")
_UNIT_WORDS = re.compile(
    r"(?:\\(?:text|textnormal|mbox)\{)? ?(?:units?|degrees?|cm|meters?|inches|inch|feet|foot|dollars?|cents?|"
    r"square|sq|hours?|minutes?|seconds?|days?|miles?|mph|km) ?(?:\^\{?[23]\}?)? ?\}?$"
)
_LHS = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)? ?(?:=|\\in) ?(?!.*=)")
_FRAC_SHORT = re.compile(r"\\frac(\d)(\d)")
_FRAC_HALF_SHORT = re.compile(r"\\frac\{([^{}]+)\}(\d)|\\frac(\d)\{([^{}]+)\}")
_GAP = re.compile(r"\s+")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$|^-?\.\d+$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SIMPLE_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?\d+)/(-?\d+)$")


def _expand_short_fracs(s: str) -> str:
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    return _FRAC_HALF_SHORT.sub(
        lambda m: rf"\frac{{{m[1]}}}{{{m[2]}}}" if m[1] is not None else rf"\frac{{{m[3]}}}{{{m[4]}}}", s
    )


def _numeric_key(s: str) -> str | None:
    """Exact rational normal form ("-3/4", "2") of a plain number or simple fraction, else None
    (also for numbers too long for Python's int-string limit)."""
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    try:
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
    except ValueError:
        return None


def _join_tokens(s: str) -> str:
    """Drop whitespace, except one space between two digits or after a comma before a digit, so
    ``2 3``, ``4 4/9`` and ``32, 349`` keep apart from ``23``, ``44/9`` and ``32349``."""
    return _GAP.sub(lambda m: " " if _between_digits(s, m.start(), m.end()) else "", s)


def _between_digits(s: str, start: int, end: int) -> bool:
    return start > 0 and end < len(s) and s[start - 1] in "0123456789," and s[end].isdigit()


def answer_key(answer: str) -> str:
    """Canonical key of an answer string: equal keys mean the same answer (the converse may fail)."""
    s = clean_answer(answer)
    for token in _REMOVALS:
        s = s.replace(token, "")
    s = _SPACING.sub("", s)
    s = s.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac").replace(r"\cfrac", r"\frac")
    s = re.sub(r"\^ ?\{?\\circ\}?|°|\\degree", "", s)
    s = _UNIT_WORDS.sub("", s.strip()) or s
    s = _TEXT.sub(r"\1", s)
    s = _LHS.sub("", s.strip())
    s = _join_tokens(s.strip())
    s = _expand_short_fracs(s)
    return _numeric_key(s) or s


def is_integer_key(key: str) -> bool:
    """True where ``key`` is an integer in normal form, so two such keys differ iff values do
    (math-verify compares integers exactly; decimals it rounds, so those it must decide)."""
    return _numeric_key(key) == key and "/" not in key
