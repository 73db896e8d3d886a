"""End-to-end MATH evaluation: exact numbers with scripted samples, then a tiny-model smoke run."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from omegaconf import OmegaConf

for foundation in ("vbvf.stats", "vbvf.pipeline.artifacts", "vbvf.pipeline.seeding"):
    pytest.importorskip(foundation)  # written on the foundation branch

from tests.math.conftest import group_option  # noqa: E402
from vbvf.models.tiny_llama import save_tiny_models  # noqa: E402
from vbvf.pipeline.math_eval import run_math_eval  # noqa: E402
from vbvf.policies.samplers import Completion  # noqa: E402
from vbvf.policies.samplers.hf import HFSampler  # noqa: E402

CONF = Path(__file__).resolve().parents[2] / "conf"
PROBLEMS = [
    {"problem": "What is 1+1?", "answer": "2"},
    {"problem": "What is 1/2?", "answer": r"\frac{1}{2}"},
]
# per problem: (completion, tokens, verifier score)
SCRIPT = {
    "What is 1+1?": [(r"\boxed{3}", 10, 0.9), (r"\boxed{2}", 20, 0.2), (r"\boxed{\frac{4}{2}}", 30, 0.3), (r"\boxed{2.0}", 40, 0.5)],
    "What is 1/2?": [(r"\boxed{0.5}", 5, 0.1), ("no box", 5, 0.8), (r"\boxed{1}", 5, 0.7), (r"\boxed{1}", 5, 0.6)],
}


def _problem_of(text):
    return next(q for q in SCRIPT if q in text)


class ScriptedSampler:
    backend, name_or_path = "scripted", "scripted"
    tokenizer = SimpleNamespace(chat_template=None)

    def __init__(self, **config):
        self.config = config

    def sample(self, prompts, params):
        return [[Completion(t, k, "eos") for t, k, _ in SCRIPT[_problem_of(p)][: params.n]] for p in prompts]


class ScriptedVerifier:
    def __init__(self, **config):
        self.score = {text: s for rows in SCRIPT.values() for text, _, s in rows}

    def score_outcomes(self, prompts, completions):
        return [self.score[c] for c in completions]


def _target(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def write_problems(path, rows):
    lines = [
        json.dumps({"solution": "", "subject": "Algebra", "level": 1, "unique_id": f"test/algebra/{i}.json", **row})
        for i, row in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def draft_config(tmp_path, experiment_draft):
    """``draft_config(**overrides)``: the math_smoke draft with the groups it names, on 2 problems."""
    return lambda **overrides: OmegaConf.merge(
        {"data": OmegaConf.load(CONF / "math_data" / "math500.yaml"), "sampler": group_option("sampler", "hf")},
        experiment_draft("math_smoke"),
        {"cache_dir": str(tmp_path / "cache"), "data": {"eval": {"path": str(write_problems(tmp_path / "p.jsonl", PROBLEMS))}}},
        overrides,
    )


def test_scripted_samples_give_exact_accuracies_and_tokens(tmp_path, draft_config):
    cfg = draft_config(
        sampler={"_target_": _target(ScriptedSampler)},
        verifier={"_target_": _target(ScriptedVerifier)},
        search=None,
        eval={"samples_per_prompt": 4},
    )
    results = run_math_eval(cfg, tmp_path / "out")
    accuracy = {name: [by_n[str(n)]["accuracy"] for n in (1, 2, 4)] for name, by_n in results["arms"].items()}
    assert accuracy == {
        "majority_vote": [0.5, 0.5, 0.5],
        "weighted_best_of_n": [0.5, 0.5, 0.5],
        "best_of_n": [0.5, 0.0, 0.0],
        "pass_at_n": [0.5, 1.0, 1.0],
    }
    tokens = [results["arms"]["majority_vote"][str(n)]["tokens_mean"] for n in (1, 2, 4)]
    assert tokens == [7.5, 20.0, 60.0]
    low, high = results["arms"]["pass_at_n"]["1"]["ci"]
    assert 0 <= low <= 0.5 <= high <= 1
    # H = 16: problem 1's correct attempts take 20+ tokens, so it is never solved (σ = 0);
    # problem 2 solves at 5, 10 or 15 tokens or not at all, depending on the draws (σ > 0).
    sigma = results["base_stats"]["16"]["heterogeneity"]["per_prompt_sigma"]
    assert sigma[0] == 0.0 and sigma[1] > 0.0
    assert json.loads((tmp_path / "out" / "results.json").read_text())["arms"] == results["arms"]
    # the base by problem level (both level 1): 3/4 and 1/4 of the samples right, 7 of 8 boxed
    assert results["base"]["answer_rate"] == 7 / 8
    level = results["base"]["by_level"]["1"]
    assert (level["problems"], level["sample_accuracy"], level["answer_rate"], level["H"]) == (2, 0.5, 7 / 8, 64)
    assert level["median_sigma"] == float(np.median(results["base_stats"]["64"]["heterogeneity"]["per_prompt_sigma"]))
    assert set(level["median_c_x"]) == {"0.25", "0.5", "1.0", "2.0"}
    assert np.load(tmp_path / "out" / "graded.npz")["levels"].tolist() == [1, 1]


def test_verifier_methods_without_a_verifier_fail_before_compute(tmp_path, draft_config):
    cfg = draft_config(verifier=None, search=None)
    with pytest.raises(ValueError, match="needs a verifier"):
        run_math_eval(cfg, tmp_path / "out")


def test_tiny_model_smoke_run_and_rerun_from_cache(tmp_path, monkeypatch, draft_config):
    policy, scorer = save_tiny_models(tmp_path / "tiny")
    cfg = draft_config(
        model={"name_or_path": str(policy)},
        verifier={"name_or_path": str(scorer)},
        sampling={"max_tokens": 12},
        search={"n_grid": [2], "max_steps": 2},
    )
    first = run_math_eval(cfg, tmp_path / "run1")
    searches = {f"{name}{vote}" for name in ("beam_search", "dvts") for vote in ("", "_majority_vote", "_weighted_vote")}
    assert set(first["arms"]) == {"majority_vote", "weighted_best_of_n", "best_of_n", "pass_at_n"} | searches
    for name, by_n in first["arms"].items():
        for n, est in by_n.items():
            assert 0 <= est["ci"][0] <= est["accuracy"] <= est["ci"][1] <= 1, (name, n)
            assert est["tokens_mean"] > 0
    assert set(first["base_stats"]) == {"16", "32", "64"}

    def no_sampling(*args, **kwargs):
        raise AssertionError("a rerun must not sample")

    monkeypatch.setattr(HFSampler, "sample", no_sampling)
    second = run_math_eval(cfg, tmp_path / "run2")
    assert second["arms"] == first["arms"]
    assert second["base_stats"] == first["base_stats"]
