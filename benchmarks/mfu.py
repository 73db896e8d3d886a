"""Model FLOPs utilisation of a finished training stage, from its ``train_log.json`` and ``config.json``.

    python benchmarks/mfu.py STAGE_DIR [--peak-tflops 790]

FLOPs are counted as in Kaplan et al. (2020): per trained token, 6·N for the matrix work of the
parameters (N = all parameters except the position embeddings; the tied input/output embedding
counts once, as the output projection) plus 6·n_layer·L·d for attention scores and values,
with L the mean sequence length. Tokens are trl's ``num_tokens`` (non-pad tokens seen); time is
the trainer's ``train_runtime``. MFU = achieved FLOP/s over the peak you pass (measure it with
``benchmarks/peak_matmul.py`` on the same machine).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def flops_per_token(n_layer: int, n_embd: int, vocab_size: int, mean_len: float) -> tuple[float, float]:
    """(counted parameters N, training FLOPs per token 6·N + 6·n_layer·L·d) as the docstring says."""
    params = n_layer * 12 * n_embd * n_embd + vocab_size * n_embd  # blocks (attention 4d², MLP 8d²) + embedding/output
    return params, 6 * params + 6 * n_layer * n_embd * mean_len


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage_dir", type=Path)
    parser.add_argument("--peak-tflops", type=float, default=790.0)
    args = parser.parse_args()
    config = json.loads((args.stage_dir / "config.json").read_text())
    history = json.loads((args.stage_dir / "train_log.json").read_text())
    tokens = max(float(row["num_tokens"]) for row in history if "num_tokens" in row)
    runtime = next(float(row["train_runtime"]) for row in history if "train_runtime" in row)
    steps = max(int(row.get("step", 0)) for row in history)
    d, layers = config["n_embd"], config["n_layer"]
    batch_size = json.loads((args.stage_dir / "stage.json").read_text())["key"]["train"]["batch_size"]
    mean_len = tokens / max(steps * batch_size, 1)
    params, per_token = flops_per_token(layers, d, config["vocab_size"], min(mean_len, config["n_positions"]))
    flops = tokens * per_token
    achieved = flops / runtime / 1e12
    print(f"| model | params (counted) | tokens | seconds | TFLOP/s | MFU vs {args.peak_tflops:.0f} |")
    print("|---|---|---|---|---|---|")
    print(f"| {layers}x{d} | {params / 1e6:.1f}M | {tokens:.3g} | {runtime:.1f} | {achieved:.1f} | {achieved / args.peak_tflops:.1%} |")


if __name__ == "__main__":
    main()
