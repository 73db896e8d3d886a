"""Held-out stopping of training stages: patience, target, best weights restored, fit.json written."""

import json

import numpy as np
import pytest
import torch

from vbvf.arms.training import HeldOut, sft
from vbvf.config import TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.policies.lm import prompt_ids, token_nll, trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

TASK = PlantedTask(vocab_size=4, prompt_length=2, n_train=10, n_test=2)


def train_with(values, tmp_path, **monitor_kwargs):
    """SFT a tiny LM whose held-out metric replays ``values``; also snapshot the weights at each evaluation."""
    torch.set_num_threads(1)
    prompts = TASK.train_prompts
    traces = ProceduralPolicy(TASK, [0.5]).sample(prompts, 1, 8, seed=0)[:, 0]
    model = build_lm(TASK, 1, 16, 2, n_positions=12)
    snapshots = []

    def metric(lm):
        snapshots.append({k: v.detach().clone() for k, v in lm.state_dict().items()})
        return values[min(len(snapshots) - 1, len(values) - 1)]

    monitor = HeldOut(metric=metric, every=1, name="replayed", **monitor_kwargs)
    train = TrainConfig(max_steps=50, batch_size=4, learning_rate=1e-2, warmup_ratio=0.0)
    sft(model, build_tokenizer(TASK), trace_examples(TASK, prompts, traces), tmp_path, train, seed=0, monitor=monitor)
    return model, snapshots, json.loads((tmp_path / "fit.json").read_text())


def test_patience_stops_and_restores_the_best_weights(tmp_path):
    model, snapshots, fit = train_with([3.0, 2.0, 1.0, 1.5, 1.6, 1.7, 1.8], tmp_path, patience=2)
    assert fit["stop_reason"] == "patience"
    assert fit["steps_run"] == 4  # evaluations at steps 0..4; steps 3 and 4 did not improve on step 2
    assert fit["best"]["step"] == 2 and fit["best"]["value"] == 1.0
    assert [row["step"] for row in fit["history"]] == [0, 1, 2, 3, 4]
    best = snapshots[2]
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())
    assert not torch.equal(snapshots[4]["transformer.wte.weight"], best["transformer.wte.weight"])
    assert np.isfinite(fit["mean_train_loss"]) and fit["mean_train_loss"] > 0


def test_target_stops_at_once_and_is_recorded(tmp_path):
    _, _, fit = train_with([3.0, 2.5, 0.5, 0.4], tmp_path, patience=10, target=1.0)
    assert fit["stop_reason"] == "target" and fit["steps_run"] == 2 and fit["reached_target"] is True


def test_a_missed_target_is_recorded_as_missed(tmp_path):
    _, _, fit = train_with([3.0, 2.5, 2.6, 2.7], tmp_path, patience=2, target=1.0)
    assert fit["stop_reason"] == "patience" and fit["reached_target"] is False and fit["best"]["value"] == 2.5


def test_fidelity_report_flags_an_unfaithful_base_in_words():
    from vbvf.pipeline.fidelity import fidelity_report
    from vbvf.stats import policy_statistics

    rng = np.random.default_rng(0)
    faithful_t = rng.integers(2, 10, size=(16, 8))
    stats = lambda t: {str(h): policy_statistics(t, h, [0.5], 0.1, n_resamples=50) for h in (8, 16)}  # noqa: E731
    fit = {"best": {"step": 300, "value": 0.5}, "steps_run": 300, "target": 0.02, "reached_target": False,
           "stop_reason": "max_steps", "bayes_nll_heldout": 1.5, "test_prompts": {"gap": 0.5}}
    same = fidelity_report(stats(faithful_t), stats(faithful_t), None, tolerance=0.1)
    assert same["faithful"] and same["max_abs_J_norm_diff"] == 0 and same["warnings"] == []
    assert same["per_horizon"]["8"]["J_norm"]["diff_ci"]["low"] == same["per_horizon"]["8"]["J_norm"]["diff_ci"]["high"] == 0
    unsolved = np.full_like(faithful_t, np.iinfo(np.int64).max)
    bad = fidelity_report(stats(unsolved), stats(faithful_t), fit, tolerance=0.1)
    assert not bad["faithful"] and bad["max_abs_J_norm_diff"] > 0.5
    assert any("NOT faithful" in w for w in bad["warnings"]) and any("missed its NLL target" in w for w in bad["warnings"])
    success = bad["per_horizon"]["16"]["success"]
    assert (success["lm"], success["procedural"], success["diff"]) == (0.0, 1.0, -1.0)
    assert success["diff_ci"]["low"] == success["diff_ci"]["high"] == -1.0


