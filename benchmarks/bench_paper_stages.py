"""Each stage of ``experiment=didactic_paper`` for a fixed number of steps, old and new settings, one process.

    python benchmarks/bench_paper_stages.py [--stages base,grpo,sample,score] [--mixture high] \
        [--peak-tflops 728] [--base-steps 60] [--grpo-steps 6] [--horizon 256] [--variants 'VF|eager'] \
        [--grpo-variants 'static'] [--save FILE]

The task, model (GPT-2 small, 85 M) and data are the paper config's (V = 10, k = 5 contextual,
mixture traces of budget H); weights are random except where a stage needs none. Stages:

- ``base``: base-LM SFT on mixture traces (``vbvf.arms.training.sft``), per variant: seconds per
  step after warm-up, non-pad tokens/s and MFU counted as ``benchmarks/mfu.py`` does.
- ``grpo``: ``rl_finetune`` at budget H with the true reward, trl's ``generate`` rollouts against
  the ``StaticDecoder`` ones, and those with the trainer compiled (eos suppressed in all, so every
  rollout runs the full H: the worst case, which a heterogeneous base approaches at H = 256);
  seconds per step after warm-up, and of them the static rollout's.
- ``sample``: ``LMPolicy.sample`` of 1,024 rows at H, ``decode: generate`` against ``static``.
- ``score``: verifier scoring of mixture traces at H: full-width batches (the old ``step_logits``,
  reimplemented here) against the length-sorted, trimmed ones; also their max difference.
Prints one table; ``--save`` writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, TrainerCallback

from mfu import flops_per_token  # benchmarks/, on sys.path when this script runs
from vbvf.arms.rewards import true_reward
from vbvf.arms.rl import StaticRollout, rl_finetune
from vbvf.arms.training import padded_positions, sft
from vbvf.arms.verifier import step_logits, verifier_inputs
from vbvf.config import RLConfig, TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.policies.lm import LMPolicy, evaluating, trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

MIXTURES = {"low": [0.5], "mid": [1.0, 0.5, 0.25, 0.125],
            "high": [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]}
BASE_VARIANTS = {  # name: TrainConfig overrides over batch 256, lr 3e-4, random batches, eager
    "eager (the paper config until 2026-12-07)": {},
    # the same random batches flattened into one row without padding (exact: tests/test_padding_free.py)
    "padding-free": {"padding_free": True},
    "padding-free, batch 1024": {"padding_free": True, "batch_size": 1024},
    "torch.compile, pad to 16 (the paper config)": {"torch_compile": True, "pad_to_multiple_of": 16},
    "batch 1024, torch.compile, pad to 16": {"batch_size": 1024, "torch_compile": True, "pad_to_multiple_of": 16},
    # the VF stage's SFT settings (batch 128, TF32: bf16 diverged for it), eager and compiled
    "VF settings (batch 128, TF32)": {"batch_size": 128, "bf16": False},
    "VF settings, torch.compile, pad to 16": {"batch_size": 128, "bf16": False, "torch_compile": True, "pad_to_multiple_of": 16},
    # throughput only: length-grouped batches bias the base's fit in the planted task (its gap to the
    # Bayes NLL stalls 4-9x higher, benchmarks/base_fit_batching.py), so no config uses them
    "length groups (biased fit)": {"group_by_length": True},
}


GRPO_VARIANTS = {  # name: RLConfig overrides over the paper's GRPO (16 prompts x 8, beta 0.05, bf16)
    "rollout=generate (the paper config until 2026-12-07)": {"rollout": "generate"},
    "rollout=static (the paper config)": {"rollout": "static"},
    "rollout=static, torch.compile, pad to 16": {"rollout": "static", "torch_compile": True, "pad_to_multiple_of": 16},
}


def sync() -> None:
    """Wait for the GPU's queued work, so a wall-clock reading covers it (nothing on the CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer(TrainerCallback):
    """Wall time of every optimiser step (device synchronised), for a median after warm-up."""

    def __init__(self):
        self.times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        sync()
        self._t = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        sync()
        self.times.append(time.perf_counter() - self._t)

    def steady(self, warmup: int) -> float:
        return float(np.median(self.times[warmup:] if len(self.times) > warmup else self.times))


def paper_task() -> PlantedTask:
    return PlantedTask(vocab_size=10, prompt_length=5, gold_map="contextual", n_train=20000, n_test=256)


def new_lm(task: PlantedTask, horizon: int):
    """GPT-2 small with its position table rounded up to 16, as the paper base is built for pad_to_multiple_of: 16."""
    return build_lm(task, 12, 768, 12, n_positions=padded_positions(task.prompt_length + 2 + horizon, 16), seed=0)


