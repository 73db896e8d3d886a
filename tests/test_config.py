"""Configs: every experiment composes; typos and wrong types fail before compute, naming the key."""

import pytest
from hydra.errors import ConfigCompositionException as HydraCompositionError

from tests.conftest import CONF, run_cli
from vbvf.pipeline.didactic import validate


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_composes(compose_config, experiment):
    cfg = compose_config([f"experiment={experiment}"])
    assert cfg.experiment
    assert cfg.pipeline.startswith("vbvf.")


@pytest.mark.parametrize("override,key", [("task.vocab_sise=12", "vocab_sise"), ("eval.horizon=[8]", "horizon")])
def test_unknown_key_is_rejected_with_its_name(compose_config, override, key):
    with pytest.raises(HydraCompositionError, match=key):
        compose_config(["experiment=didactic", override])


def test_wrong_type_is_rejected_with_its_name(compose_config):
    with pytest.raises(HydraCompositionError, match="samples_per_prompt"):
        compose_config(["experiment=didactic", "eval.samples_per_prompt=many"])


def test_cli_rejects_bad_value_before_compute(tmp_path):
    proc = run_cli(["experiment=didactic", "base=procedural", "eval.horizons=[32,16]", f"hydra.run.dir={tmp_path}"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "eval.horizons" in proc.stderr
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("override,key", [
    ("vb.rl.progress.segment_length=0", "vb.rl.progress.segment_length"),
    ("vb.rl.progress.true_value=regret", "vb.rl.progress.true_value"),
    ("vb.rl.train.scale_rewards=group", "scale_rewards=none"),
])
def test_progress_arm_settings_are_checked_before_compute(compose_config, override, key):
    cfg = compose_config(["experiment=didactic", "vb.rl.progress.enabled=true", override])
    with pytest.raises(ValueError, match=key):
        validate(cfg)
    assert compose_config(["experiment=didactic"]).vb.rl.progress.enabled is False  # off by default
