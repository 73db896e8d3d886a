"""The static-cache decoder samples what ``generate`` samples; trimmed verifier scoring equals full width.

Run eagerly here (CPU); on a GPU the same step is compiled into a CUDA graph.
"""

import numpy as np
import pytest
import torch
import torch._dynamo
from scipy.stats import chisquare
from torch._dynamo.utils import counters
from transformers import AutoModelForCausalLM, AutoModelForTokenClassification, StaticCache

from vbvf.arms.verifier import step_logits, verifier_inputs
from vbvf.models.gpt2 import build_lm
from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.policies import static_decode
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


def test_packed_gqa_attention_is_sdpa_without_the_copies(tmp_path, monkeypatch):
    """A grouped-query model's masked one-token steps take the packed path, with SDPA's logits."""
    folder = save_tiny_llama(tmp_path)
    plain, packed = (AutoModelForCausalLM.from_pretrained(folder).eval() for _ in range(2))
    assert plain.config.num_key_value_heads < plain.config.num_attention_heads
    assert static_decode.use_packed_gqa(packed) and not static_decode.use_packed_gqa(build_lm(TASK, 1, 16, 2, 32, seed=0))
    fallbacks = []
    real = static_decode.sdpa_attention_forward
    monkeypatch.setattr(static_decode, "sdpa_attention_forward", lambda *a, **k: fallbacks.append(a[1].shape[2]) or real(*a, **k))
    rows, width = 5, 9
    torch.manual_seed(0)
    mask = (torch.arange(width + 4)[None] >= torch.tensor([[0], [2], [4], [6], [8]])).long()
    ids = torch.randint(3, plain.config.vocab_size, (rows, width)) * mask[:, :width]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits, (keyword, _) = [], static_decode._forward_names(plain)
    for model in (plain, packed):
        cache = {keyword: StaticCache(config=model.config, max_cache_len=width + 4)}
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask, position_ids=positions[:, :width], **cache)
            step = model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions[:, width:width + 1],
                         cache_position=torch.tensor([width]), **cache)
        logits.append(step.logits[:, -1])
    layers = packed.config.num_hidden_layers
    assert fallbacks == [width] * layers  # the packed model's prefill fell through to SDPA, its one-token step did not
    torch.testing.assert_close(logits[1], logits[0], rtol=1e-5, atol=1e-5)


def test_a_process_compiles_more_decoder_shapes_than_torchs_default_limit(model, monkeypatch):
    """Every decoder shares the step's code object; twelve shapes (past torch's default limit of 8,
    after which it would run the rest eagerly) all get a compiled graph. Dynamo's eager backend here:
    the same guards and recompiles as on a GPU, without inductor."""
    compile_ = torch.compile
    monkeypatch.setattr(static_decode.torch, "compile", lambda fn, **_: compile_(fn, backend="eager", fullgraph=True, dynamic=False))
    torch._dynamo.reset()
    counters.clear()
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:12]))
    with torch._dynamo.config.patch(recompile_limit=8):  # (monkeypatching torch's config breaks it on undo)
        for rows in range(1, 13):
            StaticDecoder(model, rows, heads.shape[1], 6, TASK.eos, TASK.pad, SUPPRESS, compile=True).sample(heads[:rows], 4, seed=0)
    assert counters["stats"]["unique_graphs"] == 12
    torch._dynamo.reset()


def test_a_reused_decoder_forgets_its_last_call(model):
    """A decoder's cache and buffers live across calls (a GPU graph replays on them): a call after
    another, of other prompts, padding, keys and length, draws what a fresh decoder draws."""
    rows, width = 6, 7
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:2 * rows]))
    padded = torch.cat([torch.full((2 * rows, width - heads.shape[1]), TASK.pad), heads], 1)
    mask = (padded != TASK.pad).long()
    mask[:rows, : width - heads.shape[1] + 1] = 0  # the first rows lose their first prompt token too
    keys = torch.arange(2 * rows) * 7919

    def fresh():
        return StaticDecoder(model, rows, width, 24, TASK.eos, TASK.pad, SUPPRESS, compile=False)

    reused = fresh()
    first = reused.sample(padded[:rows] * mask[:rows], 24, attention_mask=mask[:rows], keys=keys[:rows])
    second = reused.sample(padded[rows:], 9, attention_mask=mask[rows:], keys=keys[rows:])
    assert torch.equal(second, fresh().sample(padded[rows:], 9, attention_mask=mask[rows:], keys=keys[rows:]))
    assert torch.equal(first, fresh().sample(padded[:rows] * mask[:rows], 24, attention_mask=mask[:rows], keys=keys[:rows]))
    assert not torch.equal(first[:, :9], second)


def test_the_compiled_step_traces_whole_and_draws_the_eager_tokens(model, monkeypatch):
    """fullgraph compilation of the step (dynamo's eager backend: the tracing a GPU compile does, without
    inductor) accepts the step's tensors and samples what the eager step samples."""
    compile_ = torch.compile
    monkeypatch.setattr(static_decode.torch, "compile", lambda fn, **kw: compile_(fn, backend="eager", **kw))
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:8]))
    keys = torch.arange(8) * 31
    draws = [StaticDecoder(model, 8, heads.shape[1], 24, TASK.eos, TASK.pad, SUPPRESS, compile=compiled).sample(
        heads, 24, keys=keys) for compiled in (False, True)]
    assert torch.equal(*draws)
    torch._dynamo.reset()

def test_a_transformers_that_refuses_the_packed_attention_keeps_sdpa_and_says_so(tmp_path, monkeypatch, caplog):
    model = AutoModelForCausalLM.from_pretrained(save_tiny_llama(tmp_path)).eval()

    def refuse(name):
        raise ValueError(f"unknown attention implementation {name}")

    monkeypatch.setattr(model, "set_attn_implementation", refuse)
    with caplog.at_level("WARNING", logger="vbvf.policies.static_decode"):
        assert not static_decode.use_packed_gqa(model)
    assert model.config._attn_implementation == "sdpa" and "refused the packed grouped-query attention" in caplog.text
