"""MATH arms' mechanics at real size: SFT, verifier training and Best-of-N sampling of a ~1B Llama.

    python benchmarks/bench_math_gpu.py [--size 1b|tiny] [--stages sample,sft,verifier] [--steps 20]
        [--processes 0] [--sft-batch 8] [--verifier-batch 16] [--out results.json]

Builds a Llama-3.2-1B-shaped model from ``LlamaConfig`` (hidden 2048, 16 layers, 32 heads, 8 KV
heads, MLP 8192, vocabulary 128256, tied embeddings, rope theta 500000) with random weights, saves
it in bf16 with the local 320-token tokenizer (compute does not depend on which ids are used), and
times the project's own code paths: ``train_stage("sft")`` and ``train_stage("verifier")`` of
``vbvf.arms.math_training`` (bf16 autocast, gradient checkpointing, as ``experiment=math_arms``)
and ``HFSampler.sample`` (transformers ``generate``, bf16). No accuracy claim: the weights are random.

The training texts are random upper-case words, one token per character, so every example has the
same length: a step trains batch × processes × length tokens, none of them padding. "tokens/s" is
steps × that over the trainer's ``train_runtime`` (first step included); "steady" leaves the first
step out (times taken at each step's end, after a device sync; in-process runs only).
``--processes K`` (K ≥ 1) runs the training stages through ``train_stage``'s launcher as
``accelerate launch --num_processes K -m vbvf.arms.math_training SPEC`` (0: in this process).
Sampling counts the tokens ``generate`` returned up to and including EOS (``Completion.n_tokens``).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, TrainerCallback

from vbvf.arms.math_training import sft_examples, train_stage, verifier_examples
from vbvf.config import TrainConfig
from vbvf.models.tiny_llama import build_tokenizer
from vbvf.policies.samplers.base import SamplingParams
from vbvf.policies.samplers.hf import HFSampler

SIZES = {  # model shape, then per-size defaults of the workload
    "1b": dict(hidden=2048, layers=16, heads=32, kv_heads=8, mlp=8192, prompt=150, completion=1896, steps=20,
               sft_batch=8, verifier_batch=16, bon_n=16, bon_h=512, bon_prompts=4),
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, mlp=256, prompt=20, completion=100, steps=3,
                 sft_batch=2, verifier_batch=2, bon_n=4, bon_h=16, bon_prompts=2),
}
VOCAB = 128256


class StepClock(TrainerCallback):
    """Wall time at the end of every optimiser step (after a device sync), and the weights' dtype."""

    times: list[float] = []
    dtype = ""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        StepClock.times, StepClock.dtype = [], str(next(model.parameters()).dtype)

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        StepClock.times.append(time.perf_counter())


def build_model(size: dict, out: Path) -> int:
    """Save a random Llama of ``size`` (bf16, like the hub's Llama 3.2) and the local tokenizer; returns #params."""
    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=VOCAB, hidden_size=size["hidden"], intermediate_size=size["mlp"],
        num_hidden_layers=size["layers"], num_attention_heads=size["heads"], num_key_value_heads=size["kv_heads"],
        max_position_embeddings=4096, rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    del model
    return params


def texts(n: int, length: int, rng: random.Random) -> list[str]:
    """``n`` strings of random upper-case words (one token each character), ``length`` characters each."""
    def text() -> str:
        words, chars = [], -1
        while chars < length:
            words.append("".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 9))))
            chars += len(words[-1]) + 1
        return " ".join(words)[:length]

    return [text() for _ in range(n)]


def peak_gib() -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def fresh() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def time_training(kind: str, model_dir: Path, examples: list[dict], work: Path, train: TrainConfig, processes: int) -> dict:
    """One ``train_stage`` run; tokens/s over ``train_runtime`` and, in process, over steps 2..N."""
    lengths = {len(e["input_ids"]) for e in examples}
    assert len(lengths) == 1, f"examples of several lengths: {sorted(lengths)}"
    length = lengths.pop()
    accelerate = ["accelerate", "launch"] if shutil.which("accelerate") else [sys.executable, "-m", "accelerate.commands.launch"]
    launcher = [*accelerate, "--num_processes", str(processes)] if processes else []
    fresh()
    StepClock.times, StepClock.dtype = [], ""
    start = time.perf_counter()
    out = train_stage(kind, model_dir, examples, work, train, seed=0, launcher=launcher)
    wall = time.perf_counter() - start
    log = json.loads((out / "train_log.json").read_text())
    runtime = next(float(row["train_runtime"]) for row in log if "train_runtime" in row)
    per_step = train.batch_size * max(processes, 1) * length
    clock = StepClock.times
    steady = per_step * (len(clock) - 1) / (clock[-1] - clock[0]) if len(clock) > 2 else None
    trl_tokens = max((float(row["num_tokens"]) for row in log if "num_tokens" in row), default=None)
    shutil.rmtree(work)
    return dict(stage=kind, launch=f"accelerate ×{processes}" if processes else "in process", batch=train.batch_size,
                seq_len=length, steps=train.max_steps, tokens=per_step * train.max_steps, trl_num_tokens=trl_tokens,
                train_runtime_s=runtime, stage_wall_s=wall, tokens_per_s=per_step * train.max_steps / runtime,
                steady_tokens_per_s=steady, peak_gib=None if processes else peak_gib(), weights=StepClock.dtype or None)


