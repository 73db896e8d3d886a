"""Check the multi-GPU guard of the MATH training stages on a host with several GPUs.

    python benchmarks/check_multi_gpu_guard.py

An in-process stage (empty launcher) must train in a child pinned to one GPU; a lone
``python -m vbvf.arms.math_training SPEC`` seeing several GPUs must stop with an error.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from vbvf.arms.math_training import load_tokenizer, train_stage, verifier_examples
from vbvf.config import TrainConfig
from vbvf.models.tiny_llama import save_tiny_llama


def main() -> None:
    print("visible GPUs:", torch.cuda.device_count())
    work = Path(tempfile.mkdtemp())
    policy = save_tiny_llama(work / "policy")
    tokenizer = load_tokenizer(policy)
    examples = verifier_examples(tokenizer, ["Q"] * 32, [f"answer {i}" for i in range(32)], [i % 2 for i in range(32)], 64)
    start = time.perf_counter()
    model = train_stage("verifier", policy, examples, work / "stage", TrainConfig(max_steps=5, batch_size=8), seed=0)
    print(f"in-process stage: trained in {time.perf_counter() - start:.1f} s ->", sorted(p.name for p in model.iterdir()))
    lone = subprocess.run([sys.executable, "-m", "vbvf.arms.math_training", str(work / "stage" / "spec.json")],
                          capture_output=True, text=True)
    print("lone process exit", lone.returncode, "|", lone.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
