"""Sampler throughput: ``LMPolicy.sample`` (batched over prompts and samples) vs plain per-prompt ``generate``.

    python benchmarks/bench_sampler.py [--model tiny] [--prompts 64] [--samples 16] [--horizon 32]

Both draw the same number of traces from the same randomly initialised GPT-2 with a KV cache;
"plain" calls ``generate(num_return_sequences=m)`` once per prompt. Prints generated tokens/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir

from vbvf.config import register_configs
from vbvf.models.gpt2 import build_lm
from vbvf.policies.lm import LMPolicy, prompt_ids
from vbvf.tasks import PlantedTask

CONF = Path(__file__).resolve().parents[1] / "conf"


def model_config(name: str):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=[f"model={name}"]).model


def plain_generate(policy: LMPolicy, task: PlantedTask, prompts: np.ndarray, m: int, horizon: int) -> int:
    tokens = 0
    for head in prompt_ids(task, prompts):
        ids = torch.as_tensor(head[None], device=policy.model.device)
        out = policy.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=0,
                                    num_return_sequences=m, max_new_tokens=horizon, eos_token_id=task.eos,
                                    pad_token_id=task.pad)[:, ids.shape[1]:]
        tokens += int((out != task.pad).sum())
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--horizon", type=int, default=32)
    args = parser.parse_args()
    task = PlantedTask(n_train=100, n_test=args.prompts)
    mc = model_config(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        build_lm(task, mc.n_layer, mc.n_embd, mc.n_head, n_positions=task.prompt_length + 2 + args.horizon).save_pretrained(tmp)
        policy = LMPolicy(task, tmp)
        prompts = task.test_prompts
        rows = []
        start = time.perf_counter()
        traces = policy.sample(prompts, args.samples, args.horizon, seed=0)
        rows.append(("LMPolicy.sample (batched)", int((traces != task.pad).sum()), time.perf_counter() - start))
        start = time.perf_counter()
        tokens = plain_generate(policy, task, prompts, args.samples, args.horizon)
        rows.append(("plain generate per prompt", tokens, time.perf_counter() - start))
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"model={args.model} prompts={args.prompts} samples={args.samples} H={args.horizon} device={device}")
    print("| sampler | tokens | seconds | tokens/s |\n|---|---|---|---|")
    for name, tokens, seconds in rows:
        print(f"| {name} | {tokens} | {seconds:.2f} | {tokens / seconds:,.0f} |")


if __name__ == "__main__":
    main()