def bench_base(task, mixture, horizon, steps, peak, work: Path, only: str = "") -> list[dict]:
    rows, rng = [], np.random.default_rng(0)
    for name, over in chosen_variants(BASE_VARIANTS, only).items():
        cfg = TrainConfig(**{**dict(max_steps=steps, batch_size=256, learning_rate=3e-4), **over})
        prompts = task.train_prompts[rng.integers(0, len(task.train_prompts), steps * cfg.batch_size)]
        traces = ProceduralPolicy(task, mixture, []).sample(prompts, 1, horizon, 0)[:, 0]
        examples = trace_examples(task, prompts, traces)
        lm, timer = new_lm(task, horizon), StepTimer()
        tokens_per_step = np.mean([len(e["input_ids"]) for e in examples]) * cfg.batch_size
        try:
            sft(lm, build_tokenizer(task), examples, work / name.replace(" ", "_"), cfg, 0, callbacks=(timer,))
        except Exception as error:  # a variant that fails is reported, the others still run
            rows.append({"stage": "base", "variant": name, "error": repr(error)[:200]})
            continue
        sec = timer.steady(warmup=10)
        c = lm.config
        _, per_token = flops_per_token(c.n_layer, c.n_embd, c.vocab_size, tokens_per_step / cfg.batch_size)
        tflops = tokens_per_step * per_token / sec / 1e12
        rows.append({"stage": "base", "variant": name, "batch": cfg.batch_size, "s/step": sec,
                     "tokens/s": tokens_per_step / sec, "TFLOP/s": tflops, "MFU": tflops / peak if peak else None})
    return rows


class RolloutTimer:
    """Wraps ``StaticRollout.__call__`` to record each rollout's seconds (device synchronised): the
    rest of a step is trl's scoring, reference forward, loss and optimiser."""

    def __init__(self):
        self.times: list[float] = []
        self._call = StaticRollout.__call__

    def __enter__(self):
        timer = self

        def timed(rollout, prompts, trainer):
            sync()
            t0 = time.perf_counter()
            out = timer._call(rollout, prompts, trainer)
            sync()
            timer.times.append(time.perf_counter() - t0)
            return out

        StaticRollout.__call__ = timed
        return self

    def __exit__(self, *_):
        StaticRollout.__call__ = self._call


def bench_grpo(task, horizon, steps, work: Path, only: str = "") -> list[dict]:
    endless = EndlessTask(**{f.name: getattr(task, f.name) for f in fields(PlantedTask)})
    policy = work / "endless_policy"
    new_lm(endless, horizon).save_pretrained(policy)
    build_tokenizer(endless).save_pretrained(policy)
    rows = []
    for name, over in chosen_variants(GRPO_VARIANTS, only).items():
        cfg = RLConfig(**{**dict(max_steps=steps, beta=0.05), **over})
        timer = StepTimer()
        try:
            with RolloutTimer() as rollouts:
                rl_finetune(policy, endless, task.train_prompts[:512], true_reward(task, horizon), horizon, cfg,
                            work / f"rl_{len(rows)}", 0, callbacks=(timer,))
        except Exception as error:  # a variant that fails is reported, the others still run
            rows.append({"stage": f"grpo H={horizon}", "variant": name, "error": repr(error)[:200]})
            continue
        rollout = float(np.median(rollouts.times[2:])) if len(rollouts.times) > 2 else None
        rows.append({"stage": f"grpo H={horizon}", "variant": name, "batch": cfg.batch_size * cfg.num_generations,
                     "s/step": timer.steady(warmup=2), "rollout s": rollout, "first step s": timer.times[0]})
    return rows


def chosen_variants(variants: dict, only: str) -> dict:
    """The variants whose name contains one of ``only``'s |-separated parts (all when empty); none is an error."""
    chosen = {name: over for name, over in variants.items() if not only or any(part in name for part in only.split("|"))}
    if not chosen:
        raise SystemExit(f"--variants {only!r} matches none of {list(variants)}")
    return chosen


@dataclass(frozen=True)
class EndlessTask(PlantedTask):
    """Benchmark only: eos takes pad's id, which rollouts never emit, so every rollout runs the full H."""

    @property
    def eos(self) -> int:
        return self.pad


