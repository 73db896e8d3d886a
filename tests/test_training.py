"""Training wrappers: precision follows the device, and a diverged run never becomes a finished stage."""

from types import SimpleNamespace

import pytest

from vbvf.arms.training import StopOnNonFinite, precision, save_log


def test_precision_on_cpu_is_fp32():
    assert precision() == {"bf16": False, "fp16": False, "tf32": False, "use_cpu": True}


def test_save_log_rejects_non_finite_losses(tmp_path):
    ok = SimpleNamespace(state=SimpleNamespace(log_history=[{"loss": 2.0, "grad_norm": 0.5, "step": 1}, {"train_runtime": 1.0}]),
                         is_world_process_zero=lambda: True)
    assert save_log(ok, tmp_path) == [{"loss": 2.0, "grad_norm": 0.5, "step": 1}]
    diverged = SimpleNamespace(state=SimpleNamespace(log_history=[{"loss": 2.0, "grad_norm": float("nan"), "step": 7}]),
                               is_world_process_zero=lambda: True)
    with pytest.raises(FloatingPointError, match="step 7"):
        save_log(diverged, tmp_path)


def test_a_logged_non_finite_loss_or_grad_norm_stops_training_at_its_log():
    state = SimpleNamespace(global_step=3600)
    StopOnNonFinite().on_log(None, state, None, logs={"loss": 2.3, "grad_norm": 1.2, "learning_rate": 1e-4})
    with pytest.raises(FloatingPointError, match=r"step 3600: \{'grad_norm': nan\}"):
        StopOnNonFinite().on_log(None, state, None, logs={"loss": 2.288, "grad_norm": float("nan")})
    with pytest.raises(FloatingPointError, match="'loss': inf"):
        StopOnNonFinite().on_log(None, state, None, logs={"loss": float("inf")})
