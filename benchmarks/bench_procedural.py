"""Time the procedural mixture's sampler at the paper base's size; print a table.

    PYTHONPATH=. python benchmarks/bench_procedural.py [--traces 400000] [--horizon 256] [--mixture high]

The paper base trains on ``base_lm.n_traces`` = 400,000 mixture traces of H = 256, drawn on the CPU
while the GPU waits (``vbvf/pipeline/bases.py``). Each row runs in a fresh process (a first touch of
large arrays is part of what a run pays) and reports seconds and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import yaml

ONE_RUN = """
import json, resource, sys, time
import numpy as np
from vbvf.policies import ProceduralPolicy
from vbvf.tasks import PlantedTask
traces, horizon, gammas = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
task = PlantedTask(vocab_size=10, prompt_length=5, n_train=20000, n_test=64, seed=0)
prompts = task.train_prompts[np.random.default_rng(1).integers(0, len(task.train_prompts), traces)]
start = time.perf_counter()
out = ProceduralPolicy(task, gammas).sample(prompts, 1, horizon, seed=1)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "mean_length": float((out != task.pad).sum(-1).mean())}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=400_000)
    parser.add_argument("--horizon", type=int, default=256)
    parser.add_argument("--mixture", default="high", choices=["low", "mid", "high"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with open(f"conf/mixture/{args.mixture}.yaml") as handle:
        gammas = yaml.safe_load(handle)["gammas"]
    print(f"{args.traces:,} traces of H = {args.horizon}, mixture {args.mixture} (V = 10, k = 5), one process per row")
    print(f"{'run':>4} {'seconds':>8} {'peak RSS MiB':>13} {'mean length':>12}")
    for run in range(1, args.repeats + 1):
        done = subprocess.run([sys.executable, "-c", ONE_RUN, str(args.traces), str(args.horizon), json.dumps(gammas)],
                              capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{run:>4} {row['seconds']:>8.1f} {row['peak_rss_mib']:>13,.0f} {row['mean_length']:>12.1f}")


if __name__ == "__main__":
    main()
