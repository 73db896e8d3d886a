"""Cached artifacts that cannot lie: manifests, damaged stages recomputed, stale temps removed,
unwritable directories and a full disk reported in words."""

import logging
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from vbvf.pipeline.artifacts import require_writable
from vbvf.pipeline.manifest import MANIFEST, check_manifest, write_manifest
from vbvf.pipeline.stages import DONE, StageCache
from vbvf.pipeline.tempdirs import remove_stale_temps, temp_path
from vbvf.policies.samplers import CachedSampler, Completion, SamplingParams


def flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def produce_weights(out):
    np.savez(out / "weights.npz", w=np.arange(1000.0))
    (out / "sub").mkdir()
    (out / "sub" / "note.txt").write_text("a note")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_manifest_catches_truncation_flips_and_missing_files(tmp_path):
    produce_weights(tmp_path)
    entries = write_manifest(tmp_path)
    assert set(entries) == {"weights.npz", "sub/note.txt"}
    assert check_manifest(tmp_path) is None
    flip_byte(tmp_path / "weights.npz")
    assert "sha256" in check_manifest(tmp_path, "small")
    assert check_manifest(tmp_path, "sizes") is None  # sizes-only mode cannot see a flip, by design
    assert check_manifest(tmp_path, "small", hash_max_mb=0.001) is None  # the file is above the hash limit
    assert "sha256" in check_manifest(tmp_path, "all", hash_max_mb=0.001)
    truncate(tmp_path / "weights.npz")
    assert "bytes" in check_manifest(tmp_path, "sizes")
    (tmp_path / "sub" / "note.txt").unlink()
    (tmp_path / "weights.npz").unlink()
    assert "missing" in check_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    assert "unreadable" in check_manifest(tmp_path)
    (tmp_path / MANIFEST).unlink()
    assert "no manifest.json" in check_manifest(tmp_path)
    with pytest.raises(ValueError, match="cache_check.mode"):
        check_manifest(tmp_path, "fast")


@pytest.mark.parametrize("damage", [flip_byte, truncate, lambda p: p.unlink()], ids=["flip", "truncate", "delete"])
def test_a_damaged_stage_is_recomputed_with_a_warning(tmp_path, caplog, damage):
    calls = []

    def produce(out):
        calls.append(1)
        produce_weights(out)

    stage = StageCache(tmp_path).run("model", {"a": 1}, produce)
    assert (stage / MANIFEST).exists() and (stage / DONE).exists()
    damage(stage / "weights.npz")
    cache = StageCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="vbvf.pipeline.stages"):
        again = cache.run("model", {"a": 1}, produce)
    assert again == stage and calls == [1, 1]
    label = f"model/{stage.name}"
    assert label in cache.recomputed and cache.summary()["recomputed"] == cache.recomputed
    assert label in caplog.text and "recomputing" in caplog.text
    assert np.load(again / "weights.npz")["w"].sum() == np.arange(1000.0).sum()
    StageCache(tmp_path).run("model", {"a": 1}, produce)
    assert calls == [1, 1]  # the recomputed stage is trusted again


def test_a_stage_without_manifest_is_not_trusted(tmp_path):
    legacy = StageCache(tmp_path).path("model", {"a": 1})
    legacy.mkdir(parents=True)
    (legacy / "weights.npz").write_text("whatever an older vbvf wrote")
    (legacy / DONE).write_text("")
    cache = StageCache(tmp_path)
    cache.run("model", {"a": 1}, produce_weights)
    assert "no manifest.json" in cache.recomputed[f"model/{legacy.name}"]
    assert check_manifest(legacy) is None


def test_stale_temps_of_dead_writers_are_removed_at_start(tmp_path, caplog):
    host = socket.gethostname()
    stage_dir = tmp_path / "base_lm"
    dead = stage_dir / f".abc.tmp.{dead_pid()}@{host}.0123abcd"
    live = stage_dir / f".abd.tmp.{os.getpid()}@{host}.0123abcd"
    elsewhere = stage_dir / f".abe.tmp.{dead_pid()}@not-{host}.0123abcd"
    finished = stage_dir / "abf"
    for folder in (dead, live, elsewhere, finished):
        (folder / "inner").mkdir(parents=True)
    assert temp_path(finished).name.startswith(".abf.tmp.") and str(os.getpid()) in temp_path(finished).name
    with caplog.at_level(logging.WARNING, logger="vbvf.pipeline.tempdirs"):
        cache = StageCache(tmp_path)
    assert cache.removed_temps == [str(dead)] and "writer pid" in caplog.text
    assert not dead.exists() and live.exists() and elsewhere.exists() and finished.exists()
    assert remove_stale_temps(tmp_path) == []


def test_a_full_disk_leaves_no_half_stage_and_says_so(tmp_path):
    def produce_onto_full_disk(out):
        (out / "weights.npz").symlink_to("/dev/full")  # the kernel answers every write with ENOSPC
        np.savez(out / "weights.npz", w=np.zeros(100_000))

    assert os.path.exists("/dev/full"), "this test needs Linux's /dev/full"
    cache = StageCache(tmp_path)
    with pytest.raises(OSError, match="no space left.*half-written stage was removed"):
        cache.run("model", {"a": 1}, produce_onto_full_disk)
    assert not any((tmp_path / "model").iterdir())  # neither the temp dir nor a final dir is left
    assert cache.computed == []


@pytest.mark.parametrize("path", ["/proc/forbidden/cache", "/proc/self"], ids=["cannot-create", "refuses-writes"])
def test_require_writable_names_the_key_and_path(path):
    with pytest.raises(PermissionError, match=f"cache_dir={path}: not a writable directory"):
        require_writable(path, "cache_dir")


def test_run_with_an_unwritable_cache_dir_fails_before_compute(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "vbvf.run", "experiment=didactic_smoke", "cache_dir=/proc/forbidden",
         f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "cache_dir=/proc/forbidden: not a writable directory" in proc.stderr
    assert not (tmp_path / "run" / "results.json").exists() and "base_lm" not in proc.stdout + proc.stderr


class EchoSampler:
    """A deterministic stand-in sampler: completions name their prompt; counts what it samples."""

    backend, name_or_path = "echo", "echo"

    def __init__(self):
        self.sampled = 0

    def sample(self, prompts, params):
        self.sampled += len(prompts)
        return [[Completion(f"{p}-{i}", 3, "eos") for i in range(params.n)] for p in prompts]


def test_a_damaged_sample_entry_is_resampled(tmp_path, caplog):
    params, inner = SamplingParams(n=2, max_tokens=4, seed=0), EchoSampler()
    first = CachedSampler(inner, tmp_path).sample(["p", "q"], params)
    entries = sorted(p for p in tmp_path.glob("*/*") if p.is_dir() and not p.name.startswith("."))
    assert len(entries) == 2 and all((e / MANIFEST).exists() for e in entries)
    arrow = next(entries[0].glob("*.arrow"))
    truncate(arrow)
    cached = CachedSampler(inner, tmp_path)
    with caplog.at_level(logging.WARNING, logger="vbvf.policies.samplers.cache"):
        again = cached.sample(["p", "q"], params)
    assert again == first and inner.sampled == 3 and list(cached.resampled) == [str(entries[0])]
    assert "resampling" in caplog.text
