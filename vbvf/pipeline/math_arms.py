"""The MATH arms (SPEC §4), stage by stage, at equal data and matched test-time tokens.

1. Base π_b: the pretrained model (``format_sft.enabled``: first SFT'd on gold solutions so that
   it boxes its answers), or (``heterogeneity.enabled``) that model SFT'd on traces of j wrong
   attempts then a right one, j ~ ``heterogeneity.wrong``, on problems set apart from the arms'
   (``heterogeneity.problems_offset``).
2. Data of both arms: ``vb.traces_per_prompt`` samples of π_b (≤ h = ``sampling.max_tokens``
   tokens) on each of the first ``data.n`` training problems, graded attempt by attempt.
3. VF: per problem one stitched trace (j ~ ``vf.stitch`` wrong attempts, then a right one) from
   those samples; completion-only SFT of π_b. At test, ``vf.eval_traces`` traces of at most
   H = N·h tokens for each N of ``selection.n_grid``.
4. VB: a verifier (π_b's weights + scalar head, BCE on final-answer correctness of the same
   samples) scores N samples of π_b (≤ h tokens each) for Best-of-N and weighted BoN; majority
   vote and pass@N run on the same samples.
Statistics of π_b (σ, c(ε)) at every H come from its test samples; every method reports its
``answer_rate``, the share of the samples it drew that hold a boxed answer. Trained models and their
data are stages of the stage cache; samples go through the sample cache; a rerun redoes only
what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbvf.arms.math_training import (
    load_tokenizer,
    sft_examples,
    train_stage,
    verifier_examples,
)
from vbvf.config import MathArmsConfig, TrainConfig
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.math_eval import (
    SELECTIONS,
    accuracy_estimate,
    selection_correct,
    typed_config,
)
from vbvf.pipeline.math_report import print_math_arms
from vbvf.pipeline.results import results_header
from vbvf.pipeline.math_samples import (
    GradedSamples,
    answered_within,
    final_correct_within,
    grade_by_attempt,
)
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import DONE, StageCache
from vbvf.policies.samplers import (
    CachedSampler,
    LazySampler,
    SamplingParams,
    backend_of,
)
from vbvf.policies.scorer import HFScorer
from vbvf.stats import mean_ci, paired_difference_ci, performance, policy_statistics
from vbvf.models.gguf import resolve_model
from vbvf.tasks.math import GradingPool, answer_key, build_prompt, load_problems, solve_times
from vbvf.tasks.math.attempts import build_stitched, wrong_count_probabilities
from vbvf.tasks.math.config import CORRECT_SOURCES, WrongAttemptsConfig
from vbvf.tasks.math.voting import MemoMatch

log = logging.getLogger(__name__)


def validate(cfg: dict) -> None:
    """Value checks before any compute; errors name the key."""
    if not cfg["model"].get("name_or_path"):
        raise ValueError("model.name_or_path: the pretrained model (hub id or local dir) is required")
    for key in ("train", "eval"):
        if not cfg["data"].get(key):
            raise ValueError(f"data.{key}: a problem source is required (e.g. math_data=math_train)")
    n_grid = cfg["selection"]["n_grid"]
    if not n_grid or sorted(set(n_grid)) != list(n_grid) or n_grid[0] < 1:
        raise ValueError(f"selection.n_grid must be increasing positive ints, got {n_grid}")
    if unknown := set(cfg["selection"]["methods"]) - set(SELECTIONS):
        raise ValueError(f"selection.methods: unknown {sorted(unknown)}; choose from {sorted(SELECTIONS)}")
    if cfg["vb"]["verifier"]["labels"] != "outcome":
        raise ValueError(f"vb.verifier.labels={cfg['vb']['verifier']['labels']!r}: the MATH verifier is an outcome verifier (set outcome)")
    if cfg["attempts"]["correct_source"] not in CORRECT_SOURCES:
        raise ValueError(f"attempts.correct_source={cfg['attempts']['correct_source']!r}: expected one of {CORRECT_SOURCES}")
    if not cfg["attempts"]["separator"].strip():
        raise ValueError("attempts.separator must contain visible text (attempts are split on it)")
    wrong_count_probabilities(WrongAttemptsConfig(**cfg["vf"]["stitch"]), "vf.stitch")
    if cfg["heterogeneity"]["enabled"]:
        wrong_count_probabilities(WrongAttemptsConfig(**cfg["heterogeneity"]["wrong"]), "heterogeneity.wrong")
    check_disjoint_ranges(cfg)
    for key, value in (("data.n", cfg["data"]["n"]), ("vb.traces_per_prompt", cfg["vb"]["traces_per_prompt"]),
                       ("vf.eval_traces", cfg["vf"]["eval_traces"])):
        if value < 1:
            raise ValueError(f"{key} must be ≥ 1, got {value}")
    if cfg["eval"]["samples_per_prompt"] < 2:
        raise ValueError(f"eval.samples_per_prompt must be ≥ 2 (σ needs two samples), got {cfg['eval']['samples_per_prompt']}")


def problem_ranges(cfg: dict) -> dict[str, tuple[int, int]]:
    """The slices of data.train each use takes: the arms' first data.n, and the base SFTs' when enabled."""
    ranges = {"data.n": (0, cfg["data"]["n"])}
    for section in ("format_sft", "heterogeneity"):
        if cfg[section]["enabled"]:
            offset = cfg[section]["problems_offset"]
            ranges[f"{section}.problems_offset"] = (offset, offset + cfg[section]["n_problems"])
    return ranges


def check_disjoint_ranges(cfg: dict) -> None:
    """The arms, the format SFT and the heterogeneity SFT train on disjoint problems."""
    ranges = sorted(problem_ranges(cfg).items(), key=lambda item: item[1])
    for (first, (_, end)), (second, (start, _)) in zip(ranges, ranges[1:]):
        if start < end:
            raise ValueError(f"{second}={start} overlaps the problems of {first} (up to {end}); move it to at least {end}")


def check_problem_counts(cfg: dict, n_train: int) -> None:
    """Enough training problems for every slice of data.train."""
    for key, (start, end) in problem_ranges(cfg).items():
        if n_train < end:
            raise ValueError(f"{key}: needs data.train problems up to {end} but data.train holds only {n_train} problems")


@dataclass
class MathArms:
    """One run's shared state: config, caches, grading pool, tokenizer and prompts."""

    cfg: dict
    cache: StageCache
    pool: GradingPool
    tokenizer: Any
    reports: dict = field(default_factory=dict)  # data summaries of the training stages
    model_ids: dict = field(default_factory=dict)  # trained model dir -> its sample-cache name

    @property
    def separator(self) -> str:
        return self.cfg["attempts"]["separator"]

    def prompts(self, problems) -> list[str]:
        return [build_prompt(p.problem, self.tokenizer, **self.cfg["prompt"]) for p in problems]

    def params(self, n: int, max_tokens: int) -> SamplingParams:
        sampling = {**self.cfg["sampling"], "stop": tuple(self.cfg["sampling"]["stop"]), "max_tokens": max_tokens}
        return SamplingParams(n=n, **sampling)

    def sample(self, model: str, problems, n: int, max_tokens: int) -> GradedSamples:
        """n samples per problem through the sample cache, graded attempt by attempt."""
        sampler = LazySampler(self.cfg["sampler"], model)
        try:
            cached = CachedSampler(sampler, Path(self.cfg["cache_dir"]) / "samples", model_id=self.model_ids.get(model),
                                   **self.cfg["cache_check"])
            samples = cached.sample(self.prompts(problems), self.params(n, max_tokens))
        finally:
            sampler.close()
        return grade_by_attempt([p.answer for p in problems], samples, self.separator, self.tokenizer, self.pool)

    def sft_stage(
        self, stage: str, start_model: str, problems, graded: Callable[[], GradedSamples], stitch: dict, train: dict, key: dict,
    ) -> str:
        """Stitch one trace per problem from the samples ``graded()`` returns (called only when the
        stage is not cached) and SFT ``start_model`` on them; returns the model's directory."""
        seed = stage_seed(self.cfg["seed"], stage)

        def produce(tmp: Path) -> None:
            report = build_stitched(
                graded().pools([p.solution for p in problems]), WrongAttemptsConfig(**stitch), self.separator,
                self.cfg["attempts"]["correct_source"], seed, stage,
            )
            prompts = self.prompts([problems[t.problem] for t in report.traces])
            examples, too_long = sft_examples(self.tokenizer, prompts, [t.text for t in report.traces], None)
            summary = report.summary(stitch["max_wrong"]) | {"problems": len(problems), "dropped_too_long": too_long}
            atomic_write_json(tmp / "data_summary.json", summary)
            train_stage("sft", start_model, examples, tmp / "train", TrainConfig(**train), seed, self.cfg["train_launcher"])

        done = self.cache.run(stage, key | {"stitch": stitch, "train": train, "seed": seed}, produce)
        return self._finished(stage, done)

    def format_stage(self, start_model: str, problems, key: dict) -> str:
        """SFT ``start_model`` on the gold solutions of ``problems`` (prompt → reference solution,
        which ends in a box); returns the model's directory."""
        section = self.cfg["format_sft"]
        seed = stage_seed(self.cfg["seed"], "math_format")

        def produce(tmp: Path) -> None:
            examples, _ = sft_examples(self.tokenizer, self.prompts(problems), [p.solution for p in problems], None)  # no length cap: none dropped
            atomic_write_json(tmp / "data_summary.json", {"problems": len(problems), "examples": len(examples)})
            train_stage("sft", start_model, examples, tmp / "train", TrainConfig(**section["train"]), seed, self.cfg["train_launcher"])

        done = self.cache.run("math_format", key | {"train": section["train"], "seed": seed}, produce)
        return self._finished("math_format", done)

    def verifier_stage(self, base: str, problems, graded: GradedSamples, key: dict) -> str:
        """Train the outcome verifier from π_b on the final-answer correctness of ``graded``."""
        section = self.cfg["vb"]["verifier"]
        seed = stage_seed(self.cfg["seed"], "math_verifier")

        def produce(tmp: Path) -> None:
            prompts = [p for p, row in zip(self.prompts(problems), graded.texts) for _ in row]
            texts = [t for row in graded.texts for t in row]
            labels = graded.final_correct.ravel().astype(float)
            examples = verifier_examples(self.tokenizer, prompts, texts, labels, section["max_length"])
            atomic_write_json(tmp / "data_summary.json", {"labelled": len(examples), "positive": int(labels.sum())})
            train_stage("verifier", base, examples, tmp / "train", TrainConfig(**section["train"]), seed, self.cfg["train_launcher"])

        done = self.cache.run("math_verifier", key | {"max_length": section["max_length"], "train": section["train"], "seed": seed}, produce)
        return self._finished("math_verifier", done)

    def _finished(self, stage: str, done: Path) -> str:
        """Record a finished stage's data summary; return its model directory.

        The model's sample-cache name carries the time its stage finished, so samples of an
        earlier model trained into the same directory (after the stage was deleted) are never reused.
        """
        self.reports[stage] = json.loads((done / "data_summary.json").read_text())
        model = str(done / "train" / "model")
        self.model_ids[model] = f"{model}@{(done / DONE).stat().st_mtime_ns}"
        return model



