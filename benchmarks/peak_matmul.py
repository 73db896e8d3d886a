"""Measured bf16 matmul peak of this GPU (TFLOP/s), the denominator of MFU in benchmarks/mfu.py.

    python benchmarks/peak_matmul.py [--size 8192] [--repeats 50]

Times a square bf16 matmul with CUDA events after a warm-up and prints the median rate.
"""

from __future__ import annotations

import argparse
import statistics

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    a = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16)
    for _ in range(10):
        a @ b
    times = []
    for _ in range(args.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    tflops = 2 * args.size**3 / statistics.median(times) / 1e12
    print(f"| {torch.cuda.get_device_name()} | bf16 matmul {args.size}³ | median {tflops:.0f} TFLOP/s |")


if __name__ == "__main__":
    main()
