import importlib.util
import re
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.policies.samplers import (
    CachedSampler,
    Completion,
    SamplingParams,
    auto_sampler,
    build_sampler,
)
from vbvf.policies.samplers.hf import HFSampler, bucket
from vbvf.policies.samplers.vllm import _completion as vllm_completion
from vbvf.tasks.math.prompts import prompt_token_ids

PARAMS = SamplingParams(n=3, temperature=1.0, top_p=0.95, max_tokens=6, seed=7)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(save_tiny_llama(tmp_path_factory.mktemp("tiny")))


PROMPTS = ["What is 1+1?", "Solve for $x$: $2x + 3 = 7$. Subtract 3, then divide by 2.", "Hi"]  # 11, 30, 3 tokens
GREEDY = SamplingParams(n=1, temperature=0.0, max_tokens=16)


@pytest.fixture(scope="module")
def sampler(model_dir):
    return build_sampler({"_target_": "vbvf.policies.samplers.hf.HFSampler", "name_or_path": model_dir, "batch_size": 2})


@pytest.fixture(scope="module")
def one_by_one(model_dir):
    """One row per generate call: no padding, no other rows."""
    return HFSampler(model_dir, batch_size=1)


@pytest.fixture(scope="module")
def one_call(model_dir):
    """Every row of the tests in a single generate call."""
    return HFSampler(model_dir, batch_size=64)


@pytest.fixture(scope="module")
def static_call(model_dir):
    """The static-cache decoder in place of generate (eager on the CPU), every row of a test in one call."""
    return HFSampler(model_dir, batch_size=64, decode="static")


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


@pytest.mark.parametrize("params", [PARAMS, replace(PARAMS, n=4, temperature=0.7, top_p=1.0, max_tokens=10)])
def test_hf_batched_samples_equal_one_by_one(sampler, one_by_one, one_call, params):
    """Prompts of different lengths, n not a multiple of batch_size: same samples in any batching."""
    alone = one_by_one.sample(PROMPTS, params)
    assert sampler.sample(PROMPTS, params) == alone
    assert one_call.sample(PROMPTS, params) == alone
    assert len({c.text for c in alone[1]}) > 1  # the samples of a prompt differ from each other
    assert one_call.sample(PROMPTS, replace(params, seed=params.seed + 1)) != alone


@pytest.mark.parametrize("params", [PARAMS, replace(PARAMS, n=4, temperature=0.7, top_p=1.0, max_tokens=10), GREEDY])
def test_static_decode_samples_what_generate_samples(model_dir, one_call, static_call, params):
    """The same per-row noise through a static cache: equal completions to generate's, in one call or in
    calls of 2 rows (other row and width buckets, and a short last call completed with copies), with one
    cache window (the default) or several."""
    expected = one_call.sample(PROMPTS, params)
    assert static_call.sample(PROMPTS, params) == expected
    windowed = HFSampler(model_dir, batch_size=2, decode="static", decode_windows=3)
    assert windowed.sample(PROMPTS, params) == expected
    assert windowed._decoder[1].windows == 3 and static_call._decoder[1].windows == 1  # the knob reaches the decoder
    widest = max(len(prompt_token_ids(p, static_call.tokenizer)) for p in PROMPTS)
    assert static_call._decoder[1].prompt_length == bucket(widest) > widest and static_call._decoder[1].rows == bucket(3 * params.n)


def test_hf_greedy_left_padding_matches_single_prompt_token_for_token(one_by_one, one_call):
    keys = torch.zeros(len(PROMPTS), dtype=torch.int64)
    encoded = [one_call.tokenizer(p)["input_ids"] for p in PROMPTS]
    assert len({len(ids) for ids in encoded}) == len(PROMPTS)
    batched = one_call._generate(encoded, keys, GREEDY)
    assert batched == [one_by_one._generate([ids], keys[:1], GREEDY)[0] for ids in encoded]
    assert all(len(tokens) == GREEDY.max_tokens for tokens in batched)


def test_hf_stop_string_ends_its_row_only(one_by_one, one_call, static_call):
    free = one_call._generate([one_call.tokenizer(p)["input_ids"] for p in PROMPTS], torch.zeros(3, dtype=torch.int64), GREEDY)
    stop = re.search(r"[A-Za-z]{2}", one_call._decode(free[0])[2:]).group()  # two letters the first prompt generates
    params = replace(GREEDY, stop=(stop,))
    stopped = one_call.sample(PROMPTS, params)
    assert stopped == one_by_one.sample(PROMPTS, params)
    assert static_call.sample(PROMPTS, params) == stopped  # found after decoding, cut where generate stops
    for tokens, (completion,) in zip(free, stopped):
        k = next((k for k in range(1, len(tokens) + 1) if stop in one_call._decode(tokens[:k])), None)
        if k is None:
            assert completion == Completion(one_call._decode(tokens), len(tokens), "length")
        else:
            assert completion == Completion(one_call._decode(tokens[:k]).split(stop)[0], k, "stop")
    assert stopped[0][0].finish_reason == "stop"


@pytest.mark.parametrize("decode", ["generate", "static"])
def test_hf_eos_ends_its_row_and_is_counted(model_dir, decode):
    eos_sampler = HFSampler(model_dir, batch_size=64, decode=decode)
    encoded = [eos_sampler.tokenizer(p)["input_ids"] for p in PROMPTS]
    free = HFSampler._generate(eos_sampler, encoded, torch.zeros(3, dtype=torch.int64), GREEDY)
    eos = free[0][3]  # make the first prompt's 4th greedy token its end of sequence
    eos_sampler.model.generation_config.eos_token_id = eos
    eos_sampler.eos_ids = {eos}
    ended = eos_sampler.sample(PROMPTS, GREEDY)
    assert ended[0] == [Completion(eos_sampler._decode(free[0][:3]), 4, "eos")]
    assert [c for (c,) in ended] == [eos_sampler._completion(tokens, GREEDY) for tokens in free]


def test_hf_sampler_rejects_bad_knobs(model_dir):
    with pytest.raises(ValueError, match="sampler.batch_size=0"):
        HFSampler(model_dir, batch_size=0)
    with pytest.raises(ValueError, match="sampler.cache_implementation='paged'"):
        HFSampler(model_dir, cache_implementation="paged")
    with pytest.raises(ValueError, match="sampler.decode='vllm'"):
        HFSampler(model_dir, decode="vllm")
    with pytest.raises(ValueError, match="sampler.decode_windows=0"):
        HFSampler(model_dir, decode="static", decode_windows=0)


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
