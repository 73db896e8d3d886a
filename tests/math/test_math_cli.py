"""The MATH smoke experiment end to end through the real CLI, on fixture problems and tiny local models."""

import json

from tests.conftest import load_results, run_cli
from vbvf.models.tiny_llama import save_tiny_models

PROBLEMS = [
    {"problem": "What is $1+1$?", "solution": "$1+1=\\boxed{2}$.", "answer": "2", "subject": "Algebra", "level": 1, "unique_id": "fixture/1.json"},
    {"problem": "What is $2\\cdot 3$?", "solution": "It is $\\boxed{6}$.", "answer": "6", "subject": "Prealgebra", "level": 1, "unique_id": "fixture/2.json"},
    {"problem": "Simplify $\\frac{2}{4}$.", "solution": "$\\boxed{\\frac12}$", "answer": "\\frac12", "subject": "Algebra", "level": 2, "unique_id": "fixture/3.json"},
]


def test_math_smoke_through_the_cli(tmp_path):
    save_tiny_models(tmp_path / "tiny")
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in PROBLEMS))
    run_cli(["experiment=math_smoke", f"model.name_or_path={tmp_path / 'tiny' / 'policy'}",
             f"verifier.name_or_path={tmp_path / 'tiny' / 'scorer'}", f"data.eval.path={data}",
             f"cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    results = load_results(tmp_path / "run")
    assert {"majority_vote", "weighted_best_of_n", "best_of_n", "pass_at_n"} <= set(results["arms"])
    for per_n in results["arms"].values():
        for stats in per_n.values():
            assert 0 <= stats["accuracy"] <= 1 and stats["tokens_mean"] > 0
    assert set(results["base_stats"]) == {"16", "32", "64"}