def answer_rate(answers: list[list[str | None]]) -> float:
    """Share of samples with a boxed answer."""
    flat = [a for row in answers for a in row]
    return sum(a is not None for a in flat) / max(1, len(flat))


def answer_keys(answers: list[list[str | None]]) -> np.ndarray:
    """Canonical keys of the answers ("" for none), stored so selection can be redone offline (``analysis/``)."""
    return np.array([[answer_key(a) if a is not None else "" for a in row] for row in answers], dtype=str)


def horizons(cfg: dict) -> list[int]:
    """Matched budgets H = N·h for each N of the grid (h = sampling.max_tokens)."""
    return [n * cfg["sampling"]["max_tokens"] for n in cfg["selection"]["n_grid"]]


def vf_statistics(golds, graded: GradedSamples, tokenizer, pool, cfg: dict, seed: int) -> dict:
    """Per H: final-answer accuracy, answer rate and bi-level return (T = end of the first correct attempt) of
    VF traces of at most H tokens, tokens generated, and the per-problem accuracy for gaps."""
    ev = cfg["eval"]
    out = {}
    answered = answered_within(graded, horizons(cfg), tokenizer)
    for horizon, correct in final_correct_within(golds, graded, horizons(cfg), tokenizer, pool).items():
        per_problem = correct.mean(axis=1)
        acc = mean_ci(per_problem, ev["confidence"], ev["n_bootstrap"], seed)
        stats = performance(graded.solved_at, horizon, ev["confidence"], ev["n_bootstrap"], seed)
        out[str(horizon)] = stats | {
            "accuracy": acc.value, "ci": [acc.low, acc.high], "n": acc.n, "answer_rate": float(answered[horizon].mean()),
            "tokens_mean": float(np.minimum(graded.tokens, horizon).mean()),
            "per_problem_accuracy": per_problem.tolist(),
        }
    return out