def bench_sample(task, horizon, work: Path) -> list[dict]:
    model_dir = work / "policy"
    if not model_dir.exists():
        new_lm(task, horizon).save_pretrained(model_dir)
    prompts, rows = task.test_prompts[:64], []
    for decode in ("generate", "static"):
        policy = LMPolicy(task, model_dir, batch_size=1024, decode=decode)
        policy.sample(prompts, 16, horizon, 0)  # warm-up (and compile)
        sync()
        start = time.perf_counter()
        traces = policy.sample(prompts, 16, horizon, 1)
        sec = time.perf_counter() - start
        tokens = int((traces != task.pad).sum())
        rows.append({"stage": f"sample H={horizon}", "variant": f"decode={decode}", "batch": 1024, "s/step": sec,
                     "tokens/s": tokens / sec})
    return rows


def bench_score(task, mixture, horizon, work: Path) -> list[dict]:
    model_dir = work / "policy"
    if not model_dir.exists():
        new_lm(task, horizon).save_pretrained(model_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=1).to(device).eval()
    prompts = task.test_prompts[np.arange(32768) % len(task.test_prompts)]
    traces = ProceduralPolicy(task, mixture, []).sample(prompts, 1, horizon, 0)[:, 0]

    def full_width() -> np.ndarray:  # step_logits before the length sort and trim
        ids, attention = verifier_inputs(task, prompts, traces)
        out = np.empty(traces.shape)
        with evaluating(model):
            for lo in range(0, len(ids), 2048):
                batch = torch.as_tensor(ids[lo : lo + 2048], device=device)
                mask = torch.as_tensor(attention[lo : lo + 2048], device=device)
                out[lo : lo + len(batch)] = model(input_ids=batch, attention_mask=mask).logits[:, 7:, 0].float().cpu().numpy()
        return out

    rows, results = [], {}
    for name, run in (("full width (old)", full_width), ("length-sorted, trimmed", lambda: step_logits(model, task, prompts, traces, 2048))):
        try:
            run()
            start = time.perf_counter()
            results[name] = run()
        except torch.OutOfMemoryError as error:  # on an 80 GB H100 after the grpo and sample stages (2026-12-07)
            rows.append({"stage": f"score H={horizon}", "variant": name, "batch": 2048, "error": repr(error)[:200]})
            torch.cuda.empty_cache()
            continue
        sec = time.perf_counter() - start
        rows.append({"stage": f"score H={horizon}", "variant": name, "batch": 2048, "s/step": sec, "tokens/s": len(traces) / sec})
    if len(results) == 2:
        real = traces != task.pad
        rows[-1]["max |diff|"] = float(np.abs(results["full width (old)"] - results["length-sorted, trimmed"])[real].max())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default="base,grpo,sample,score")
    parser.add_argument("--mixture", default="high", choices=sorted(MIXTURES))
    parser.add_argument("--horizon", type=int, default=256)
    parser.add_argument("--base-steps", type=int, default=60)
    parser.add_argument("--grpo-steps", type=int, default=6)
    parser.add_argument("--peak-tflops", type=float, default=0.0)
    parser.add_argument("--variants", default="", help="base stage: only the variants whose name contains one of these |-separated strings")
    parser.add_argument("--grpo-variants", default="", help="grpo stage: the same filter over its variants")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    task, mixture, rows = paper_task(), MIXTURES[args.mixture], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for stage in args.stages.split(","):
            t0 = time.perf_counter()
            if stage == "base":
                rows += bench_base(task, mixture, args.horizon, args.base_steps, args.peak_tflops, work, args.variants)
            elif stage == "grpo":
                rows += bench_grpo(task, args.horizon, args.grpo_steps, work, args.grpo_variants)
            elif stage == "sample":
                rows += bench_sample(task, args.horizon, work)
            elif stage == "score":
                rows += bench_score(task, mixture, args.horizon, work)
            else:
                raise SystemExit(f"--stages: unknown stage {stage!r} (base, grpo, sample, score)")
            gc.collect()  # the stage's models and compiled decoders go before the next stage starts
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            held = f", {torch.cuda.memory_allocated() / 2**30:.1f} GiB still allocated" if torch.cuda.is_available() else ""
            print(f"[{stage}: {time.perf_counter() - t0:.0f} s{held}]", flush=True)
            if args.save:
                args.save.write_text(json.dumps(rows, indent=1))
    keys = ["stage", "variant", "batch", "s/step", "rollout s", "first step s", "tokens/s", "TFLOP/s", "MFU", "max |diff|", "error"]
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(_fmt(row.get(k)) for k in keys) + " |")


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if value < 1 else f"{value:,.1f}"
    return str(value)


if __name__ == "__main__":
    main()
