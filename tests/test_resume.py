"""Resumable stages: a crash or SIGKILL loses nothing finished, and a rerun matches an uninterrupted run."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env, load_results
from vbvf.pipeline import arms as arms_module
from vbvf.pipeline import didactic
from vbvf.pipeline.stages import DONE, StageCache
from vbvf.policies.lm import LMPolicy

SMOKE = ["experiment=didactic_smoke", "vf.expert_control=false", "eval.horizons=[4]", "vb.bon.n_grid=[2]"]


def comparable(results: dict) -> dict:
    """Everything but wall-clock timing and which stages were reused."""
    return {k: v for k, v in results.items() if k not in ("timing_s", "stages", "config", "config_hash")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, request):
    """An uninterrupted smoke run in a fresh cache."""
    root = tmp_path_factory.mktemp("reference")
    return run_in_process(request, root / "cache", root / "run")


def run_in_process(request, cache_dir, run_dir, extra: tuple = ()) -> dict:
    from hydra import compose, initialize_config_dir

    from vbvf.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*SMOKE, f"cache_dir={cache_dir}", *extra])
    run_dir.mkdir(parents=True, exist_ok=True)
    return didactic.run(cfg, run_dir)


ARM_SWITCHES = ("vf.enabled", "vb.bon.enabled", "vb.rl.enabled", "vb.rl.true_reward_control", "controls.optimal",
                "vb.rl.progress.enabled", "vb.rl.progress.true_control")


def test_arms_split_across_jobs_assemble_the_single_run(tmp_path, request, reference, monkeypatch):
    """benchmarks/device_paper_arms.sh runs a study's arms in separate jobs on one cache, then one run with
    every arm: no stage key may depend on which arms a job runs, so that run trains nothing, samples
    nothing (base samples, evaluations and BoN candidates are cached stages) and reports what one
    uninterrupted run reports."""
    cache = tmp_path / "cache"
    for group in (("vf.enabled", "vb.bon.enabled", "controls.optimal"), ("vb.rl.enabled", "vb.rl.progress.enabled"),
                  ("vb.rl.true_reward_control", "vb.rl.progress.true_control")):
        off = [f"{switch}=false" for switch in ARM_SWITCHES if switch not in group]
        part = run_in_process(request, cache, tmp_path / group[0], tuple(off))
        assert part["arms"] and set(part["arms"]) <= {"vf", "vb_bon@1", "vb_bon@2", "optimal", "vb_rl", "vb_progress",
                                                      "rl_true", "rl_true_progress"}

    def no_sampling(*args, **kwargs):
        raise AssertionError("the assembly sampled a model: a stage it needs is not cached")

    monkeypatch.setattr(LMPolicy, "sample", no_sampling)
    assembled = run_in_process(request, cache, tmp_path / "all")
    assert assembled["stages"]["computed"] == []
    assert comparable(assembled) == comparable(reference)


def test_stage_cache_reuses_finished_and_never_trusts_failed(tmp_path):
    cache = StageCache(tmp_path)
    calls = []

    def crash(out):
        (out / "partial.bin").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.run("stage", {"a": 1}, crash)
    assert not cache.path("stage", {"a": 1}).exists()
    assert not list((tmp_path / "stage").iterdir())  # the temp dir was cleaned up too
    first = cache.run("stage", {"a": 1}, lambda out: calls.append(1) or (out / "x").write_text("1"))
    again = cache.run("stage", {"a": 1}, lambda out: calls.append(2))
    assert first == again and calls == [1] and (first / DONE).exists()
    other = cache.run("stage", {"a": 2}, lambda out: calls.append(3))
    assert other != first and calls == [1, 3]


def test_raise_inside_a_stage_then_resume(tmp_path, request, reference, monkeypatch):
    real = arms_module.train_verifier

    def broken(*args, **kwargs):
        raise RuntimeError("verifier training interrupted")

    monkeypatch.setattr(arms_module, "train_verifier", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        run_in_process(request, tmp_path / "cache", tmp_path / "run")
    # the finished arm (VF) is already on disk, with what was still to run; no results.json yet
    partial = json.loads((tmp_path / "run" / "results.partial.json").read_text())
    assert not (tmp_path / "run" / "results.json").exists()
    assert list(partial["arms"]) == ["vf"] and partial["arms"]["vf"] == reference["arms"]["vf"]
    assert partial["pending_arms"][:2] == ["BestOfN", "vb_rl"]
    assert partial["base_stats"] == reference["base_stats"]
    monkeypatch.setattr(arms_module, "train_verifier", real)
    resumed = run_in_process(request, tmp_path / "cache", tmp_path / "run")
    assert not (tmp_path / "run" / "results.partial.json").exists()
    stages = resumed["stages"]
    assert any(s.startswith("base_lm/") for s in stages["reused"])
    assert any(s.startswith("vf_model/") for s in stages["reused"])
    assert [s for s in stages["computed"] if s.startswith("verifier/")]
    assert not [s for s in stages["computed"] if s.startswith(("base_lm/", "vf_data/", "vf_model/"))]
    assert comparable(resumed) == comparable(reference)


def test_interrupt_inside_an_arm_keeps_its_finished_horizons(tmp_path, request, monkeypatch):
    """An arm stopped at its second H still reports its first in ``arms_in_progress``, equal to what
    the resumed run reports for that H."""
    two_h = ("eval.horizons=[4,8]",)
    real = arms_module.ArmRunner.rl

    def stop_at_8(self, horizon, verifier, progress=False):
        if horizon == 8 and verifier is not None:
            raise KeyboardInterrupt("time limit")
        return real(self, horizon, verifier, progress)

    monkeypatch.setattr(arms_module.ArmRunner, "rl", stop_at_8)
    with pytest.raises(KeyboardInterrupt):
        run_in_process(request, tmp_path / "cache", tmp_path / "run", two_h)
    partial = json.loads((tmp_path / "run" / "results.partial.json").read_text())
    assert list(partial["arms"]) == ["vf", "vb_bon@2"] and "vb_rl" in partial["pending_arms"]
    assert list(partial["arms_in_progress"]) == ["vb_rl"] and list(partial["arms_in_progress"]["vb_rl"]) == ["4"]
    monkeypatch.setattr(arms_module.ArmRunner, "rl", real)
    resumed = run_in_process(request, tmp_path / "cache", tmp_path / "run", two_h)
    assert partial["arms_in_progress"]["vb_rl"]["4"] == resumed["arms"]["vb_rl"]["4"]
    assert partial["arms"]["vf"] == resumed["arms"]["vf"]


def test_sigkill_mid_run_then_resume(tmp_path, request, reference):
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "vbvf.run", *SMOKE, f"cache_dir={cache}", f"hydra.run.dir={tmp_path / 'killed'}"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=cli_env())
    deadline = time.time() + 300
    while time.time() < deadline and not list(cache.glob("base_lm/*/DONE")):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # the base is finished; whatever stage runs now is cut mid-way
    proc.wait()
    assert list(cache.glob("base_lm/*/DONE")), "the base stage never finished before the deadline"
    subprocess.run([*cmd[:-1], f"hydra.run.dir={tmp_path / 'resumed'}"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=600, env=cli_env())
    resumed = load_results(tmp_path / "resumed")
    assert any(s.startswith("base_lm/") for s in resumed["stages"]["reused"])
    for done in cache.glob("*/*"):
        if done.parent.name != ".locks":  # the stage locks (stages.py) are files, not stages
            assert done.name.startswith(".") or (done / DONE).exists()  # every trusted dir is complete
    assert not list(cache.glob("*/.*.tmp.*"))  # the killed writer's temp dir went at the rerun's start
    assert comparable(resumed) == comparable(reference)


def test_damaged_cached_artifacts_are_recomputed_not_used(tmp_path, request, reference):
    cache = tmp_path / "cache"
    run_in_process(request, cache, tmp_path / "first")
    (weights,) = cache.glob("base_lm/*/model.safetensors")
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit pattern inside a tensor
    weights.write_bytes(bytes(data))
    evaluation = next(cache.glob("eval/*/eval.npz"))
    evaluation.write_bytes(evaluation.read_bytes()[:100])
    rerun = run_in_process(request, cache, tmp_path / "rerun")
    recomputed = rerun["stages"]["recomputed"]
    assert sorted(label.split("/")[0] for label in recomputed) == ["base_lm", "eval"]
    assert "sha256" in recomputed[f"base_lm/{weights.parent.name}"]
    assert "bytes" in recomputed[f"eval/{evaluation.parent.name}"]
    assert comparable(rerun) == comparable(reference)


def _count_and_wait(out):
    """A stage that records each computation of it and takes long enough for a second job to arrive."""
    marks = Path(os.environ["VBVF_TEST_MARKS"])
    (marks / f"{os.getpid()}-{time.monotonic_ns()}").write_text("")
    time.sleep(1.0)
    (out / "value.txt").write_text("42")


def _job(root, marks, ready):
    os.environ["VBVF_TEST_MARKS"] = str(marks)
    ready.wait()
    path = StageCache(root).run("shared", {"k": 1}, _count_and_wait)
    return (path / "value.txt").read_text()


def test_parallel_jobs_compute_a_shared_stage_once(tmp_path):
    """Three processes ask for the same stage at once: one computes it, the others wait and reuse it."""
    marks = tmp_path / "marks"
    marks.mkdir()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        ready = manager.Event()
        with context.Pool(3) as pool:
            results = [pool.apply_async(_job, (tmp_path / "cache", marks, ready)) for _ in range(3)]
            ready.set()
            values = [r.get(timeout=120) for r in results]
    assert values == ["42"] * 3
    assert len(list(marks.iterdir())) == 1  # computed once
