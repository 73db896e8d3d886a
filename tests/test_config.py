"""Configs: every experiment composes; typos and wrong types fail before compute, naming the key."""

import pytest
from hydra.errors import ConfigCompositionException as HydraCompositionError

from tests.conftest import CONF, run_cli
from vbvf.pipeline.didactic import validate
from vbvf.pipeline.math_arms import run_math_arms


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


@pytest.mark.parametrize("experiment,override,key", [
    ("didactic", "heterogeneity=high", "heterogeneity"),
    ("didactic", "math_data=math500", "eval"),
    ("didactic", "vf.stitch.max_wrong=2", "stitch"),
    ("math_arms_smoke", "mixture=high", "mixture"),
    ("math_arms", "vf.enabled=false", "enabled"),
    ("math_arms", "vb.bon.enabled=false", "bon"),
    ("math_arms", "eval.horizons=[8]", "horizons"),
    ("math_arms", "verifier.name_or_path=x", "verifier"),
    ("math_eval", "vf.per_round=2", "vf"),
    ("math_eval", "base=lm", "base"),
    ("math_eval", "arms=math", "arms"),
])
def test_a_knob_of_another_testbed_fails_at_composition(compose_config, experiment, override, key):
    """Each experiment composes against its testbed's root schema: knobs it would ignore are refused, by name."""
    with pytest.raises(HydraCompositionError, match=key):
        compose_config([f"experiment={experiment}", override])


@pytest.mark.parametrize("experiment,override,key", [
    ("math_smoke", "sampler.temprature=0.5", "temprature"),
    ("math_arms", "sampler=vllm", None),
    ("math_arms", "sampler.vllm.tensor_parralel_size=2", "tensor_parralel_size"),
    ("math_eval", "sampler=vllm", None),
    ("math_eval", "verifier.batchsize=4", "batchsize"),
])
def test_target_nodes_are_typed(compose_config, experiment, override, key):
    """The sampler and verifier are _target_ nodes with a schema: a misspelt option fails, naming it."""
    if key is None:
        compose_config([f"experiment={experiment}", override])
        return
    with pytest.raises(HydraCompositionError, match=key):
        compose_config([f"experiment={experiment}", override])


@pytest.mark.parametrize("experiment,override,message", [
    ("didactic", "arms.0._target_=vbvf.arms.components.VFF", "vbvf.arms.components.VFF"),
    ("didactic", "arms.3.role=vbb", "vbb"),
    ("math_arms_smoke", "arms.3._target_=vbvf.arms.math_components.Selektion", "vbvf.arms.math_components.Selektion"),
    ("math_arms_smoke", "arms.1.role=controll", "controll"),
    ("math_arms_smoke", "arms=didactic", "vf.enabled"),  # the didactic arms' switches are no MATH keys
    ("math_arms_smoke", "selection.methods=[best_of_n,best_of_m]", "best_of_m"),
])
def test_a_misspelt_arm_fails_before_compute_naming_it(compose_config, tmp_path, experiment, override, message):
    """Each entry of the arms: list is built (not run) by the pipeline's checks: a _target_ or role
    that does not exist, or a MATH selection rule without an arm, stops the run before any compute."""
    cfg = compose_config([f"experiment={experiment}", "model.name_or_path=/nonexistent", override]
                         if experiment.startswith("math") else [f"experiment={experiment}", override])
    with pytest.raises(Exception, match=message):
        validate(cfg) if experiment == "didactic" else run_math_arms(cfg, tmp_path)
    assert not any(tmp_path.iterdir())