def base_statistics(graded: GradedSamples, cfg: dict, seed: int) -> dict:
    """σ_x, c_x(ε) and J_H of π_b at each matched H, from budget-H traces of its first m samples."""
    ev, m = cfg["eval"], cfg["eval"]["samples_per_prompt"]
    solved = np.isfinite(graded.solved_at[:, :m])
    out = {}
    for horizon in horizons(cfg):
        t = solve_times(graded.tokens[:, :m], solved, horizon, n_traces=m, seed=seed, solved_at=graded.solved_at[:, :m])
        out[str(horizon)] = policy_statistics(t, horizon, list(ev["eps"]), ev["c0"], ev["confidence"], ev["n_bootstrap"], seed)
    return out


def gaps(vb_correct: dict, vf: dict, cfg: dict, seed: int) -> dict:
    """Δ(H) = accuracy(VB method at N) − accuracy(VF at H = N·h), paired over problems, with CIs,
    for the methods that use the verifier."""
    ev = cfg["eval"]
    out = {}
    for method, per_n in vb_correct.items():
        if not SELECTIONS[method][1]:
            continue
        out[method] = {}
        for n, horizon in zip(cfg["selection"]["n_grid"], horizons(cfg)):
            est = paired_difference_ci(np.asarray(per_n[n], dtype=float), np.asarray(vf[str(horizon)]["per_problem_accuracy"]),
                                       ev["confidence"], ev["n_bootstrap"], seed)
            out[method][str(horizon)] = est.to_dict()
    return out


