"""The vLLM backend's data parallelism, run on CPU with a stand-in ``vllm`` (tests/math/fake_vllm)."""

import multiprocessing
import sys
from pathlib import Path

import pytest

from vbvf.models.tiny_llama import build_tokenizer
from vbvf.policies.samplers import SamplingParams
from vbvf.policies.samplers import vllm as vllm_backend
from vbvf.policies.samplers.vllm import (
    VLLMSampler,
    VLLMWorkerError,
    gpu_slices,
    merge_round_robin,
    split_round_robin,
    visible_gpus,
)

FAKE_VLLM = Path(__file__).parent / "fake_vllm"
PARAMS = SamplingParams(n=2, max_tokens=5, seed=7)
PROMPTS = ["What is 1+1?", "What is 2+2?", "x", "What is 3+3?", "What is 4+4?"]


@pytest.mark.parametrize("n_shards", [1, 2, 3, 7])
@pytest.mark.parametrize("n_items", [0, 1, 2, 6, 7])
def test_round_robin_shards_merge_back_in_order(n_items, n_shards):
    items = [f"p{i}" for i in range(n_items)]
    shards = split_round_robin(items, n_shards)
    assert len(shards) == n_shards
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert merge_round_robin(shards) == items


def test_gpu_slices_are_consecutive_runs():
    assert gpu_slices(["0", "1", "2", "3"], tensor_parallel_size=2, data_parallel_size=2) == ["0,1", "2,3"]
    assert gpu_slices(["GPU-a", "GPU-b", "GPU-c"], tensor_parallel_size=1, data_parallel_size=2) == ["GPU-a", "GPU-b"]


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3, 5")
    assert visible_gpus() == ["3", "5"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_gpus() == ["0", "1"]


def test_too_few_gpus_fail_before_any_worker_starts(monkeypatch):
    monkeypatch.setattr(vllm_backend, "visible_gpus", lambda: ["0", "1", "2"])
    with pytest.raises(ValueError, match=r"data_parallel_size=2 x tensor_parallel_size=2 needs 4 GPUs"):
        VLLMSampler("unused", tensor_parallel_size=2, data_parallel_size=2)
    with pytest.raises(ValueError, match="data_parallel_size=0"):
        gpu_slices(["0"], tensor_parallel_size=1, data_parallel_size=0)
    assert not multiprocessing.active_children()


@pytest.fixture(scope="module")
def fake_vllm(tmp_path_factory):
    """The stand-in importable here and in the spawned workers (they get our sys.path); two "GPUs"."""
    tokenizer_dir = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer().save_pretrained(tokenizer_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FAKE_VLLM))
        patch.setattr(vllm_backend, "visible_gpus", lambda: ["0", "1"])
        yield str(tokenizer_dir)
    sys.modules.pop("vllm", None)


@pytest.fixture(scope="module")
def single(fake_vllm):
    return VLLMSampler(fake_vllm)


@pytest.fixture(scope="module")
def pair(fake_vllm):
    sampler = VLLMSampler(fake_vllm, data_parallel_size=2)
    yield sampler
    sampler.close()


@pytest.mark.parametrize("n_prompts", [1, 2, 5])
def test_two_engines_sample_as_one(single, pair, n_prompts):
    expected = single.sample(PROMPTS[:n_prompts], PARAMS)
    assert len({c.text for out in expected for c in out}) == 2 * n_prompts  # every prompt is sampled apart
    assert pair.sample(PROMPTS[:n_prompts], PARAMS) == expected
    assert pair.tokenizer.bos_token == "<s>"  # the parent's own tokenizer, for building prompts


def test_worker_exception_surfaces_and_the_workers_keep_serving(single, pair):
    with pytest.raises(VLLMWorkerError, match=r"(?s)vLLM worker 0 \(CUDA_VISIBLE_DEVICES=0\) failed.*boom"):
        pair.sample(["boom", "What is 1+1?", "What is 2+2?"], PARAMS)
    assert pair.sample(PROMPTS, PARAMS) == single.sample(PROMPTS, PARAMS)  # worker 1's answer was not left over


def test_answers_left_by_an_interrupted_sample_are_dropped(single, pair):
    pair.pool.workers[0].request((-1, ["never read"], PARAMS))  # as if sample() was interrupted
    assert pair.sample(PROMPTS, PARAMS) == single.sample(PROMPTS, PARAMS)


def test_dead_worker_is_reported_not_waited_for(fake_vllm):
    sampler = VLLMSampler(fake_vllm, data_parallel_size=2)
    with pytest.raises(VLLMWorkerError, match=r"vLLM worker 1 .* exited with code 3"):
        sampler.sample(["What is 1+1?", "exit"], PARAMS)
    sampler.close()
    assert not any(worker.process.is_alive() for worker in sampler.pool.workers)


def test_engine_that_cannot_start_fails_the_sampler(fake_vllm):
    running = set(multiprocessing.active_children())
    with pytest.raises(VLLMWorkerError, match=r"(?s)vLLM worker 0 .* failed.*unknown dtype 'float8'"):
        VLLMSampler(fake_vllm, data_parallel_size=2, dtype="float8")
    assert set(multiprocessing.active_children()) <= running  # none left running
