import inspect
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from vbvf.config import Config
from vbvf.policies.samplers.vllm import VLLMSampler

CONF = Path(__file__).resolve().parents[2] / "conf"
SCHEMA = OmegaConf.structured(Config)


@pytest.mark.parametrize("draft", ["math_eval", "math_smoke"])
def test_experiment_drafts_and_groups_fit_the_schema(draft, experiment_draft):
    sections = experiment_draft(draft)
    for key in ("experiment", "pipeline", "seed", "eval"):  # the foundation's keys
        sections.pop(key)
    groups = {"data": OmegaConf.load(CONF / "math_data" / "math500.yaml")}
    for sampler in ("hf", "vllm", "auto"):
        cfg = OmegaConf.merge(SCHEMA, groups, {"sampler": OmegaConf.load(CONF / "sampler" / f"{sampler}.yaml")}, sections)
        assert cfg.sampler.name_or_path == cfg.model.name_or_path
    assert cfg.search.aggregation == "last" and cfg.selection.n_grid[0] == 1


def test_math_train_group_keeps_the_train_split():
    train = OmegaConf.load(CONF / "math_data" / "math_train.yaml")
    train.pop("defaults")
    cfg = OmegaConf.merge(SCHEMA, {"data": train})
    assert cfg.data.train.unique_id_prefix == "train/" and cfg.data.train.path.endswith("math_train.jsonl")


def test_typos_and_wrong_types_fail():
    with pytest.raises(ConfigKeyError):
        OmegaConf.merge(SCHEMA, {"selection": {"n_gird": [1, 2]}})
    with pytest.raises(ValidationError):
        OmegaConf.merge(SCHEMA, {"grading": {"timeout_s": "soon"}})


def test_vllm_options_in_both_groups_are_constructor_arguments():
    arguments = set(inspect.signature(VLLMSampler).parameters)
    assert set(OmegaConf.load(CONF / "sampler" / "vllm.yaml")) - {"_target_"} <= arguments
    assert set(OmegaConf.load(CONF / "sampler" / "auto.yaml").vllm) <= arguments


def test_documented_vllm_parallelism_overrides_compose(compose_config):
    overrides = ["sampler=vllm", "sampler.tensor_parallel_size=2", "sampler.data_parallel_size=4"]
    cfg = compose_config(["experiment=math_eval", *overrides])
    assert (cfg.sampler.tensor_parallel_size, cfg.sampler.data_parallel_size) == (2, 4)
