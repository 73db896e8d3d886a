"""``HFSampler(engine="continuous")``: transformers' continuous batching behind the kit's sampler interface."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.policies.samplers import Completion, SamplingParams, backend_of, cache_key, check_sampler
from vbvf.policies.samplers.hf import HFSampler
from vbvf.tasks.math.prompts import prompt_token_ids

PROMPTS = ["What is 1+1?", "Solve for $x$: $2x + 3 = 7$. Subtract 3, then divide by 2.", "Hi"]  # 11, 30, 3 tokens
GREEDY = SamplingParams(n=1, temperature=0.0, max_tokens=16)
PARAMS = SamplingParams(n=3, temperature=0.8, max_tokens=8, seed=7)
HF = "vbvf.policies.samplers.hf.HFSampler"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(save_tiny_llama(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def continuous(model_dir):
    """At most 4 rows in flight: the calls below hold more, so finished rows are replaced mid-call."""
    return HFSampler(model_dir, engine="continuous", batch_size=4)


class FirstTokens(HFSampler):
    """Records the first generated token of every completion it builds."""

    def _completion(self, tokens, params):
        self.first.append(tokens[0])
        return super()._completion(tokens, params)


def test_greedy_continuous_equals_generate_token_for_token(continuous, model_dir):
    assert continuous.sample(PROMPTS, GREEDY) == HFSampler(model_dir, batch_size=1).sample(PROMPTS, GREEDY)


def test_samples_are_seeded_n_per_prompt_and_differ(continuous):
    first = continuous.sample(PROMPTS, PARAMS)
    assert [len(s) for s in first] == [3, 3, 3]
    assert all(1 <= c.n_tokens <= PARAMS.max_tokens for s in first for c in s)
    assert continuous.sample(PROMPTS, PARAMS) == first
    assert continuous.sample(PROMPTS, replace(PARAMS, seed=8)) != first
    assert len({c.text for c in first[1]}) > 1
    twice = continuous.sample(["Hi", "Hi"], PARAMS)  # a prompt listed twice gets n samples each time
    assert [len(s) for s in twice] == [3, 3] and twice[0] != twice[1]


def test_first_token_follows_the_tempered_softmax(model_dir):
    """χ² of 3,000 first tokens against softmax(logits / T); the control (uniform) must be rejected."""
    sampler = FirstTokens(model_dir, engine="continuous", batch_size=512)
    sampler.first = []
    temperature = 0.7
    sampler.sample(["Hi"], SamplingParams(n=3000, temperature=temperature, max_tokens=1, seed=0))
    ids = torch.tensor([prompt_token_ids("Hi", sampler.tokenizer)])
    with torch.no_grad():
        probs = torch.softmax(sampler.model(ids).logits[0, -1].double() / temperature, -1).numpy()
    observed = np.bincount(sampler.first, minlength=len(probs))
    assert observed.sum() == 3000
    assert chisquare(observed, probs * 3000).pvalue > 1e-3
    assert chisquare(observed, np.full(len(probs), 3000 / len(probs))).pvalue < 1e-3


def test_eos_ends_a_row_and_is_counted(model_dir):
    sampler = HFSampler(model_dir, engine="continuous")
    free = HFSampler(model_dir, batch_size=1)._generate([prompt_token_ids(PROMPTS[0], sampler.tokenizer)],
                                                        torch.zeros(1, dtype=torch.int64), GREEDY)[0]
    sampler.eos_ids = {free[3]}  # the 4th greedy token becomes the end of sequence
    assert sampler.sample(PROMPTS[:1], GREEDY) == [[Completion(sampler._decode(free[:3]), 4, "eos")]]


def test_bad_engine_settings_fail_before_any_model_loads(model_dir):
    with pytest.raises(ValueError, match="sampler.engine='paged'"):
        HFSampler(model_dir, engine="paged")
    with pytest.raises(ValueError, match="sampler.cache_implementation applies to engine=generate"):
        HFSampler(model_dir, engine="continuous", cache_implementation="static")
    with pytest.raises(ValueError, match=r"sampling.stop=\['\\n\\n'\]"):
        check_sampler({"_target_": HF, "engine": "continuous"}, ["\n\n"])
    with pytest.raises(ValueError, match="sampler.engine='turbo'"):
        check_sampler({"_target_": "vbvf.policies.samplers.base.auto_sampler", "hf": {"engine": "turbo"}}, [])
    check_sampler({"_target_": HF, "engine": "generate"}, ["\n\n"])  # stop strings are fine with generate


def test_continuous_samples_have_their_own_cache_entries():
    generate, continuous = backend_of({"_target_": HF}), backend_of({"_target_": HF, "engine": "continuous"})
    assert (generate, continuous) == ("hf", "hf-continuous")
    assert cache_key(generate, "m", "p", PARAMS)[0] != cache_key(continuous, "m", "p", PARAMS)[0]
