"""Time ``python -m vbvf.run experiment=didactic`` end to end from an empty stage cache; print a table.

    python benchmarks/bench_didactic.py [--mixture mid] [extra Hydra overrides...]

Reports the wall time of the whole command and of every stage it computed (from results.json),
and the LM base's fidelity to its mixture (NLL gap to the Bayes predictive, worst |ΔJ_H/H|, median
σ_x at the largest H beside the procedural mixture's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="didactic")
    parser.add_argument("--mixture", default="mid")
    parser.add_argument("--save", type=Path, help="also copy the run's results.json here")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "vbvf.run", f"experiment={args.experiment}", f"mixture={args.mixture}",
               f"cache_dir={tmp}/cache", f"hydra.run.dir={run_dir}", *args.overrides]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        results = json.loads((run_dir / "results.json").read_text())
        if args.save:
            args.save.write_text((run_dir / "results.json").read_text())
    per_stage: dict[str, list[float]] = defaultdict(list)
    for label, seconds in results["stages"]["seconds"].items():
        per_stage[label.split("/")[0]].append(seconds)
    print(f"| {args.experiment} mixture={args.mixture} {' '.join(args.overrides)} | seconds |")
    print("|---|---|")
    for stage, times in per_stage.items():
        print(f"| stage {stage} (x{len(times)}) | {sum(times):.1f} |")
    print(f"| pipeline total (in process) | {results['timing_s']['total']:.1f} |")
    print(f"| command wall time (imports included) | {wall:.1f} |")
    fidelity = results.get("base_fidelity")
    if fidelity:
        nll, top = fidelity["nll"], fidelity["per_horizon"][str(max(results["horizons"]))]
        print(f"| base: NLL gap to Bayes (target {nll['target']}), steps | {nll['heldout_gap']:.4f}, {nll['steps_run']} |")
        print(f"| base: max abs(J/H LM - J/H procedural) (tolerance {fidelity['tolerance']}) | {fidelity['max_abs_J_norm_diff']:.3f} |")
        print(f"| base: median σ_x at H={max(results['horizons'])}, LM / procedural | "
              f"{top['median_sigma']['lm']:.2f} / {top['median_sigma']['procedural']:.2f} |")


if __name__ == "__main__":
    main()
