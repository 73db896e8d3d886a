"""Transformers sampling throughput: the old per-prompt ``generate`` loop vs ``HFSampler``'s batched calls.

    PYTHONPATH=. python benchmarks/bench_hf_sampling.py --model smollm2_135m --prompts 64 --n 4 --max-tokens 256
    PYTHONPATH=. python benchmarks/bench_hf_sampling.py --random-smollm2 --dtype bfloat16 --prompts 500 --n 4 --max-tokens 1024 \
        --modes per_prompt,batched:256,static:256
    PYTHONPATH=. python benchmarks/bench_hf_sampling.py --prompts 64 --n 16 --modes generate:512,batched:1024 --profile 32

One process, one model, the same prompts (MATH-500 from ``$VBVF_DATA_DIR``, default ../shared/data,
through the kit's prompt builder; synthetic prompts when the file is missing) and sampling
parameters for every mode. Modes: ``per_prompt[:B]`` is the sampler before issue 13 item 5 (one
``generate`` per prompt, B = 16 samples per call, torch's RNG seeded per prompt); ``generate:B`` is
the issue's own measurement (plain ``generate(do_sample=True)``, B rows per call, rows in file order,
each prompt's n samples side by side); ``batched:B`` and ``static:B`` are ``HFSampler`` with B rows
per call and a dynamic or static (compiled on a GPU) KV cache; ``decoder:B`` is ``HFSampler`` with
``decode="static"`` and four cache windows (the kit's static-cache decoder, one CUDA-graph replay
per token; name it twice to time it without its compilation), ``decoder_whole:B`` the same with
``decode_windows=1`` (the sampler's default: every step attends to the whole cache, one graph),
``decoder_sdpa:B`` with transformers' SDPA attention in place of the decoder's (no packed
grouped-query heads, no windows); ``cb:B`` is transformers' continuous
batching (``generate_batch``: paged KV cache, finished rows replaced at once, at most B rows in
flight; torch's RNG, so not the per-row noise), measured here, not offered by the kit (its H100 run
returned truncated samples, docs/PERFORMANCE.md). Each mode first samples one prompt (8 tokens) to
warm up; static-cache compilation for the timed shapes is inside the timing, as in a run. ``same``
is the share of completions identical to the first batched mode's (the per-row noise promises
equality up to floating point); speed-up is against the first mode (a decoder whose CUDA-graph
capture failed says so in a warning). ``--profile N`` then profiles the last mode for N tokens per
row (torch.profiler, top ops by own device time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import yaml

import vbvf
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from vbvf.models.gguf import model_root, resolve_model
from vbvf.models.tiny_llama import build_tokenizer
from vbvf.policies.samplers import Completion, SamplingParams, prompt_seed
from vbvf.policies import static_decode
from vbvf.policies.samplers.hf import HFSampler
from vbvf.tasks.math.data import read_jsonl
from vbvf.tasks.math.prompts import build_prompt, prompt_token_ids

REPO = Path(__file__).resolve().parents[1]
SMOLLM2 = dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
               intermediate_size=1536, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0,
               max_position_embeddings=8192, rms_norm_eps=1e-5)  # SmolLM2-135M's LlamaConfig
OLD_BATCH = 16  # the per-prompt sampler's default samples per call
MODES = "per_prompt[:B], generate[:B], batched[:B], static[:B], decoder[:B], decoder_whole[:B], decoder_sdpa[:B], cb[:B]"
SAMPLER_MODES = ("batched", "static", "decoder", "decoder_whole", "decoder_sdpa")  # HFSampler itself, with its per-row noise
DECODE_ATTENTION = static_decode.use_decode_attention


def model_path(name: str) -> str:
    """A folder or hub id: ``conf/model/NAME.yaml``'s name_or_path for a preset, GGUF names converted."""
    preset = REPO / "conf" / "model" / f"{name}.yaml"
    if preset.is_file():
        name = yaml.safe_load(preset.read_text())["name_or_path"]
    return resolve_model(name)


def smollm2_tokenizer():
    """The converted SmolLM2's tokenizer when a converted folder exists here, else the tiny test tokenizer."""
    folders = sorted(model_root().glob("SmolLM2-135M-Instruct*/tokenizer.json"))
    return AutoTokenizer.from_pretrained(folders[0].parent) if folders else build_tokenizer()


