import inspect
from dataclasses import fields
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from tests.math.conftest import group_option
from vbvf.config import (
    AutoSamplerConfig,
    HFOptions,
    HFSamplerConfig,
    MathArmsConfig,
    MathEvalConfig,
    ScorerConfig,
    VLLMOptions,
    VLLMSamplerConfig,
)
from vbvf.policies.samplers.hf import HFSampler
from vbvf.policies.samplers.vllm import VLLMSampler
from vbvf.policies.scorer import HFScorer

CONF = Path(__file__).resolve().parents[2] / "conf"
SCHEMA = OmegaConf.structured(MathEvalConfig)
SAMPLERS = {name: OmegaConf.structured(schema) for name, schema in
            (("hf", HFSamplerConfig), ("vllm", VLLMSamplerConfig), ("auto", AutoSamplerConfig))}


@pytest.mark.parametrize("draft", ["math_eval", "math_smoke"])
def test_experiment_drafts_and_groups_fit_the_schema(draft, experiment_draft):
    sections = experiment_draft(draft)
    for key in ("experiment", "pipeline", "seed", "eval"):  # the foundation's keys
        sections.pop(key)
    groups = {"data": OmegaConf.load(CONF / "math_data" / "math500.yaml")}
    for sampler in ("hf", "vllm", "auto"):
        cfg = OmegaConf.merge(SCHEMA, groups, {"sampler": OmegaConf.merge(SAMPLERS[sampler], group_option("sampler", sampler))}, sections)
        assert cfg.sampler.name_or_path == cfg.model.name_or_path
    assert cfg.search.aggregation == "last" and cfg.selection.n_grid[0] == 1


def test_math_train_group_keeps_the_train_split():
    train = OmegaConf.load(CONF / "math_data" / "math_train.yaml")
    train.pop("defaults")
    cfg = OmegaConf.merge(OmegaConf.structured(MathArmsConfig), {"data": train})
    assert cfg.data.train.unique_id_prefix == "train/" and cfg.data.train.path.endswith("math_train.jsonl")


def test_typos_and_wrong_types_fail():
    with pytest.raises(ConfigKeyError):
        OmegaConf.merge(SCHEMA, {"selection": {"n_gird": [1, 2]}})
    with pytest.raises(ValidationError):
        OmegaConf.merge(SCHEMA, {"grading": {"timeout_s": "soon"}})


def test_sampler_and_verifier_schemas_are_constructor_arguments():
    for schema, target in ((VLLMSamplerConfig, VLLMSampler), (VLLMOptions, VLLMSampler), (HFSamplerConfig, HFSampler),
                           (HFOptions, HFSampler), (ScorerConfig, HFScorer)):
        assert {f.name for f in fields(schema)} - {"_target_"} <= set(inspect.signature(target).parameters), schema
    for name, schema in SAMPLERS.items():  # the group files set exactly the schema's keys
        assert set(group_option("sampler", name)) == set(schema)


def test_documented_vllm_parallelism_overrides_compose(compose_config):
    overrides = ["sampler=vllm", "sampler.tensor_parallel_size=2", "sampler.data_parallel_size=4"]
    cfg = compose_config(["experiment=math_eval", *overrides])
    assert (cfg.sampler.tensor_parallel_size, cfg.sampler.data_parallel_size) == (2, 4)