def run_math_arms(cfg: Any, out_dir: str | Path) -> dict:
    """Run the MATH arms described by ``cfg``; write and return ``results.json``'s content."""
    cfg = typed_config(cfg, MathArmsConfig)
    validate(cfg)
    start = time.perf_counter()
    train_problems = load_problems(**cfg["data"]["train"])
    eval_problems = load_problems(**cfg["data"]["eval"])
    check_problem_counts(cfg, len(train_problems))
    het, h, n_grid = cfg["heterogeneity"], cfg["sampling"]["max_tokens"], cfg["selection"]["n_grid"]
    arm_problems = train_problems[: cfg["data"]["n"]]
    pretrained = resolve_model(cfg["model"]["name_or_path"])
    common = {"model": pretrained, "backend": backend_of(cfg["sampler"]), "prompt": cfg["prompt"], "sampling": cfg["sampling"],
              "attempts": cfg["attempts"], "data_train": cfg["data"]["train"]}  # what every trained stage depends on
    cache = StageCache(Path(cfg["cache_dir"]) / "stages", **cfg["cache_check"])
    seeds = {"bootstrap": stage_seed(cfg["seed"], "bootstrap"), "traces": stage_seed(cfg["seed"], "traces")}
    with GradingPool(cfg["grading"]["workers"], cfg["grading"]["timeout_s"], cfg["grading"]["set_relation"]) as pool:
        run = MathArms(cfg, cache, pool, load_tokenizer(pretrained))
        base, fmt, formatting = pretrained, cfg["format_sft"], None
        if fmt["enabled"]:
            offset = fmt["problems_offset"]
            base = run.format_stage(pretrained, train_problems[offset : offset + fmt["n_problems"]],
                                    common | {"offset": offset, "n_problems": fmt["n_problems"]})
            before, after = (run.sample(model, eval_problems, fmt["check_samples"], h).final_answers for model in (pretrained, base))
            formatting = {"model": base, "answer_rate_before": answer_rate(before), "answer_rate_after": answer_rate(after),
                          "check_samples": fmt["check_samples"], "data": run.reports["math_format"]}
        if het["enabled"]:
            offset = het["problems_offset"]
            base_problems = train_problems[offset : offset + het["n_problems"]]
            key = common | {"start": base, "offset": offset, "n_problems": het["n_problems"], "samples": het["samples_per_problem"]}
            attempts = partial(run.sample, base, base_problems, het["samples_per_problem"], h)
            base = run.sft_stage("math_base", base, base_problems, attempts, het["wrong"], het["train"], key)
        log.info("base π_b: %s", base)
        train = run.sample(base, arm_problems, cfg["vb"]["traces_per_prompt"], h)
        arm_key = common | {"base": base, "n": cfg["data"]["n"], "samples": cfg["vb"]["traces_per_prompt"]}
        vf_model = run.sft_stage("math_vf", base, arm_problems, lambda: train, cfg["vf"]["stitch"], cfg["vf"]["train"], arm_key)
        verifier_dir = run.verifier_stage(base, arm_problems, train, arm_key)

        golds = [p.answer for p in eval_problems]
        base_eval = run.sample(base, eval_problems, max(n_grid[-1], cfg["eval"]["samples_per_prompt"]), h)
        scorer = HFScorer(verifier_dir, batch_size=cfg["vb"]["verifier"]["score_batch_size"])
        prompts = run.prompts(eval_problems)
        scores = np.array(scorer.score_outcomes([p for p, row in zip(prompts, base_eval.texts) for _ in row],
                                                [t for row in base_eval.texts for t in row])).reshape(base_eval.tokens.shape)
        del scorer
        graded = base_eval.graded(scores)
        match = MemoMatch(pool.match)
        vb_correct = selection_correct(graded, cfg["selection"]["methods"], n_grid, match)
        vb = {
            name: {str(horizon): accuracy_estimate(ok, graded.tokens[:, :n].sum(axis=1).tolist(), cfg["eval"], seeds["bootstrap"])
                   | {"N": n, "answer_rate": answer_rate([row[:n] for row in graded.answers])}
                   for (n, ok), horizon in zip(per_n.items(), horizons(cfg))}
            for name, per_n in vb_correct.items()
        }
        vf_eval = run.sample(vf_model, eval_problems, cfg["vf"]["eval_traces"], horizons(cfg)[-1])
        vf = vf_statistics(golds, vf_eval, run.tokenizer, pool, cfg, seeds["bootstrap"])

    results = results_header("math_arms", cfg, seeds | {"sampling": cfg["sampling"]["seed"], "run": cfg["seed"]}, horizons(cfg)) | {
        "level": het["level"] if het["enabled"] else "none",
        "budget": {"h": h, "n_grid": n_grid},
        "sample_counts": {
            "train_problems": len(arm_problems), "eval_problems": len(eval_problems),
            "base_samples_per_eval_problem": int(base_eval.tokens.shape[1]), "m": cfg["eval"]["samples_per_prompt"],
            "vf_traces_per_eval_problem": cfg["vf"]["eval_traces"],
        },
        "data_budget": {
            "n": cfg["data"]["n"], "samples_per_problem": cfg["vb"]["traces_per_prompt"],
            "train_samples_correct": float(train.final_correct.mean()),
            "vf": run.reports["math_vf"], "vb": run.reports["math_verifier"],
        },
        "format_sft": formatting,
        "base": {"model": base, "sft_data": run.reports.get("math_base"), "answer_rate": answer_rate(graded.answers)},
        "base_stats": base_statistics(base_eval, cfg, seeds["traces"]),
        "arms": {"vf": vf} | vb,
        "gaps": gaps(vb_correct, vf, cfg, seeds["bootstrap"]),
        "stages": cache.summary(),
        "timing_s": {"total": time.perf_counter() - start},
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "graded.npz", base_correct=graded.correct, base_tokens=graded.tokens, base_scores=scores,
                        base_answer_keys=answer_keys(graded.answers), levels=np.array([p.level or 0 for p in eval_problems]),
                        base_solved_at=base_eval.solved_at, vf_tokens=vf_eval.tokens, vf_solved_at=vf_eval.solved_at)
    atomic_write_json(out_dir / "results.json", results)
    print_math_arms(results)
    return results
