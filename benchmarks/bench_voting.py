"""Benchmark: majority vote and weighted Best-of-N by answer key vs naive pairwise math-verify.

Synthetic sampled answers: for each MATH-500 problem, N answers drawn Zipf-like (p ∝ 1/rank^1.2)
over a few distinct answers (the gold one plus answers of other problems), each written in a
random equivalent surface form (``\\frac12`` / ``\\dfrac{1}{2}`` / ``0.5``, spacing, ``x = ``...).

- key: :func:`majority_vote` / :func:`weighted_best_of_n` with ``match=pool.match`` (O(N) keys,
  then at most one math-verify check per distinct key pair).
- memo reused: weighted BoN after majority vote with the same :class:`MemoMatch`, as the
  evaluation pipeline does across methods and N: the distinct-key pairs were already checked.
- naive: math-verify on all N(N-1)/2 pairs, then the largest connected group. Too slow for
  500 × 256, so it runs on a few random problems at a smaller N and is extrapolated by pair
  count (time per pair × 500·N(N-1)/2); the table says so.

Run: ``python benchmarks/bench_voting.py [--problems 500] [--n 256] [--naive-problems 6] [--naive-n 64]``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

from vbvf.arms.voting import MemoMatch, components, majority_vote, weighted_best_of_n
from vbvf.tasks.math import GradingPool, answer_key, load_problems


def surface_forms(answer: str) -> list[str]:
    """Equivalent ways a model might write ``answer``."""
    forms = {answer, answer.replace(r"\frac", r"\dfrac"), answer.replace(" ", ""), f" {answer} "}
    key = answer_key(answer)
    try:
        value = Fraction(key)
    except ValueError:
        return sorted(forms)
    if value.denominator != 1 and 10**6 % value.denominator == 0:
        forms.add(str(float(value)))
    if value.denominator != 1:
        forms.add(rf"\frac{{{value.numerator}}}{{{value.denominator}}}")
    else:
        forms |= {f"x = {value}", f"{value}.0"}
    return sorted(forms)


def synthetic_answers(golds: list[str], n: int, rng: random.Random) -> list[list[str]]:
    """N answers per problem: 2-6 distinct answers, Zipf-like counts, random equivalent forms."""
    out = []
    for gold in golds:
        distinct = [gold] + rng.sample(golds, rng.randint(1, 5))
        rng.shuffle(distinct)
        weights = [1 / (rank + 1) ** 1.2 for rank in range(len(distinct))]
        out.append([rng.choice(surface_forms(a)) for a in rng.choices(distinct, weights, k=n)])
    return out


def naive_majority(answers: list[str], pool: GradingPool) -> tuple[int, int]:
    """Largest group under all-pairs math-verify; returns (a member of it, math-verify calls)."""
    pairs = [(i, j) for i in range(len(answers)) for j in range(i + 1, len(answers))]
    same = pool.match([(answers[i], answers[j]) for i, j in pairs])
    labels = components(len(answers), [pair for pair, ok in zip(pairs, same) if ok])
    sizes = Counter(labels)
    earliest_of_largest = max(range(len(answers)), key=lambda i: (sizes[labels[i]], -i))
    return earliest_of_largest, len(pairs)


class CountingMatch:
    """``pool.match`` that counts the pairs it checks."""

    def __init__(self, pool: GradingPool):
        self.pool, self.calls = pool, 0

    def __call__(self, pairs):
        self.calls += len(pairs)
        return self.pool.match(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("VBVF_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--naive-problems", type=int, default=6)
    parser.add_argument("--naive-n", type=int, default=64)
    args = parser.parse_args()

    rng = random.Random(0)
    golds = [p.answer for p in load_problems(path=str(Path(args.data) / "math500.jsonl"), max_problems=args.problems)]
    answers = synthetic_answers(golds, args.n, rng)
    scores = [[rng.random() for _ in row] for row in answers]
    rows = []
    with GradingPool(timeout_s=5) as pool:
        warm_up = [(r"\frac{1}{2}", "0.5"), ("(1,2)", "[1,2]"), ("x^2+1", r"\sqrt{2}"), (r"\{1\}", "1")]
        pool.match(warm_up * 4)  # start the workers and load sympy's lazy parts before timing
        start = time.perf_counter()
        for row in answers:
            majority_vote(row)
        rows.append(("majority, key only", args.problems, args.n, 0, time.perf_counter() - start, ""))
        majority = lambda row, s, m: majority_vote(row, match=m)  # noqa: E731
        weighted = lambda row, s, m: weighted_best_of_n(row, s, match=m)  # noqa: E731
        shared = MemoMatch(CountingMatch(pool))
        for name, select, match in [
            ("majority, key + merge", majority, shared),
            ("weighted BoN, key + merge", weighted, CountingMatch(pool)),
            ("weighted BoN, memo reused", weighted, shared),
        ]:
            counter = match.match if isinstance(match, MemoMatch) else match
            before, start = counter.calls, time.perf_counter()
            for row, row_scores in zip(answers, scores):
                select(row, row_scores, match)
            rows.append((name, args.problems, args.n, counter.calls - before, time.perf_counter() - start, ""))

        subset = rng.sample(answers, args.naive_problems)
        start = time.perf_counter()
        naive = [naive_majority(row[: args.naive_n], pool) for row in subset]
        seconds = time.perf_counter() - start
        calls = sum(pairs for _, pairs in naive)
        keyed = [majority_vote(row[: args.naive_n], match=pool.match) for row in subset]
        agree = sum(member in group.members for (member, _), group in zip(naive, keyed))
        per_pair = seconds / calls
        full_pairs = args.problems * args.n * (args.n - 1) // 2
        rows.append(("majority, naive pairwise", len(subset), args.naive_n, calls, seconds, f"winner agrees {agree}/{len(subset)}"))
        rows.append(
            ("naive, extrapolated", args.problems, args.n, full_pairs, per_pair * full_pairs, f"{per_pair * 1e3:.2f} ms/pair")
        )
    distinct = sum(len({answer_key(a) for a in row}) for row in answers) / len(answers)
    print(f"{args.problems} problems x {args.n} answers; {distinct:.1f} distinct keys per problem on average")
    print(f"{'method':28} {'problems':>8} {'N':>5} {'verify calls':>13} {'seconds':>10}  note")
    for name, problems, n, calls, seconds, note in rows:
        print(f"{name:28} {problems:>8} {n:>5} {calls:>13,} {seconds:>10.2f}  {note}")


if __name__ == "__main__":
    main()