def save_random_smollm2(out_dir: Path, tokenizer_dir: str | None) -> Path:
    """A randomly initialised model of SmolLM2-135M's shape, saved with a tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir) if tokenizer_dir else smollm2_tokenizer()
    eos = tokenizer.eos_token_id
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2, bos_token_id=tokenizer.bos_token_id, eos_token_id=eos,
                                         pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def math_prompts(tokenizer, count: int) -> list[str]:
    """The first ``count`` MATH-500 problems as prompts, or synthetic word problems if the file is missing."""
    data = Path(os.environ.get("VBVF_DATA_DIR", REPO.parent / "shared" / "data")) / "math500.jsonl"
    if data.is_file():
        problems = [p.problem for p in read_jsonl(data)[:count]]
    else:
        print(f"{data} not found: synthetic prompts")
        rng = random.Random(0)
        problems = [" ".join(["Compute"] + [f"{rng.randint(1, 999)} plus" for _ in range(rng.randint(2, 40))] + ["1."])
                    for _ in range(count)]
    return [build_prompt(problem, tokenizer) for problem in problems]


@torch.inference_mode()
def per_prompt(sampler: HFSampler, prompts: list[str], params: SamplingParams, batch: int) -> list[list[Completion]]:
    """The sampler before batching: one ``generate`` per prompt (and per ``batch`` samples), torch's RNG per prompt."""
    out = []
    for prompt in prompts:
        ids = torch.tensor([prompt_token_ids(prompt, sampler.tokenizer)], device=sampler.device)
        completions = []
        for start in range(0, params.n, batch):
            torch.manual_seed(prompt_seed(params.seed, prompt) + start)
            rows = sampler.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=params.temperature,
                top_p=params.top_p, top_k=0, max_new_tokens=params.max_tokens, num_return_sequences=min(batch, params.n - start),
                stop_strings=list(params.stop) or None, tokenizer=sampler.tokenizer, pad_token_id=sampler.pad_id)
            completions += [sampler._completion(row.tolist(), params) for row in rows[:, ids.shape[1]:]]
        out.append(completions)
    return out


@torch.inference_mode()
def plain_generate(sampler: HFSampler, prompts: list[str], params: SamplingParams, batch: int) -> list[list[Completion]]:
    """Plain ``generate(do_sample=True)`` over rows in file order (n per prompt, side by side), ``batch`` rows per call."""
    rows = [prompt_token_ids(p, sampler.tokenizer) for p in prompts for _ in range(params.n)]
    torch.manual_seed(params.seed)
    flat = []
    for start in range(0, len(rows), batch):
        ids, mask = sampler.left_padded(rows[start : start + batch])
        out = sampler.model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=params.temperature,
                                     top_p=params.top_p, top_k=0, max_new_tokens=params.max_tokens, pad_token_id=sampler.pad_id)
        flat += [sampler._completion(row.tolist(), params) for row in out[:, ids.shape[1]:]]
    return [flat[i * params.n : (i + 1) * params.n] for i in range(len(prompts))]


def continuous(sampler: HFSampler, prompts: list[str], params: SamplingParams, batch: int) -> list[list[Completion]]:
    """transformers' continuous batching (``generate_batch``) on the sampler's model: every prompt × n
    sample one request, at most ``batch`` in flight, torch's RNG; samples matched to prompts by their ids."""
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    config = GenerationConfig(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0,
                              max_new_tokens=params.max_tokens, num_return_sequences=params.n,
                              eos_token_id=sorted(sampler.eos_ids), pad_token_id=sampler.pad_id)
    encoded = [prompt_token_ids(p, sampler.tokenizer) for p in prompts]
    outputs = sampler.model.generate_batch(encoded, generation_config=config, progress_bar=False,
                                           continuous_batching_config=ContinuousBatchingConfig(seed=params.seed, max_requests_per_batch=batch))
    by_prompt: dict[tuple, list] = {}
    for request_id, output in outputs.items():
        if output.error is not None:
            raise RuntimeError(f"continuous batching request {request_id} failed: {output.error}")
        by_prompt.setdefault(tuple(output.prompt_ids), []).append(list(output.generated_tokens))
    return [[sampler._completion(tokens, params) for tokens in by_prompt[tuple(ids)][: params.n]] for ids in encoded]


