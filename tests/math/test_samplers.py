import importlib.util
from types import SimpleNamespace

import pytest

from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.policies.samplers import (
    CachedSampler,
    Completion,
    SamplingParams,
    auto_sampler,
    build_sampler,
)
from vbvf.policies.samplers.hf import HFSampler
from vbvf.policies.samplers.vllm import _completion as vllm_completion

PARAMS = SamplingParams(n=3, temperature=1.0, top_p=0.95, max_tokens=6, seed=7)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(save_tiny_llama(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def sampler(model_dir):
    return build_sampler({"_target_": "vbvf.policies.samplers.hf.HFSampler", "name_or_path": model_dir, "batch_size": 2})


class CountingSampler:
    """Wraps a sampler and counts the prompts it is asked to sample."""

    def __init__(self, inner):
        self.inner, self.backend, self.name_or_path = inner, inner.backend, inner.name_or_path
        self.prompts_sampled = 0

    def sample(self, prompts, params):
        self.prompts_sampled += len(prompts)
        return self.inner.sample(prompts, params)


def test_hf_sampler_returns_n_completions_with_token_counts(sampler):
    assert isinstance(sampler, HFSampler)
    (first, second) = sampler.sample(["What is 1+1?", "What is 2+2?"], PARAMS)
    assert len(first) == len(second) == 3
    assert all(isinstance(c, Completion) and 1 <= c.n_tokens <= 6 for c in first + second)
    assert all(c.finish_reason in {"eos", "stop", "length"} for c in first + second)


def test_hf_samples_of_a_prompt_do_not_depend_on_the_batch(sampler):
    alone = sampler.sample(["What is 2+2?"], PARAMS)[0]
    together = sampler.sample(["What is 1+1?", "What is 2+2?"], PARAMS)[1]
    assert alone == together


def test_hf_completion_cuts_at_eos_and_stop_strings(sampler):
    tok = sampler.tokenizer
    ids = tok("ab\n\ncd", add_special_tokens=False)["input_ids"]
    stopped = sampler._completion(ids, SamplingParams(stop=("\n\n",)))
    assert stopped == Completion("ab", len(ids), "stop")
    ended = sampler._completion(ids + [tok.eos_token_id, tok.pad_token_id], SamplingParams())
    assert ended == Completion("ab\n\ncd", len(ids) + 1, "eos")
    padded = sampler._completion(ids + [tok.pad_token_id] * 2, SamplingParams())
    assert padded == Completion("ab\n\ncd", len(ids), "length")


def test_cache_never_resamples(sampler, tmp_path):
    counting = CountingSampler(sampler)
    cached = CachedSampler(counting, tmp_path / "cache")
    prompts = ["What is 1+1?", "What is 2+2?"]
    first = cached.sample(prompts, PARAMS)
    assert counting.prompts_sampled == 2
    again = CachedSampler(counting, tmp_path / "cache").sample(prompts[::-1] + ["What is 3+3?"], PARAMS)
    assert again[:2] == first[::-1]
    assert counting.prompts_sampled == 3  # only the new prompt was sampled
    CachedSampler(counting, tmp_path / "cache").sample(prompts[:1], SamplingParams(**{**PARAMS.__dict__, "seed": 8}))
    assert counting.prompts_sampled == 4  # another seed is another entry
    assert not list((tmp_path / "cache").glob("*/.*"))  # no temporary folders left behind


def test_auto_sampler_falls_back_to_transformers(model_dir):
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM installed")
    assert isinstance(auto_sampler(model_dir, hf={"batch_size": 1}), HFSampler)


def test_vllm_finish_reasons():
    out = SimpleNamespace(text="x", token_ids=[1, 2])
    assert vllm_completion(SimpleNamespace(**vars(out), finish_reason="length", stop_reason=None)).finish_reason == "length"
    assert vllm_completion(SimpleNamespace(**vars(out), finish_reason="stop", stop_reason=None)).finish_reason == "eos"
    assert vllm_completion(SimpleNamespace(**vars(out), finish_reason="stop", stop_reason="\n\n")) == Completion(
        "x", 2, "stop"
    )
