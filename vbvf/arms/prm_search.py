"""Beam search and DVTS as a VB method of the MATH evaluation: next steps proposed by the sampler,
paths scored by the verifier's process scores, and the final paths graded and voted on, for each
N of ``search.n_grid``."""

from __future__ import annotations

from dataclasses import replace

from vbvf.arms.search import Proposal, Propose, SearchResult, SearchSettings, beam_search, dvts
from vbvf.arms.selection import accuracy_estimate
from vbvf.arms.voting import Match, MemoMatch, majority_vote, weighted_best_of_n
from vbvf.policies.protocols import ProcessScorer
from vbvf.policies.samplers import CachedSampler, SamplingParams
from vbvf.tasks.math import GradingPool, extract_answer
from vbvf.tasks.math.prompts import STEP_SEPARATOR

SEARCHES = {"beam_search": beam_search, "dvts": dvts}


def step_proposer(sampler: CachedSampler, params: SamplingParams, step_max_tokens: int) -> Propose:
    """Next-step proposals from the sampler: generate until a blank line; EOS ends the solution."""
    step_params = replace(params, max_tokens=step_max_tokens, stop=(STEP_SEPARATOR,))

    def propose(prompt: str, steps: list[str], n: int) -> list[Proposal]:
        prefix = prompt + "".join(step + STEP_SEPARATOR for step in steps)
        completions = sampler.sample([prefix], replace(step_params, n=n))[0]
        return [Proposal(c.text.strip(), c.n_tokens, c.finish_reason == "eos") for c in completions]

    return propose


def search_settings(search: dict, n: int) -> SearchSettings:
    """The search section's settings for N = ``n`` beams."""
    return SearchSettings(
        n, search["beam_width"], search["max_steps"], search["aggregation"], search["refill"], search["dvts_leaves"]
    )


def search_votes(gold: str, result: SearchResult, pool: GradingPool, match: Match) -> dict[str, bool]:
    """Correctness of the best final path and of majority / weighted votes over all final paths."""
    correct = pool.grade([(gold, path.text) for path in result.paths])
    answers = [extract_answer(path.text) for path in result.paths]
    majority = majority_vote(answers, match=match)
    weighted = weighted_best_of_n(answers, [path.score for path in result.paths], match=match)
    return {
        "": correct[0],
        "_majority_vote": majority is not None and correct[majority.members[0]],
        "_weighted_vote": weighted is not None and correct[weighted.members[0]],
    }


def evaluate_search(problems, prompts, sampler: CachedSampler, verifier: ProcessScorer, pool: GradingPool, cfg: dict, params, seed: int) -> dict:
    """Beam search / DVTS with the verifier's process scores, for each N in search.n_grid: the best
    final path (``beam_search``) and votes over the final paths (``beam_search_majority_vote``,
    ``beam_search_weighted_vote``), as search-and-learn reports them."""
    search = cfg["search"]
    propose = step_proposer(sampler, params, search["step_max_tokens"])
    match = MemoMatch(pool.match)
    out: dict[str, dict] = {}
    for name in search["methods"]:
        for n in search["n_grid"]:
            settings = search_settings(search, n)
            results = [SEARCHES[name](prompt, propose, verifier.process_scores, settings) for prompt in prompts]
            votes = [search_votes(p.answer, r, pool, match) for p, r in zip(problems, results)]
            tokens = [r.tokens for r in results]
            for suffix in votes[0]:
                correct = [v[suffix] for v in votes]
                out.setdefault(name + suffix, {})[str(n)] = accuracy_estimate(correct, tokens, cfg["eval"], seed)
    return out