def run_mode(sampler: HFSampler, mode: str, prompts: list[str], params: SamplingParams) -> tuple[list, float]:
    """The samples of ``mode`` (after a one-prompt warm-up) and the seconds they took."""
    kind, _, size = mode.partition(":")
    if kind == "per_prompt":
        draw = lambda ps, p: per_prompt(sampler, ps, p, int(size or OLD_BATCH))  # noqa: E731
    elif kind == "generate":
        draw = lambda ps, p: plain_generate(sampler, ps, p, int(size or 512))  # noqa: E731
    elif kind == "cb":
        draw = lambda ps, p: continuous(sampler, ps, p, int(size or 1024))  # noqa: E731
    elif kind in SAMPLER_MODES:
        sampler.batch_size, sampler.cache_implementation = int(size or 256), ("static" if kind == "static" else None)
        sampler.decode = "static" if kind.startswith("decoder") else "generate"
        sampler.model.set_attn_implementation("sdpa")  # transformers' attention unless the decoder installs its own
        static_decode.use_decode_attention = (lambda model: False) if kind == "decoder_sdpa" else DECODE_ATTENTION
        sampler.decode_windows = 1 if kind == "decoder_whole" else static_decode.WINDOWS
        sampler._decoder = None  # each mode builds its decoder (the compiled step of a shape is reused)
        draw = sampler.sample
    else:
        raise ValueError(f"--modes: unknown mode {mode!r} ({MODES})")
    draw(prompts[:1], SamplingParams(n=1, max_tokens=8, seed=params.seed))
    if sampler.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    samples = draw(prompts, params)
    return samples, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2_135m", help="conf/model preset, gguf:PACKAGE/FILE, folder or hub id")
    parser.add_argument("--random-smollm2", action="store_true", help="random weights of SmolLM2-135M's shape instead")
    parser.add_argument("--tokenizer", help="with --random-smollm2: tokenizer folder (default: converted SmolLM2, else tiny)")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, float16")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--modes", default="per_prompt,batched:256", help=f"comma-separated {MODES}")
    parser.add_argument("--out", type=Path, help="also write the rows as json")
    parser.add_argument("--profile", type=int, default=0, metavar="TOKENS",
                        help="then profile the last mode for TOKENS new tokens per row (torch.profiler: top ops by own time)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(save_random_smollm2(Path(tmp), args.tokenizer)) if args.random_smollm2 else model_path(args.model)
        sampler = HFSampler(path, device=args.device, dtype=args.dtype)
    prompts = math_prompts(sampler.tokenizer, args.prompts)
    params = SamplingParams(n=args.n, temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed)
    device = torch.cuda.get_device_name() if sampler.device.startswith("cuda") else f"cpu, {torch.get_num_threads()} threads"
    print(f"model={'random SmolLM2-135M shape' if args.random_smollm2 else path} dtype={sampler.model.dtype} "
          f"device={device} torch={torch.__version__} kit={Path(vbvf.__file__).parent}")
    print("| mode | prompts | n | max_tokens | generated tokens | ended at eos | seconds | tokens/s | speed-up | same |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    rows, reference = [], None
    for mode in args.modes.split(","):
        samples, seconds = run_mode(sampler, mode, prompts, params)
        flat = [c for per_prompt_samples in samples for c in per_prompt_samples]
        keyed = mode.partition(":")[0] in SAMPLER_MODES  # the per-row noise: comparable token for token
        reference = reference or (flat if keyed else None)
        tokens, eos = sum(c.n_tokens for c in flat), sum(c.finish_reason == "eos" for c in flat) / len(flat)
        same = sum(a == b for a, b in zip(flat, reference)) / len(flat) if keyed else None
        rows.append(dict(mode=mode, prompts=len(prompts), n=args.n, max_tokens=args.max_tokens, tokens=tokens, eos=eos,
                         seconds=seconds, tokens_per_s=tokens / seconds, same=same))
        print(f"| {mode} | {len(prompts)} | {args.n} | {args.max_tokens} | {tokens:,} | {eos:.2f} | {seconds:.1f} "
              f"| {tokens / seconds:,.0f} | {tokens / seconds / rows[0]['tokens_per_s']:.1f}× "
              f"| {'' if same is None else f'{same:.2f}'} |", flush=True)
        if args.out:  # after every mode: a command cut by its timeout keeps the modes it finished
            args.out.write_text(json.dumps(dict(model=path, device=device, rows=rows), indent=1))
    if args.profile:
        profile_mode(sampler, mode, prompts, replace(params, max_tokens=args.profile))


def profile_mode(sampler: HFSampler, mode: str, prompts: list[str], params: SamplingParams) -> None:
    """Where a mode's time goes: the 25 ops with the most own time (device time on a GPU)."""
    from torch.profiler import ProfilerActivity, profile

    cuda = sampler.device.startswith("cuda")
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
        run_mode(sampler, mode, prompts, params)
    print(f"profile of {mode}, {len(prompts)} prompts x {params.n} samples, {params.max_tokens} tokens:")
    print(prof.key_averages().table(sort_by="self_device_time_total" if cuda else "self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()