def time_sampling(model_dir: Path, size: dict, rng: random.Random) -> dict:
    """Best-of-N sampling: N samples of h tokens for a few prompts through ``HFSampler`` (bf16)."""
    fresh()
    n, h = size["bon_n"], size["bon_h"]
    sampler = HFSampler(str(model_dir), dtype="bfloat16", batch_size=n)
    prompts = texts(size["bon_prompts"] + 1, size["prompt"], rng)
    params = SamplingParams(n=n, temperature=1.0, top_p=1.0, max_tokens=h, seed=0)
    sampler.sample(prompts[:1], replace(params, max_tokens=8))  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    samples = sampler.sample(prompts[1:], params)
    seconds = time.perf_counter() - start
    completions = [c for per_prompt in samples for c in per_prompt]
    tokens = sum(c.n_tokens for c in completions)
    ended = sum(c.finish_reason != "length" for c in completions)
    row = dict(stage="sample", launch=f"HFSampler N={n} h={h}", batch=n, seq_len=size["prompt"] + 1 + h,
               steps=len(prompts) - 1, tokens=tokens, seconds=seconds, tokens_per_s=tokens / seconds,
               ended_before_h=ended, peak_gib=peak_gib(), weights=str(sampler.model.dtype))
    del sampler
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="1b")
    parser.add_argument("--stages", default="sample,sft,verifier", help="comma-separated: sample, sft, verifier")
    parser.add_argument("--processes", default="0", help="comma-separated; 0 = in process, K = accelerate launch ×K")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--sft-batch", type=int)
    parser.add_argument("--verifier-batch", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    size = dict(SIZES[args.size])
    size.update({k: v for k, v in vars(args).items() if k in size and v is not None})
    stages, processes = args.stages.split(","), [int(p) for p in args.processes.split(",")]
    transformers.trainer.DEFAULT_CALLBACKS.append(StepClock)
    rng = random.Random(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        start = time.perf_counter()
        params = build_model(size, model_dir)
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
        print(f"model: {params:,} parameters ({args.size}), built and saved in {time.perf_counter() - start:.1f} s; {device}",
              flush=True)
        tokenizer = build_tokenizer()
        n_examples = size["steps"] * max(max(processes), 1) * max(size["sft_batch"], size["verifier_batch"])
        prompts = texts(n_examples, size["prompt"], rng)
        completions = texts(n_examples, size["completion"], rng)
        if "sample" in stages:
            rows.append(time_sampling(model_dir, size, rng))
            print(rows[-1], flush=True)
        common = dict(max_steps=size["steps"], learning_rate=1e-5, warmup_ratio=0.0, bf16=True, gradient_checkpointing=True)
        labels = [float(rng.random() < 0.5) for _ in prompts]
        examples = {
            "sft": sft_examples(tokenizer, prompts, completions, max_length=None)[0],
            "verifier": verifier_examples(tokenizer, prompts, completions, labels, max_length=2048),
        }
        for k in processes:  # every stage in process first, then under accelerate
            for kind in [s for s in ("sft", "verifier") if s in stages]:
                train = TrainConfig(batch_size=size[f"{kind}_batch"], **common)
                try:
                    rows.append(time_training(kind, model_dir, examples[kind], Path(tmp) / f"{kind}{k}", train, k))
                except (torch.OutOfMemoryError, subprocess.CalledProcessError) as error:  # keep the other stages
                    print(f"{kind} with {k} processes failed: {error!r}", flush=True)
                    continue
                print(rows[-1], flush=True)
    if args.out:
        args.out.write_text(json.dumps(dict(params=params, size=args.size, device=device, rows=rows), indent=1))
    print(f"\n{args.size}: {params:,} parameters, {device}")
    print("| stage | launch | batch/GPU × length | steps | tokens | seconds | tokens/s | steady tokens/s | peak GiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        seconds = r.get("train_runtime_s", r.get("seconds"))
        steady = f"{r['steady_tokens_per_s']:,.0f}" if r.get("steady_tokens_per_s") else "—"
        peak = f"{r['peak_gib']:.1f}" if r.get("peak_gib") is not None else "—"
        print(f"| {r['stage']} | {r['launch']} | {r['batch']} × {r['seq_len']} | {r['steps']} | {r['tokens']:,} | "
              f"{seconds:.1f} | {r['tokens_per_s']:,.0f} | {steady} | {peak} |")


if __name__ == "__main__":
    main()
