"""Do the batching knobs change what the base LM learns? Held-out gap to the Bayes NLL per batching.

    PYTHONPATH=. python benchmarks/base_fit_batching.py                     # CPU didactic base, mixture high
    PYTHONPATH=. python benchmarks/base_fit_batching.py --steps 1000 --mixture mid --variants random,grouped

Trains the base LM of ``experiment=didactic`` (the CPU config: V = 16, k = 2, elementwise map, the
tiny GPT-2, batch 128, lr 5e-3) once per variant from the same initialisation and data, for exactly
``--steps`` steps (no early stop: the target gap is 0), and prints the held-out gap (nats/token above
the mixture's Bayes NLL, the base's fidelity criterion, docs/DESIGN.md) at every evaluation.
Variants: ``random`` (padded random batches, the default), ``grouped`` (``train.group_by_length``:
in the planted task a trace's length says how many attempts it took, so a length-grouped batch holds
traces of one kind and its gradient is biased) and ``padding_free`` (``train.padding_free``: the same
random batches flattened into one row, which should learn what ``random`` learns).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from vbvf.config import register_configs
from vbvf.pipeline.bases import lm_base
from vbvf.pipeline.stages import StageCache
from vbvf.tasks.planted import PlantedTask

REPO = Path(__file__).resolve().parents[1]


def composed(mixture: str) -> dict:
    """The run's config as ``python -m vbvf.run experiment=didactic mixture=MIXTURE`` composes it."""
    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return OmegaConf.to_container(compose("config", ["experiment=didactic", f"mixture={mixture}"]), resolve=True)


VARIANTS = {"random": {}, "grouped": {"group_by_length": True}, "padding_free": {"padding_free": True}}


def train_base(variant: str, steps: int, cfg: dict, eval_every: int, seed: int) -> dict:
    """One base trained for ``steps`` steps with the batching ``variant``; its fit.json."""
    base = cfg["base_lm"]
    train = dict(base["train"], max_steps=steps, eval_every=eval_every, patience=steps) | VARIANTS[variant]
    task = {k: v for k, v in cfg["task"].items() if k != "_target_"}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        policy = lm_base(PlantedTask(**task), StageCache(tmp), seed, max(cfg["eval"]["horizons"]),
                         cfg["mixture"]["gammas"], cfg["mixture"]["weights"], model=cfg["model"],
                         n_traces=base["n_traces"], train=train, sampler={"device": "cpu"}, target_nll_gap=0.0,
                         n_heldout=base["n_heldout"])
        fit = json.loads((Path(policy.model_dir) / "fit.json").read_text())
        fit["seconds"] = time.perf_counter() - start
    return fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", default="high", choices=["low", "mid", "high"])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {list(VARIANTS)}")
    parser.add_argument("--out", type=Path, help="also write the fit records as json")
    args = parser.parse_args()
    cfg = composed(args.mixture)
    names = args.variants.split(",")
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; expected some of {list(VARIANTS)}")
    fits = {name: train_base(name, args.steps, cfg, args.eval_every, args.seed) for name in names}
    print(f"base LM of experiment=didactic, mixture={args.mixture}, H={max(cfg['eval']['horizons'])}, {args.steps} steps, seed {args.seed}: "
          "held-out gap to the Bayes NLL (nats/token)")
    print("| step | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    curves = {name: {row["step"]: row["value"] for row in fit["history"]} for name, fit in fits.items()}
    for step in sorted(curves[names[0]]):
        print(f"| {step} | " + " | ".join(f"{curves[name].get(step, float('nan')):.4f}" for name in names) + " |")
    for name, fit in fits.items():
        print(f"{name}: best {fit['best']['value']:.4f} at step {fit['best']['step']}, test-prompt gap "
              f"{fit['test_prompts']['gap']:.4f}, {fit['seconds']:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(fits, indent=1))


if __name__ == "__main__":
    main()
