"""The lent-GPU scripts refuse bad arguments before any work, naming what was wrong."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_math_smollm2.sh"


def run(args: list[str], tmp_path, gguf: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "SMOLLM2_GGUF": str(gguf), "WORK_DIR": str(tmp_path / "work"), "VBVF_CACHE": str(tmp_path / "cache")}
    return subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"not converted: the checks below stop before it is read")
    return path


@pytest.mark.parametrize("args, message", [
    (["all", "skip", "low", "bogus"], "unknown heterogeneity level 'bogus'"),
    (["arms", "mid", "higher"], "unknown heterogeneity level 'higher'"),
    (["all", "skip"], "usage:"),
    (["everything"], "usage:"),
])
def test_bad_arguments_stop_before_any_run(tmp_path, gguf, args, message):
    proc = run(args, tmp_path, gguf)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "work").exists()  # nothing started


def test_a_missing_gguf_is_named(tmp_path):
    proc = run(["all", "low"], tmp_path, tmp_path / "absent.gguf")
    assert proc.returncode == 2 and f"no GGUF at {tmp_path / 'absent.gguf'}" in proc.stderr
