"""The static-cache decoder samples what ``generate`` samples; trimmed verifier scoring equals full width.

Run eagerly here (CPU); on a GPU the same step is compiled into a CUDA graph.
"""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from transformers import AutoModelForTokenClassification

from vbvf.arms.verifier import step_logits, verifier_inputs
from vbvf.models.gpt2 import build_lm
from vbvf.policies.lm import LMPolicy, prompt_ids
from vbvf.policies.static_decode import StaticDecoder
from vbvf.tasks.planted import PlantedTask

TASK = PlantedTask(vocab_size=6, prompt_length=3, n_train=100, n_test=16)
SUPPRESS = [TASK.bos, TASK.sep, TASK.pad]


@pytest.fixture(scope="module")
def model():
    """A small GPT-2 with large random weights, so its next-token distributions are far from uniform."""
    torch.manual_seed(0)
    lm = build_lm(TASK, 2, 32, 4, n_positions=TASK.prompt_length + 2 + 24, seed=0).eval()
    with torch.no_grad():
        for p in lm.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.4)
    return lm


def test_near_zero_temperature_reproduces_greedy_generate(model):
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:12]))
    decoder = StaticDecoder(model, 12, heads.shape[1], 24, TASK.eos, TASK.pad, SUPPRESS, temperature=1e-4, compile=False)
    ours = decoder.sample(heads, 24, seed=0)
    greedy = model.generate(input_ids=heads, attention_mask=torch.ones_like(heads), do_sample=False, max_new_tokens=24,
                            eos_token_id=TASK.eos, pad_token_id=TASK.pad, suppress_tokens=SUPPRESS)[:, heads.shape[1]:]
    assert len(set(map(tuple, ours.tolist()))) > 3  # the rows differ: the comparison has teeth
    assert torch.equal(ours[:, : greedy.shape[1]], greedy)
    assert (ours[:, greedy.shape[1]:] == TASK.pad).all()


def test_samples_follow_the_softmax_and_end_with_pad_after_eos(model):
    rows = 4000
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:1])).repeat(rows, 1)
    decoder = StaticDecoder(model, rows, heads.shape[1], 24, TASK.eos, TASK.pad, SUPPRESS, compile=False)
    out = decoder.sample(heads, 24, seed=3)
    with torch.no_grad():
        logits = model(input_ids=heads[:1]).logits[0, -1]
    logits[SUPPRESS] = float("-inf")
    expected = torch.softmax(logits.double(), -1).numpy() * rows
    observed = np.bincount(out[:, 0].numpy(), minlength=len(expected))
    allowed = expected > 5
    assert observed[~allowed].sum() <= 2 and observed[SUPPRESS].sum() == 0
    assert chisquare(observed[allowed], expected[allowed] * observed[allowed].sum() / expected[allowed].sum()).pvalue > 1e-3
    ended = (out == TASK.eos).cumsum(1) > 0
    after_eos = ended & (out != TASK.eos)
    assert ended.any() and (out[after_eos] == TASK.pad).all() and not (out[~ended] == TASK.pad).any()
    assert torch.equal(out, decoder.sample(heads, 24, seed=3))  # seeded: the same call gives the same traces


def test_lm_policy_static_decode_keeps_the_policy_contract(model, tmp_path):
    model.save_pretrained(tmp_path)
    policy = LMPolicy(TASK, tmp_path, batch_size=8, decode="static")
    traces = policy.sample(TASK.test_prompts[:5], 3, 10, seed=1)  # 15 rows: one full batch and a short one
    assert traces.shape == (5, 3, 10) and traces.dtype == np.int32
    assert not np.isin(traces, SUPPRESS[:2]).any()
    with pytest.raises(ValueError, match="sampler.decode"):
        LMPolicy(TASK, tmp_path, decode="fast")


def test_trimmed_verifier_scoring_equals_full_width(tmp_path, model):
    model.save_pretrained(tmp_path)
    verifier = AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=1).eval()
    rng = np.random.default_rng(0)
    prompts = TASK.train_prompts[rng.integers(0, len(TASK.train_prompts), 50)]
    traces = rng.integers(0, TASK.vocab_size, (50, 20)).astype(np.int32)
    ends = rng.integers(1, 21, 50)
    for row, end in zip(traces, ends):
        row[end - 1] = TASK.eos
        row[end:] = TASK.pad
    ids, attention = verifier_inputs(TASK, prompts, traces)
    with torch.no_grad():
        full = verifier(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(attention)).logits[:, 5:, 0].numpy()
    trimmed = step_logits(verifier, TASK, prompts, traces, batch_size=16)
    real = traces != TASK.pad
    np.testing.assert_allclose(trimmed[real], full[real], rtol=1e-4, atol=1e-5)