def test_fidelity_difference_ci_pairs_prompts_and_covers_sampling_noise():
    """Two samples of the same policy differ by noise only: the paired CI of the difference covers 0; a shifted
    policy's CI excludes 0 and contains the shift."""
    from vbvf.pipeline.fidelity import fidelity_report
    from vbvf.stats import policy_statistics

    rng = np.random.default_rng(1)
    hardness = rng.uniform(0.2, 0.8, size=64)[:, None]  # per-prompt success probability, shared by both draws
    draw = lambda p: np.where(rng.random((64, 16)) < p, 4, np.iinfo(np.int64).max)  # noqa: E731
    stats = lambda t: {"8": policy_statistics(t, 8, [0.5], 0.1, n_resamples=500)}  # noqa: E731
    noise = fidelity_report(stats(draw(hardness)), stats(draw(hardness)), None, tolerance=0.1)["per_horizon"]["8"]["success"]
    assert noise["diff_ci"]["low"] < 0 < noise["diff_ci"]["high"] and noise["diff_ci"]["high"] - noise["diff_ci"]["low"] < 0.1
    shifted = fidelity_report(stats(draw(hardness * 0.5)), stats(draw(hardness)), None, tolerance=0.1)["per_horizon"]["8"]["success"]
    assert shifted["diff_ci"]["high"] < 0 and shifted["diff_ci"]["low"] < -0.25 < shifted["diff_ci"]["high"]


def test_a_non_finite_held_out_metric_stops_training_at_once(tmp_path):
    with pytest.raises(FloatingPointError, match="held-out replayed = nan at step 2"):
        train_with([3.0, 2.0, float("nan"), 1.0], tmp_path, patience=10)
    assert not (tmp_path / "fit.json").exists()  # the stage never finishes


def test_token_nll_cut_after_the_longest_trace_equals_full_width():
    """token_nll cuts each batch after its longest trace; the model is causal, so the NLL of a full-width
    pass (reimplemented here) is the same, and batches of other lengths agree."""
    torch.manual_seed(0)
    lm = build_lm(TASK, 2, 16, 2, n_positions=TASK.prompt_length + 2 + 40, seed=0).eval()
    prompts = TASK.train_prompts[:30]
    traces = ProceduralPolicy(TASK, [0.2, 0.6]).sample(prompts, 1, 40, seed=1)[:, 0]
    scored = traces != TASK.pad
    assert 0 < scored.sum(1).max() < 40  # the cut drops columns
    ids = torch.as_tensor(np.concatenate([prompt_ids(TASK, prompts), traces], axis=1), dtype=torch.long)
    start = ids.shape[1] - traces.shape[1]
    with torch.no_grad():
        logits = lm(input_ids=ids, attention_mask=(ids != TASK.pad).long()).logits[:, start - 1 : -1]
    logp = torch.log_softmax(logits.double(), -1).gather(-1, ids[:, start:, None])[..., 0]
    full_width = -float(logp[torch.as_tensor(scored)].sum()) / scored.sum()
    for batch_size in (7, 1024):
        assert token_nll(lm, TASK, prompts, traces, batch_size=batch_size) == pytest.approx(full_width, rel=1e-5)
