"""The didactic arms, in the paper's order: VF (SFT on successes), VB (verifier → BoN, RL), controls.

Both arms get the same data budget: the first ``data.n`` training prompts. VF keeps one
successful base trace per prompt (rejection sampling); VB labels ``vb.traces_per_prompt`` base
traces per prompt with their solve time. Every arm is evaluated at every H of the grid on the
same test prompts with ``eval.samples_per_prompt`` samples each; results go to ``results``.
The progress-reward arms (``vb.rl.progress``) train with VB-RL's settings and differ only in the
reward: per-token credit of a prefix value's increase (``vbvf.arms.progress``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from transformers import AutoModelForCausalLM

from vbvf.arms.bon import best_of_n, candidate_budget, candidate_tiers
from vbvf.arms.components import arm_label, configured_arms, run_in_order
from vbvf.arms.progress import ProgressReward, true_values, verifier_values
from vbvf.arms.rewards import RewardFn, true_reward, verifier_reward
from vbvf.arms.rl import rl_finetune
from vbvf.arms.training import HeldOut, read_fit, sft
from vbvf.arms.verifier import Verifier, VerifierConfig, train_verifier
from vbvf.arms.vf import expert_traces, rejection_sample
from vbvf.config import HeldOutTrainConfig, RLConfig
from vbvf.models.gpt2 import build_tokenizer
from vbvf.pipeline.seeding import stage_seed
from vbvf.pipeline.stages import StageCache, stage_label
from vbvf.policies.lm import LMPolicy, generated_tokens, token_nll, trace_examples
from vbvf.policies.protocols import TracePolicy, TraceVerifier
from vbvf.stats import paired_difference_ci, performance
from vbvf.tasks.planted import UNSOLVED, PlantedTask

log = logging.getLogger(__name__)


def plain(node) -> dict:
    return OmegaConf.to_container(node, resolve=True)


def sample_solve_times(task: PlantedTask, policy: TracePolicy, prompts: np.ndarray, m: int, horizon: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """m traces per prompt at budget H: solve times and generated tokens, both [prompts, m]."""
    traces = policy.sample(prompts, m, horizon, seed)
    gold = np.repeat(task.gold(prompts), m, axis=0)
    solve_time = task.solve_time(traces.reshape(-1, horizon), gold).reshape(len(prompts), m)
    return solve_time, generated_tokens(task, traces)


def arm_summary(solve_time: np.ndarray, tokens: np.ndarray, horizon: int, cfg: DictConfig, seed: int,
                tokens_per_prompt: np.ndarray | None = None) -> dict:
    """Performance with CIs, the T distribution over solved traces, and the tokens spent.

    ``tokens`` are per generated trace (a BoN candidate); ``tokens_per_prompt`` per answer, all
    candidates included (default: one trace per answer). ``compute_matched`` says whether every
    answer stayed within H tokens, which a gap against VF requires (SPEC §2, equal compute).
    """
    per_prompt = tokens if tokens_per_prompt is None else tokens_per_prompt
    out = performance(solve_time, horizon, cfg.eval.confidence, cfg.eval.n_bootstrap, seed)
    solved = solve_time[solve_time <= horizon]
    qs = (0.1, 0.25, 0.5, 0.75, 0.9)
    out["T_quantiles"] = {str(q): float(v) for q, v in zip(qs, np.quantile(solved, qs))} if solved.size else None
    out["tokens_mean"] = float(tokens.mean())
    out["tokens_per_prompt_mean"] = float(per_prompt.mean())
    out["tokens_per_prompt_max"] = int(per_prompt.max())
    out["compute_matched"] = bool(per_prompt.max() <= horizon)
    return out


class ArmRunner:
    """Shared state of one run's arms: task, base, cache, config and the data-budget prompts."""

    def __init__(self, task: PlantedTask, base: LMPolicy, cache: StageCache, cfg: DictConfig):
        self.task, self.base, self.cache, self.cfg = task, base, cache, cfg
        self.train_prompts = task.train_prompts[: cfg.data.n]
        self.test_prompts = task.test_prompts
        self.base_id = stage_label(base.model_dir)
        self.sampler = plain(cfg.sampler)
        self.fits: dict[str, dict | None] = {}  # fit.json of every trained stage, by arm (and H)
        self.per_horizon: dict[str, dict[str, dict]] = {}  # each arm's summaries so far, by H
        self.after_horizon: Callable[[], None] | None = None  # called after each of them
        self._verifier: Verifier | None = None

    def finished(self, arm: str, horizon: int, summary: dict) -> dict:
        """Keep one arm's summary at one H, then tell ``after_horizon`` (the run's partial results)."""
        self.per_horizon.setdefault(arm, {})[str(horizon)] = summary
        if self.after_horizon is not None:
            self.after_horizon()
        return summary

    def key(self, **extra) -> dict:
        return {"base": self.base_id, "n": self.cfg.data.n, "seed": self.cfg.seed, **extra}

    def holdout(self, n_items: int, train: HeldOutTrainConfig, stage: str) -> np.ndarray:
        """A boolean mask of the items a stage holds out of its own data (none when it trains a fixed number of steps)."""
        held = np.zeros(n_items, dtype=bool)
        if train.eval_every > 0 and n_items >= 2:
            n_held = min(n_items - 1, max(1, round(train.holdout_fraction * n_items)))
            held[np.random.default_rng(stage_seed(self.cfg.seed, f"holdout/{stage}")).choice(n_items, n_held, replace=False)] = True
        return held

    def finetune(self, stage: str, key: dict, prompts: np.ndarray, traces: np.ndarray, train: dict, horizon: int) -> Path:
        """SFT a student initialised from π_b on (prompt, trace) pairs: a cached stage.

        With ``train.eval_every`` > 0 a share of the pairs is held out and training stops on their
        NLL (patience); ``fit.json`` also records the student's success within H on the prompts it
        was trained on, sampled after training, so a student that did not fit its data is visible.
        """
        train_cfg = HeldOutTrainConfig(**train)

        def produce(out: Path) -> None:
            model = AutoModelForCausalLM.from_pretrained(self.base.model_dir)
            held = self.holdout(len(prompts), train_cfg, stage)
            monitor = None
            if held.any():
                monitor = HeldOut(metric=lambda lm: token_nll(lm, self.task, prompts[held], traces[held]),
                                  every=train_cfg.eval_every, patience=train_cfg.patience, name="heldout_nll")

            def own_prompt_success() -> dict:
                policy = LMPolicy(self.task, out, **self.sampler)  # the saved (best) weights
                fitted = prompts[~held][: self.cfg.vf.fit_check_prompts]
                t, _ = sample_solve_times(self.task, policy, fitted, 4, horizon, stage_seed(self.cfg.seed, f"fit/{stage}"))
                return {"prompts": int(len(fitted)), "samples_per_prompt": 4, "horizon": horizon, "success": float((t <= horizon).mean())}

            examples = trace_examples(self.task, prompts[~held], traces[~held])
            sft(model, build_tokenizer(self.task), examples, out, train_cfg, stage_seed(self.cfg.seed, stage),
                monitor=monitor, extra={"train_examples": int((~held).sum()), "heldout_examples": int(held.sum()),
                                        "train_prompt_success": own_prompt_success}, key="vf.train")

        return self.cache.run(stage, key, produce)

    def evaluate(self, model_dir: Path, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample a trained policy on the test prompts at budget H: (solve times, tokens), cached."""
        key = {"model": stage_label(model_dir), "horizon": horizon,
               "m": self.cfg.eval.samples_per_prompt, "seed": self.cfg.seed, "sampler": self.sampler}
        seed = stage_seed(self.cfg.seed, f"eval/{horizon}")

        def produce(out: Path) -> None:
            policy = LMPolicy(self.task, model_dir, **self.sampler)
            t, tokens = sample_solve_times(self.task, policy, self.test_prompts, self.cfg.eval.samples_per_prompt, horizon, seed)
            np.savez(out / "eval.npz", solve_time=t, tokens=tokens)

        data = np.load(self.cache.run("eval", key, produce) / "eval.npz")
        return data["solve_time"], data["tokens"]

    def summary(self, solve_time: np.ndarray, tokens: np.ndarray, horizon: int, tokens_per_prompt: np.ndarray | None = None) -> dict:
        return arm_summary(solve_time, tokens, horizon, self.cfg, stage_seed(self.cfg.seed, "bootstrap"), tokens_per_prompt)

    # --- VF -----------------------------------------------------------------------------------

    def vf(self, horizon: int) -> dict:
        """SFT on the first success within H per training prompt (rejection sampling from π_b)."""
        vf = self.cfg.vf
        data_key = self.key(horizon=horizon, per_round=vf.per_round, max_rounds=vf.max_rounds, sampler=self.sampler)

        def produce_data(out: Path) -> None:
            sample = rejection_sample(self.task, self.base, self.train_prompts, horizon, vf.per_round, vf.max_rounds,
                                      stage_seed(self.cfg.seed, f"vf_data/{horizon}"))
            np.savez(out / "data.npz", prompts=sample.prompts, traces=sample.traces, solve_time=sample.solve_time,
                     counts=np.array([sample.samples_drawn, sample.tokens_drawn, sample.prompts_without_success]))

        data = np.load(self.cache.run("vf_data", data_key, produce_data) / "data.npz")
        drawn, tokens_drawn, missing = (int(x) for x in data["counts"])
        stats = {"traces": int(len(data["prompts"])), "samples_drawn": drawn, "tokens_drawn": tokens_drawn,
                 "acceptance_rate": len(data["prompts"]) / max(drawn, 1), "prompts_without_success": missing}
        if len(data["prompts"]):
            model_dir = self.finetune("vf_model", data_key | {"train": plain(vf.train), "fit_check": vf.fit_check_prompts},
                                      data["prompts"], data["traces"], plain(vf.train), horizon)
            self.fits[f"vf@{horizon}"] = read_fit(model_dir)
        else:  # nothing to imitate: the VF student stays π_b, and the results say so
            model_dir = Path(self.base.model_dir)
            stats["note"] = f"no base trace solved within H={horizon} in {drawn} samples: VF is π_b, not fine-tuned"
            log.warning("vf at H=%d: %s", horizon, stats["note"])
        return self.summary(*self.evaluate(model_dir, horizon), horizon) | {"data": stats}

    def vf_expert(self) -> Path:
        """Control: SFT on traces of the sharpest expert μ_1 (T = k) for the same n prompts."""
        horizon = max(self.cfg.eval.horizons)
        traces = expert_traces(self.task, self.train_prompts, horizon, stage_seed(self.cfg.seed, "vf_expert"))
        return self.finetune("vf_expert_model", self.key(horizon=horizon, train=plain(self.cfg.vf.train), fit_check=self.cfg.vf.fit_check_prompts),
                             self.train_prompts, traces, plain(self.cfg.vf.train), horizon)

    # --- VB -----------------------------------------------------------------------------------

    def verifier(self) -> Verifier:
        """Label base traces on the n training prompts with their T and train the verifier (cached)."""
        vb, horizon = self.cfg.vb, max(self.cfg.eval.horizons)
        verifier_cfg = VerifierConfig(labels=vb.verifier.labels, train=HeldOutTrainConfig(**plain(vb.verifier.train)),
                                      score_batch_size=vb.verifier.score_batch_size)
        key = self.key(horizon=horizon, traces_per_prompt=vb.traces_per_prompt, verifier=plain(vb.verifier), sampler=self.sampler)

        def produce(out: Path) -> None:
            prompts = np.repeat(self.train_prompts, vb.traces_per_prompt, axis=0)
            traces = self.base.sample(self.train_prompts, vb.traces_per_prompt, horizon, stage_seed(self.cfg.seed, "vb_data"))
            traces = traces.reshape(-1, horizon)
            t = self.task.solve_time(traces, self.task.gold(prompts))
            held = self.holdout(len(prompts), verifier_cfg.train, "verifier")
            train_verifier(self.task, self.base.model_dir, prompts, traces, t, verifier_cfg, out, stage_seed(self.cfg.seed, "verifier"), held)

        model_dir = self.cache.run("verifier", key, produce)
        return Verifier(self.task, model_dir, vb.verifier.labels, vb.verifier.score_batch_size, self.sampler["device"])

    def trained_verifier(self) -> Verifier:
        """The verifier, trained (or loaded from the cache) once for every VB arm that needs it."""
        if self._verifier is None:
            self._verifier = self.verifier()
            self.fits["verifier"] = read_fit(self._verifier.model_dir)
        return self._verifier

    def bon(self, verifier: Verifier) -> dict[str, dict]:
        """BoN@N at every H with N candidates of ⌊H/N⌋ tokens (``vbvf.arms.bon``), from one nested pool."""
        bon = self.cfg.vb.bon
        cut = self.bon_candidates(verifier)
        out: dict[str, dict] = {f"vb_bon@{n}": {} for n in bon.n_grid}
        for horizon in self.cfg.eval.horizons:
            for n in bon.n_grid:
                h = candidate_budget(horizon, n)
                scores, t, tokens = (x[..., :n] for x in cut[h])
                picked, spent = best_of_n(scores, t, tokens, bon.return_convention)
                stats = self.summary(picked, tokens, horizon, spent)
                out[f"vb_bon@{n}"][str(horizon)] = stats | {"candidates": n, "candidate_budget": h,
                                                            "return_convention": bon.return_convention}
        return out

    def bon_candidates(self, verifier: Verifier) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per candidate budget h, the (scores, solve times, tokens) of the candidates that some (H, N)
        with ⌊H/N⌋ = h needs, [prompts, m, N, ...], each scored once: a cached stage (``bon_candidates``),
        so a run that finds it (the assembly of arms run in parallel jobs) neither samples nor scores."""
        bon, m = self.cfg.vb.bon, self.cfg.eval.samples_per_prompt
        horizons, n_grid = list(self.cfg.eval.horizons), list(bon.n_grid)
        needed: dict[int, int] = {}
        for horizon in horizons:
            for n in n_grid:
                h = candidate_budget(horizon, n)
                needed[h] = max(needed.get(h, 0), n)
        key = self.key(verifier=stage_label(verifier.model_dir), m=m, horizons=horizons,
                       n_grid=n_grid, pool=bon.pool, sampler=self.sampler,
                       score_batch_size=self.cfg.vb.verifier.score_batch_size)  # batching can move bf16 scores

        def produce(out: Path) -> None:
            pool = self.bon_pool(m, max(n_grid), max(horizons))
            arrays = {}
            for h, n in needed.items():
                arrays[f"scores_{h}"], arrays[f"t_{h}"], arrays[f"tokens_{h}"] = self.candidates(verifier, pool[:, :, :n, :h])
            np.savez(out / "candidates.npz", **arrays)

        data = np.load(self.cache.run("bon_candidates", key, produce) / "candidates.npz")
        return {h: (data[f"scores_{h}"], data[f"t_{h}"], data[f"tokens_{h}"]) for h in needed}

    def bon_pool(self, m: int, n_max: int, horizon_max: int) -> np.ndarray:
        """The nested pool [prompts, m, N_max, H_max]: every candidate sampled to H_max (``full``) or each
        tier of candidates to the longest budget it is cut to (``tiered``, pad after)."""
        bon, prompts, seed = self.cfg.vb.bon, self.test_prompts, stage_seed(self.cfg.seed, "bon_pool")
        if bon.pool == "full":
            return self.base.sample(prompts, m * n_max, horizon_max, seed).reshape(len(prompts), m, n_max, horizon_max)
        pool = np.full((len(prompts), m, n_max, horizon_max), self.task.pad, dtype=np.int32)
        for first, stop, budget in candidate_tiers(list(self.cfg.eval.horizons), list(bon.n_grid)):
            if budget > 0:
                tier = self.base.sample(prompts, m * (stop - first), budget, stage_seed(seed, f"tier{first}"))
                pool[:, :, first:stop, :budget] = tier.reshape(len(prompts), m, stop - first, budget)
        return pool

    def candidates(self, verifier: TraceVerifier, traces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Verifier scores, solve times and generated tokens of candidates [prompts, m, N, h] at their budget h."""
        shape, h = traces.shape[:3], traces.shape[3]
        if h == 0:  # ⌊H/N⌋ = 0: nothing generated, nothing solved
            return np.zeros(shape), np.full(shape, UNSOLVED), np.zeros(shape, dtype=np.int64)
        flat = traces.reshape(-1, h)
        flat_prompts = np.repeat(self.test_prompts, shape[1] * shape[2], axis=0)
        t = self.task.solve_time(flat, self.task.gold(flat_prompts)).reshape(shape)
        scores = verifier.score(flat_prompts, flat, h).reshape(shape)
        return scores, t, generated_tokens(self.task, flat).reshape(shape)

    def reward(self, horizon: int, verifier: Verifier | None, progress: bool) -> RewardFn | ProgressReward:
        """The RL reward at H: the verifier's score or, without one, the true R_H/H; with ``progress`` the
        per-token progress of the verifier's prefix score or of the mixture's exact prefix value."""
        if not progress:
            return true_reward(self.task, horizon) if verifier is None else verifier_reward(verifier, horizon)
        settings = self.cfg.vb.rl.progress
        if verifier is None:
            mixture = self.cfg.mixture
            values = true_values(self.task, list(mixture.gammas), list(mixture.weights), horizon, settings.true_value)
        else:
            values = verifier_values(verifier, horizon)
        return ProgressReward(values, settings.segment_length)

    def rl(self, horizon: int, verifier: Verifier | None, progress: bool = False) -> dict:
        """GRPO from π_b on the n training prompts at budget H with the reward of ``reward()`` (VB-RL, controls, progress arms).

        A progress arm uses the same seed as its outcome-reward twin, so both start from the same rollouts.
        """
        train = plain(self.cfg.vb.rl.train)
        reward_kind = "true" if verifier is None else f"verifier:{stage_label(verifier.model_dir)}"
        key = self.key(horizon=horizon, reward=reward_kind, train=train)
        if progress:
            settings = self.cfg.vb.rl.progress
            key["progress"] = {"segment_length": settings.segment_length}
            if verifier is None:
                key["progress"] |= {"value": settings.true_value, "mixture": plain(self.cfg.mixture)}

        def produce(out: Path) -> None:
            rl_finetune(self.base.model_dir, self.task, self.train_prompts, self.reward(horizon, verifier, progress), horizon,
                        RLConfig(**train), out, stage_seed(self.cfg.seed, f"rl/{reward_kind}/{horizon}"))

        model_dir = self.cache.run("rl_model", key, produce)
        return self.summary(*self.evaluate(model_dir, horizon), horizon)

    # --- controls -----------------------------------------------------------------------------

    def optimal(self, horizon: int) -> dict:
        """Control: the optimal policy solves at T = k on every trace."""
        task, m = self.task, self.cfg.eval.samples_per_prompt
        t = np.full((len(self.test_prompts), m), task.prompt_length)
        tokens = t + (task.prompt_length < horizon)  # a_1..a_k, then eos if the budget has room
        return self.summary(t, tokens, horizon)


def gaps(results: dict, cfg: DictConfig, vf_arm: str = "vf", vb_arms: list[str] | None = None) -> dict:
    """Δ(H) = J_H(VB) − J_H(VF) per VB arm, paired over test prompts, with a bootstrap CI.

    ``vb_arms`` default to every arm whose role is ``vb`` (``results['arm_roles']``); ``vf_arm`` is the
    reference (VF, or VB-RL for the progress arm). Only compute-matched arms have a gap: both sides
    must have generated at most H tokens per prompt.
    """
    out = {}
    seed = stage_seed(cfg.seed, "bootstrap")
    names = [name for name, role in results["arm_roles"].items() if role == "vb"] if vb_arms is None else vb_arms
    for name, per_h in results["arms"].items():
        if name not in names or vf_arm not in results["arms"]:
            continue
        out[name] = {}
        for horizon, stats in per_h.items():
            vf = results["arms"][vf_arm][horizon]
            for arm, side in ((name, stats), (vf_arm, vf)):
                if not side["compute_matched"] or side["tokens_per_prompt_max"] > int(horizon):
                    raise ValueError(f"{arm} spent {side['tokens_per_prompt_max']} tokens per prompt at H={horizon}: "
                                     "a gap needs both arms within H (equal compute)")
            est = paired_difference_ci(stats["per_prompt_return"], vf["per_prompt_return"], cfg.eval.confidence,
                                       cfg.eval.n_bootstrap, seed)
            out[name][horizon] = est.to_dict() | {"vf_arm": vf_arm}
    return out


def run_arms(task: PlantedTask, base: LMPolicy, cache: StageCache, cfg: DictConfig, results: dict,
             after_arm: Callable[[dict], None] | None = None) -> None:
    """Train and evaluate every enabled arm (``configured_arms``); fill ``results['arms']``,
    ``['arm_roles']``, ``['fits']``, ``['gaps']`` and ``['data_budget']``.

    ``after_arm`` sees ``results`` after each arm, with the arms so far and ``pending_arms`` (the
    names of the arms still to run), and again after each H of an arm still running, whose summaries
    so far are ``arms_in_progress``: the run writes it as ``results.partial.json``, so an interrupted
    run on a lent machine whose stage cache is lost with it still brings back every finished arm and H."""
    runner, enabled = ArmRunner(task, base, cache, cfg), configured_arms(cfg.arms)
    done: dict = {"arms": {}, "arm_roles": {}, "pending_arms": [arm_label(arm) for arm in enabled]}

    def write() -> None:
        in_progress = {arm: by_h for arm, by_h in runner.per_horizon.items() if arm not in done["arms"]}
        after_arm(results | done | {"arms_in_progress": in_progress, "fits": runner.fits, "stages": cache.summary()})

    def so_far(arms: dict, roles: dict, pending: list[str]) -> None:
        done.update(arms=dict(arms), arm_roles=dict(roles), pending_arms=pending)
        write()

    if after_arm is not None:
        runner.after_horizon = write
    arms, roles = run_in_order(enabled, runner, list(cfg.eval.horizons), so_far if after_arm is not None else None)
    results["arms"] = arms
    results["arm_roles"] = roles
    results["fits"] = runner.fits
    results["gaps"] = gaps(results, cfg)
    # progress against outcome reward: J_H(vb_progress) − J_H(vb_rl), paired over test prompts
    results["progress_vs_outcome"] = gaps(results, cfg, "vb_rl", ["vb_progress"]).get("vb_progress", {})
    results["data_budget"] = {
        "n_prompts": cfg.data.n,
        "vf_traces_per_prompt": 1,
        "vb_traces_per_prompt": cfg.vb.traces_per_prompt,
        "vb_labelled_traces": cfg.data.n * cfg.vb.traces_per_prompt,
    }
