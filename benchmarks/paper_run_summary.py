"""Print what a didactic_paper run folder holds: its arms (finished and pending) and stage seconds.

    python benchmarks/paper_run_summary.py RUN_DIR [RUN_DIR ...]

Reads ``results.json``, else ``results.partial.json`` (an interrupted run's finished arms, and the finished H of the arm it stopped in); used by
the device scripts to summarise a lease's runs in their output.
"""

import json
import sys
from pathlib import Path


def summary(run_dir: Path) -> str:
    for name in ("results.json", "results.partial.json"):
        path = run_dir / name
        if path.exists():
            results = json.loads(path.read_text())
            seconds = {k: round(v, 1) for k, v in results.get("stages", {}).get("seconds", {}).items()}
            in_progress = {arm: list(by_h) for arm, by_h in results.get("arms_in_progress", {}).items()}
            return (f"{run_dir}: {name} arms {list(results.get('arms', {}))} pending {results.get('pending_arms')}"
                    f" in progress (finished H) {in_progress}\n"
                    f"  stage seconds {seconds}")
    return f"{run_dir}: no results.json, no results.partial.json"


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        print(summary(Path(folder)))
