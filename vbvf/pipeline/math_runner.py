"""The MATH arms' stages; trained models go through the stage cache and samples through the sample
cache. The arms (``vbvf/arms/math_components.py``) pull what they need (``vf_arm``, ``selection_arm``);
each shared stage runs once."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbvf.arms.math_training import sft_examples, train_stage, verifier_examples
from vbvf.arms.training import read_fit
from vbvf.arms.selection import accuracy_estimate, selection_correct
from vbvf.arms.voting import MemoMatch
from vbvf.config import TrainConfig
from vbvf.pipeline.artifacts import atomic_write_json
from vbvf.pipeline.math_statistics import answer_rate, horizons, vf_statistics
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import DONE, StageCache
from vbvf.policies.samplers import CachedSampler, LazySampler, SamplingParams, backend_of
from vbvf.policies.scorer import HFScorer
from vbvf.tasks.math import GradingPool, build_prompt
from vbvf.tasks.math.attempts import build_stitched
from vbvf.tasks.math.config import WrongAttemptsConfig
from vbvf.tasks.math.samples import Graded, GradedSamples, grade_by_attempt

log = logging.getLogger(__name__)


@dataclass
class MathArms:
    """One run's shared state (config, caches, grading pool, tokenizer, problems) and its stages:
    base policy → arm samples → VF model → VF evaluation; arm samples → verifier → base evaluation →
    selections. The cached properties run each stage once, when an arm (or the pipeline) first needs it."""

    cfg: dict
    cache: StageCache
    pool: GradingPool
    tokenizer: Any
    pretrained: str  # the resolved pretrained model
    train_problems: list  # data.train
    eval_problems: list  # data.eval
    reports: dict = field(default_factory=dict)  # data summaries of the training stages
    fits: dict = field(default_factory=dict)  # fit.json of the training stages
    model_ids: dict = field(default_factory=dict)  # trained model dir -> its sample-cache name

    @property
    def arm_problems(self) -> list:
        """The arms' training problems: the first data.n of data.train."""
        return self.train_problems[: self.cfg["data"]["n"]]

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
        """Record a finished stage's data summary and fit; return its model directory.

        The model's sample-cache name carries the time its stage finished, so samples of an
        earlier model trained into the same directory (after the stage was deleted) are never reused.
        """
        self.reports[stage] = json.loads((done / "data_summary.json").read_text())
        model = done / "train" / "model"
        self.fits[stage] = read_fit(model)
        self.model_ids[str(model)] = f"{model}@{(done / DONE).stat().st_mtime_ns}"
        return str(model)

    @property
    def h(self) -> int:
        return self.cfg["sampling"]["max_tokens"]

    @property
    def stage_key(self) -> dict:
        """What every trained stage depends on."""
        cfg = self.cfg
        return {"model": self.pretrained, "backend": backend_of(cfg["sampler"]), "prompt": cfg["prompt"],
                "sampling": cfg["sampling"], "attempts": cfg["attempts"], "data_train": cfg["data"]["train"]}

    def base_policy(self) -> tuple[str, dict | None]:
        """Stage 1, π_b: the pretrained model, first SFT'd on gold solutions (``format_sft``) and then on
        traces of j wrong attempts before a right one (``heterogeneity``) when enabled; with the format
        SFT's report (or None)."""
        base, fmt, formatting = self.pretrained, self.cfg["format_sft"], None
        if fmt["enabled"]:
            offset = fmt["problems_offset"]
            base = self.format_stage(self.pretrained, self.train_problems[offset : offset + fmt["n_problems"]],
                                     self.stage_key | {"offset": offset, "n_problems": fmt["n_problems"]})
            before, after = (self.sample(model, self.eval_problems, fmt["check_samples"], self.h).final_answers
                             for model in (self.pretrained, base))
            formatting = {"model": base, "answer_rate_before": answer_rate(before), "answer_rate_after": answer_rate(after),
                          "check_samples": fmt["check_samples"], "data": self.reports["math_format"]}
        het = self.cfg["heterogeneity"]
        if het["enabled"]:
            offset = het["problems_offset"]
            base_problems = self.train_problems[offset : offset + het["n_problems"]]
            key = self.stage_key | {"start": base, "offset": offset, "n_problems": het["n_problems"], "samples": het["samples_per_problem"]}
            attempts = partial(self.sample, base, base_problems, het["samples_per_problem"], self.h)
            base = self.sft_stage("math_base", base, base_problems, attempts, het["wrong"], het["train"], key)
        log.info("base π_b: %s", base)
        return base, formatting

    def arm_samples(self, base: str) -> GradedSamples:
        """Stage 2, the data of both arms: ``vb.traces_per_prompt`` samples of π_b per arm problem."""
        return self.sample(base, self.arm_problems, self.cfg["vb"]["traces_per_prompt"], self.h)

    def arm_key(self, base: str) -> dict:
        return self.stage_key | {"base": base, "n": self.cfg["data"]["n"], "samples": self.cfg["vb"]["traces_per_prompt"]}

    def vf_model(self, base: str, train: GradedSamples) -> str:
        """Stage 3, VF: π_b SFT'd on one stitched trace per arm problem."""
        vf = self.cfg["vf"]
        return self.sft_stage("math_vf", base, self.arm_problems, lambda: train, vf["stitch"], vf["train"], self.arm_key(base))

    def verifier_model(self, base: str, train: GradedSamples) -> str:
        """Stage 4, VB's verifier: π_b with a scalar head, trained on the final-answer correctness of ``train``."""
        return self.verifier_stage(base, self.arm_problems, train, self.arm_key(base))

    def base_eval(self, base: str, verifier_dir: str) -> tuple[GradedSamples, Graded, np.ndarray]:
        """Stage 5: π_b's samples on the evaluation problems, graded and scored by the verifier."""
        samples = self.sample(base, self.eval_problems, max(self.cfg["selection"]["n_grid"][-1], self.cfg["eval"]["samples_per_prompt"]), self.h)
        scorer = HFScorer(verifier_dir, batch_size=self.cfg["vb"]["verifier"]["score_batch_size"])
        prompts = self.prompts(self.eval_problems)
        scores = np.array(scorer.score_outcomes([p for p, row in zip(prompts, samples.texts) for _ in row],
                                                [t for row in samples.texts for t in row])).reshape(samples.tokens.shape)
        del scorer
        return samples, samples.graded(scores), scores

    def vb_selections(self, graded: Graded, seed: int) -> tuple[dict, dict]:
        """Stage 6, VB: each selection method on the first N samples at H = N·h; per method and N the
        per-problem correctness (for gaps) and, per H, accuracy, tokens and answer rate."""
        n_grid = self.cfg["selection"]["n_grid"]
        correct = selection_correct(graded, self.cfg["selection"]["methods"], n_grid, MemoMatch(self.pool.match))
        estimates = {
            name: {str(horizon): accuracy_estimate(ok, graded.tokens[:, :n].sum(axis=1).tolist(), self.cfg["eval"], seed)
                   | {"N": n, "answer_rate": answer_rate([row[:n] for row in graded.answers])}
                   for (n, ok), horizon in zip(per_n.items(), horizons(self.cfg))}
            for name, per_n in correct.items()
        }
        return correct, estimates

    def vf_eval(self, vf_model: str) -> GradedSamples:
        """Stage 7, VF at test: ``vf.eval_traces`` traces of at most the largest H per evaluation problem."""
        return self.sample(vf_model, self.eval_problems, self.cfg["vf"]["eval_traces"], horizons(self.cfg)[-1])

    # --- each stage once, for the arms and the pipeline -----------------------------------------

    @property
    def bootstrap_seed(self) -> int:
        return stage_seed(self.cfg["seed"], "bootstrap")

    @cached_property
    def base(self) -> tuple[str, dict | None]:
        """π_b's directory and the format SFT's report (``base_policy``)."""
        return self.base_policy()

    @cached_property
    def train(self) -> GradedSamples:
        """The data of both arms (``arm_samples``)."""
        return self.arm_samples(self.base[0])

    @cached_property
    def scored(self) -> tuple[GradedSamples, Graded, np.ndarray]:
        """π_b's evaluation samples, graded and scored by the verifier it trains (``base_eval``)."""
        base = self.base[0]
        return self.base_eval(base, self.verifier_model(base, self.train))

    @cached_property
    def selected(self) -> tuple[dict, dict]:
        """Every rule of ``selection.methods`` on the scored samples (``vb_selections``)."""
        return self.vb_selections(self.scored[1], self.bootstrap_seed)

    @cached_property
    def vf_evaluated(self) -> tuple[GradedSamples, dict]:
        """VF's test traces (``vf_eval`` of the ``vf_model`` it trains) and their per-H statistics."""
        graded = self.vf_eval(self.vf_model(self.base[0], self.train))
        golds = [p.answer for p in self.eval_problems]
        return graded, vf_statistics(golds, graded, self.tokenizer, self.pool, self.cfg, self.bootstrap_seed)

    def vf_arm(self) -> dict:
        """The VF arm's summary per H."""
        return self.vf_evaluated[1]

    def selection_arm(self, method: str) -> dict:
        """A selection rule's summary per H (its N, accuracy, tokens and answer rate)."""
        return self.selected[1][method]
