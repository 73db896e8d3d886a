"""MATH evaluation, stage by stage: problems → prompts → samples → grades → selection at each N
(and PRM search) → statistics of the base (heterogeneity, anti-concentration) → results.json.

Samples go through the on-disk cache, so a rerun never resamples. Every method reports the
tokens it generated per problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vbvf.config import MathEvalConfig, RunConfig
from vbvf.models.gguf import resolve_model
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.results import results_header
from vbvf.pipeline.seeding import stage_seed
from vbvf.policies.samplers import CachedSampler, SamplingParams, build_sampler
from vbvf.stats import (
    mean_ci,
    policy_statistics,
)
from vbvf.tasks.math import (
    GradingPool,
    Proposal,
    SearchSettings,
    beam_search,
    best_of_n,
    build_prompt,
    dvts,
    extract_answer,
    load_problems,
    majority_vote,
    pass_at_n,
    solve_times,
    weighted_best_of_n,
)
from vbvf.tasks.math.search import STEP_SEPARATOR, Propose, SearchResult
from vbvf.tasks.math.voting import Match, MemoMatch


@dataclass
class Graded:
    """Per problem and sample: extracted answer, correctness, generated tokens, verifier score."""

    answers: list[list[str | None]]
    correct: np.ndarray  # [problems, n] bool
    tokens: np.ndarray  # [problems, n] int
    scores: np.ndarray | None  # [problems, n] float, None without a verifier


def _majority(g: Graded, x: int, n: int, match: Match) -> bool:
    group = majority_vote(g.answers[x][:n], match=match)
    return group is not None and bool(g.correct[x, group.members[0]])


def _weighted(g: Graded, x: int, n: int, match: Match) -> bool:
    group = weighted_best_of_n(g.answers[x][:n], g.scores[x, :n].tolist(), match=match)
    return group is not None and bool(g.correct[x, group.members[0]])


def _best_of_n(g: Graded, x: int, n: int, match: Match) -> bool:
    return bool(g.correct[x, best_of_n(g.scores[x, :n].tolist())])


def _pass_at_n(g: Graded, x: int, n: int, match: Match) -> bool:
    return pass_at_n(g.correct[x, :n].tolist())


# name -> (is the selected sample correct?, needs a verifier)
SELECTIONS: dict[str, tuple[Callable[[Graded, int, int, Match], bool], bool]] = {
    "majority_vote": (_majority, False),
    "weighted_best_of_n": (_weighted, True),
    "best_of_n": (_best_of_n, True),
    "pass_at_n": (_pass_at_n, False),
}
SEARCHES = {"beam_search": beam_search, "dvts": dvts}


def validate(cfg: dict) -> None:
    """Value checks before any compute; errors name the key."""
    n_grid = cfg["selection"]["n_grid"]
    if not n_grid or sorted(set(n_grid)) != list(n_grid) or n_grid[0] < 1:
        raise ValueError(f"selection.n_grid must be increasing positive ints, got {n_grid}")
    for name in cfg["selection"]["methods"]:
        if name not in SELECTIONS:
            raise ValueError(f"selection.methods: unknown {name!r}; choose from {sorted(SELECTIONS)}")
        if SELECTIONS[name][1] and not cfg.get("verifier"):
            raise ValueError(f"selection.methods: {name!r} needs a verifier (set verifier=...)")
    search = cfg.get("search")
    if search:
        if not cfg.get("verifier"):
            raise ValueError("search needs a verifier (its process scores guide the search)")
        if unknown := set(search["methods"]) - set(SEARCHES):
            raise ValueError(f"search.methods: unknown {sorted(unknown)}; choose from {sorted(SEARCHES)}")
        for n in search["n_grid"]:  # raises on a bad aggregation, beam shape or leaves choice
            search_settings(search, n)


def grade_samples(problems, prompts, samples, pool: GradingPool, verifier) -> Graded:
    """Extract, grade and (with a verifier) score every sample."""
    flat = [(p.answer, c.text) for p, completions in zip(problems, samples) for c in completions]
    shape = (len(samples), len(samples[0]))
    scores = None
    if verifier is not None:
        texts = [(prompt, c.text) for prompt, completions in zip(prompts, samples) for c in completions]
        scores = np.array(verifier.score_outcomes(*zip(*texts))).reshape(shape)
    return Graded(
        answers=[[extract_answer(c.text) for c in completions] for completions in samples],
        correct=np.array(pool.grade(flat), dtype=bool).reshape(shape),
        tokens=np.array([[c.n_tokens for c in completions] for completions in samples]).reshape(shape),
        scores=scores,
    )


def accuracy_estimate(correct: list[bool], tokens: list[int], ev: dict, seed: int) -> dict:
    """Accuracy over problems with its bootstrap CI, and the mean tokens generated per problem."""
    est = mean_ci(np.array(correct, dtype=float), ev["confidence"], ev["n_bootstrap"], seed)
    return {"accuracy": est.value, "ci": [est.low, est.high], "n": est.n, "tokens_mean": float(np.mean(tokens))}


def selection_correct(g: Graded, methods: list[str], n_grid: list[int], match: Match) -> dict[str, dict[int, list[bool]]]:
    """Per method and N: is the answer selected from the first N samples right, per problem."""
    return {
        name: {n: [SELECTIONS[name][0](g, x, n, match) for x in range(len(g.answers))] for n in n_grid}
        for name in methods
    }


def evaluate_selection(g: Graded, cfg: dict, match: Match, seed: int) -> dict:
    """Accuracy (with CI) and tokens of each selection method at each N (the first N samples)."""
    correct = selection_correct(g, cfg["selection"]["methods"], cfg["selection"]["n_grid"], match)
    return {
        name: {str(n): accuracy_estimate(ok, g.tokens[:, :n].sum(axis=1).tolist(), cfg["eval"], seed) for n, ok in per_n.items()}
        for name, per_n in correct.items()
    }


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


def evaluate_search(problems, prompts, sampler, verifier, pool: GradingPool, cfg: dict, params, seed: int) -> dict:
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


def base_statistics(g: Graded, ev: dict, seed: int) -> dict:
    """Per H: performance, heterogeneity and anti-concentration of budget-H traces built from
    the first m = eval.samples_per_prompt attempts per problem (SPEC §4)."""
    m = ev["samples_per_prompt"]
    out = {}
    for horizon in ev["horizons"]:
        solve_time = solve_times(g.tokens[:, :m], g.correct[:, :m], horizon, n_traces=m, seed=seed)
        out[str(horizon)] = policy_statistics(solve_time, horizon, list(ev["eps"]), ev["c0"], ev["confidence"], ev["n_bootstrap"], seed)
    return out


def typed_config(cfg: Any, schema: type[RunConfig]) -> dict:
    """The config as plain Python, checked against the testbed's root ``schema`` (an unknown key or a
    wrong type raises here, also for a plain dict passed from code) and completed with its defaults."""
    return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(schema), cfg), resolve=True)


def run_math_eval(cfg: Any, out_dir: str | Path) -> dict:
    """Run the MATH evaluation described by ``cfg``; write and return ``results.json``'s content."""
    cfg = typed_config(cfg, MathEvalConfig)
    validate(cfg)
    start, timing = time.perf_counter(), {}
    problems = load_problems(**cfg["data"]["eval"])
    if "name_or_path" in cfg["sampler"]:  # a gguf: model becomes its converted folder
        cfg["sampler"]["name_or_path"] = resolve_model(cfg["sampler"]["name_or_path"])
    sampler = CachedSampler(build_sampler(cfg["sampler"]), cfg["cache_dir"], **cfg["cache_check"])
    prompts = [build_prompt(p.problem, sampler.sampler.tokenizer, **cfg["prompt"]) for p in problems]
    m = cfg["eval"]["samples_per_prompt"]
    sampling = {**cfg["sampling"], "stop": tuple(cfg["sampling"]["stop"])}
    params = SamplingParams(n=max(cfg["selection"]["n_grid"][-1], m), **sampling)
    samples = sampler.sample(prompts, params)
    timing["sampling"] = time.perf_counter() - start

    verifier = instantiate(cfg["verifier"]) if cfg.get("verifier") else None
    seeds = {"sampling": params.seed, "bootstrap": stage_seed(cfg["seed"], "bootstrap")}
    seeds["traces"] = stage_seed(cfg["seed"], "traces")
    with GradingPool(cfg["grading"]["workers"], cfg["grading"]["timeout_s"], cfg["grading"]["set_relation"]) as pool:
        graded = grade_samples(problems, prompts, samples, pool, verifier)
        timing["grading"] = time.perf_counter() - start - sum(timing.values())
        methods = evaluate_selection(graded, cfg, MemoMatch(pool.match), seeds["bootstrap"])
        if cfg.get("search"):
            methods |= evaluate_search(problems, prompts, sampler, verifier, pool, cfg, params, seeds["bootstrap"])
    timing["selection"] = time.perf_counter() - start - sum(timing.values())

    results = results_header("math_eval", cfg, seeds, cfg["eval"]["horizons"], arm_budget="N") | {
        "sample_counts": {"problems": len(problems), "samples_per_problem": params.n, "m": m},
        "base_stats": base_statistics(graded, cfg["eval"], seeds["traces"]),
        "arms": methods,  # per method, per N: selections over the first N samples, searches with N beams
        "gaps": {},  # no VF arm here
    }
    timing["total"] = time.perf_counter() - start
    results["timing_s"] = timing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"correct": graded.correct, "tokens": graded.tokens}
    np.savez_compressed(out_dir / "graded.npz", **arrays, **({} if graded.scores is None else {"scores": graded.scores}))
    atomic_write_json(out_dir / "results.json", results)
    return results
