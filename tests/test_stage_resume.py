"""Resumable inside a stage: an interrupted training stage restarts from its last checkpoint, not step 0,
and a stage stopped by SIGINT or SIGTERM first saves the step in flight.

The stage cache names a checkpoint folder while it produces a stage; with
``train.checkpoint_every`` the trainer saves there, and a rerun resumes from the newest
checkpoint with the held-out monitor's curve and best weights, ending where an uninterrupted run
ends. The folder is removed once the stage is done.
"""

import json
import os
import signal

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from vbvf.arms.training import HeldOut, sft
from vbvf.config import HeldOutTrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.pipeline.stages import StageCache
from vbvf.policies.lm import token_nll, trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

TASK = PlantedTask(vocab_size=4, prompt_length=3, n_train=40, n_test=2)
TRAIN = HeldOutTrainConfig(max_steps=8, batch_size=4, learning_rate=1e-2, warmup_ratio=0.0, eval_every=2, patience=10,
                    checkpoint_every=2)


class Steps(TrainerCallback):
    """Counts the optimiser steps this process runs; interrupts after ``stop_after`` of them."""

    def __init__(self, stop_after: int | None = None):
        self.seen, self.stop_after = [], stop_after

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)
        if self.stop_after is not None and len(self.seen) >= self.stop_after:
            raise KeyboardInterrupt("simulated pre-emption")


def produce_with(*callbacks: TrainerCallback):
    def produce(out):
        torch.manual_seed(0)
        prompts = TASK.train_prompts
        traces = ProceduralPolicy(TASK, [0.5]).sample(prompts, 1, 8, seed=0)[:, 0]
        model = build_lm(TASK, 1, 16, 2, n_positions=13, seed=0)
        monitor = HeldOut(metric=lambda lm: token_nll(lm, TASK, prompts[:8], traces[:8]), every=TRAIN.eval_every,
                          patience=TRAIN.patience)
        sft(model, build_tokenizer(TASK), trace_examples(TASK, prompts, traces), out, TRAIN, seed=0, monitor=monitor,
            callbacks=callbacks)
    return produce


def test_an_interrupted_training_stage_resumes_from_its_last_checkpoint(tmp_path):
    torch.set_num_threads(1)
    key = {"stage": "resumable"}
    cache = StageCache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt):
        cache.run("sft", key, produce_with(Steps(stop_after=5)))
    checkpoints = tmp_path / "cache" / "checkpoints" / "sft"
    saved = [p.name for p in next(checkpoints.iterdir()).iterdir() if p.name.startswith("checkpoint-")]
    assert saved == ["checkpoint-4"]  # the newest only

    rerun = Steps()
    done = StageCache(tmp_path / "cache").run("sft", key, produce_with(rerun))
    assert rerun.seen == [5, 6, 7, 8]  # steps 1-4 were not run again
    assert not any(checkpoints.iterdir())  # a finished stage leaves no checkpoints behind

    whole = Steps()
    reference = StageCache(tmp_path / "reference").run("sft", key, produce_with(whole))
    assert whole.seen == list(range(1, 9))
    resumed_fit, reference_fit = (json.loads((d / "fit.json").read_text()) for d in (done, reference))
    assert [h["step"] for h in resumed_fit["history"]] == [0, 2, 4, 6, 8]  # the curve before the interruption kept
    np.testing.assert_allclose([h["value"] for h in resumed_fit["history"]],
                               [h["value"] for h in reference_fit["history"]], rtol=1e-5)
    assert resumed_fit["best"] == pytest.approx(reference_fit["best"], rel=1e-5)
    resumed, whole_run = (load_file(str(d / "model.safetensors")) for d in (done, reference))
    for name, tensor in whole_run.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6)


class Signal(TrainerCallback):
    """Sends this process ``signum`` at the end of optimiser step ``at``, as ``timeout`` or a scheduler would."""

    def __init__(self, at: int, signum: int):
        self.at, self.signum = at, signum

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_the_step_in_flight_and_a_rerun_resumes_there(tmp_path, signum):
    torch.set_num_threads(1)
    key = {"stage": "signalled"}
    steps = Steps()
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt, match=f"{signal.Signals(signum).name} at step 5"):
        StageCache(tmp_path / "cache").run("sft", key, produce_with(steps, Signal(5, signum)))
    assert signal.getsignal(signum) is before  # the handlers are put back
    assert steps.seen == [1, 2, 3, 4, 5]  # the step in flight finished, no later one ran
    checkpoints = tmp_path / "cache" / "checkpoints" / "sft"
    folder = next(checkpoints.iterdir())
    assert [p.name for p in folder.iterdir() if p.name.startswith("checkpoint-")] == ["checkpoint-5"]  # not 4: nothing lost
    assert (folder / "checkpoint-5" / "heldout.json").exists()  # the monitor's state beside it

    rerun = Steps()
    done = StageCache(tmp_path / "cache").run("sft", key, produce_with(rerun))
    assert rerun.seen == [6, 7, 8]
    reference = StageCache(tmp_path / "reference").run("sft", key, produce_with(Steps()))
    resumed, whole_run = (load_file(str(d / "model.safetensors")) for d in (done, reference))
    for name, tensor in whole_run.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6)
