"""Agreement of ``grade`` with the graders of other projects, on their own test cases.

The cases live in ``benchmarks/peer_grading_cases.py`` (source of each suite named there). Prints
one row per suite (cases, agreements, false accepts, false rejects), then every disagreement,
then how long ``extract_answer`` and ``answer_key`` take on hostile model output.

Run: ``python benchmarks/grading_agreement.py [--hostile-n 16000]``.
"""

from __future__ import annotations

import argparse
import time

from peer_grading_cases import SOURCES, SUITES

from vbvf.tasks.math import GradingPool, answer_key, extract_answer


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def agreement_table() -> None:
    with GradingPool(timeout_s=5) as pool:
        verdicts = {name: pool.grade([(gold, completion) for gold, completion, _ in cases]) for name, cases in SUITES.items()}
    print(f"{'suite':<12} {'cases':>5} {'agree':>5} {'false accept':>12} {'false reject':>12}")
    for name, cases in SUITES.items():
        expected = [bool(e) for *_, e in cases]
        got = verdicts[name]
        agree = sum(e == g for e, g in zip(expected, got))
        false_accept = sum(g and not e for e, g in zip(expected, got))
        print(f"{name:<12} {len(cases):>5} {agree:>5} {false_accept:>12} {len(cases) - agree - false_accept:>12}")
    print("\ndisagreements (peer verdict, ours):")
    for name, cases in SUITES.items():
        for (gold, completion, e), g in zip(cases, verdicts[name]):
            if bool(e) != g:
                print(f"  {name}: {int(e)} {int(g)}  gold {_short(gold, 40)!r}  vs  {_short(completion)!r}")
    print("\nsources:")
    for name, source in SOURCES.items():
        print(f"  {name}: {source}")


def hostile_timing(n: int) -> None:
    cases = {
        f"extract_answer, {n:,} unclosed \\boxed{{": (extract_answer, "\\boxed{" * n),
        f"answer_key, {n:,} spaced tokens": (answer_key, "1 " * n + "x"),
        f"answer_key, {n * 4:,} whitespace chars": (answer_key, "1" + " " * (n * 4) + "x"),
    }
    print()
    for label, (fn, text) in cases.items():
        start = time.perf_counter()
        fn(text)
        print(f"{label}: {time.perf_counter() - start:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostile-n", type=int, default=16000, help="size of the hostile inputs (0: skip)")
    args = parser.parse_args()
    agreement_table()
    if args.hostile_n:
        hostile_timing(args.hostile_n)


if __name__ == "__main__":
    main()
