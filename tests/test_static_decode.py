"""The static-cache decoder samples what ``generate`` samples; trimmed verifier scoring equals full width.

Run eagerly here (CPU); on a GPU the same step is compiled into a CUDA graph.
"""

import gc
import weakref

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


def _one_step_logits(model, mask, width, attend=None):
    """Prefill ``width`` left-padded tokens, then the logits of one decode step (attending to ``attend``)."""
    torch.manual_seed(0)
    rows = len(mask)
    ids = torch.randint(3, model.config.vocab_size, (rows, width)) * mask[:, :width]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    keyword, _ = static_decode._forward_names(model)
    cache = {keyword: StaticCache(config=model.config, max_cache_len=mask.shape[1])}
    extra = {} if attend is None else {"attend": attend}
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask, position_ids=positions[:, :width], **cache)
        return model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=positions[:, width:width + 1],
                     cache_position=torch.tensor([width]), **cache, **extra).logits[:, -1]


@pytest.mark.parametrize("grouped", [True, False])
def test_decode_attention_is_sdpa_without_the_copies_or_the_empty_cache(tmp_path, monkeypatch, grouped):
    """A masked one-token step through the decode attention, its cache cut after the token (``attend``),
    gives SDPA's logits over the whole cache; grouped-query steps take the packed path."""
    build = (lambda: AutoModelForCausalLM.from_pretrained(save_tiny_llama(tmp_path)).eval()) if grouped else (
        lambda: build_lm(TASK, 2, 32, 4, n_positions=64, seed=0).eval())
    plain, ours = build(), build()
    assert (plain.config.num_key_value_heads < plain.config.num_attention_heads) if grouped else True
    assert static_decode.use_decode_attention(ours)
    fallbacks = []
    real = static_decode.sdpa_attention_forward
    monkeypatch.setattr(static_decode, "sdpa_attention_forward", lambda *a, **k: fallbacks.append(a[2].shape[2]) or real(*a, **k))
    width = 9
    mask = (torch.arange(width + 20)[None] >= torch.tensor([[0], [2], [4], [6], [8]])).long()
    whole = _one_step_logits(plain, mask, width)
    layers = ours.config.num_hidden_layers
    for attend in (width + 1, width + 7, None):  # None: the whole cache
        fallbacks.clear()
        torch.testing.assert_close(_one_step_logits(ours, mask, width, attend), whole, rtol=1e-5, atol=1e-5)
        cut = attend or width + 20  # keys the one-token step attended to
        # the prefill falls through to SDPA over the whole cache; a grouped step never does, a plain one over the cut
        assert fallbacks == [width + 20] * layers + ([] if grouped else [cut] * layers)
    with pytest.raises(AssertionError):  # the cut has teeth: cutting off the token's own position changes the logits
        torch.testing.assert_close(_one_step_logits(ours, mask, width, width), whole, rtol=1e-5, atol=1e-5)


def test_window_ends_cover_the_cache_in_even_spans():
    assert static_decode.window_ends(10, 512, 4) == [138, 266, 394, 522]
    assert static_decode.window_ends(10, 20, 4) == [26, 30]  # spans rounded up to 16, never past the cache
    assert static_decode.window_ends(10, 512, 1) == [522]


def test_windowed_steps_draw_what_whole_cache_steps_draw(model):
    """eos suppressed: all 64 rows run through both windows, so a step cut short of its own position shows."""
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:64]))
    keys = torch.arange(64) * 17
    draws = {}
    for windows in (1, 3):
        decoder = StaticDecoder(model, 64, heads.shape[1], 24, TASK.eos, TASK.pad, SUPPRESS + [TASK.eos], compile=False,
                                windows=windows)
        draws[windows] = decoder.sample(heads, 24, keys=keys)
    assert decoder.ends == [heads.shape[1] + 16, heads.shape[1] + 24]
    assert torch.equal(draws[1], draws[3]) and not (draws[3] == TASK.pad).any()


@pytest.fixture
def dynamo_eager(monkeypatch):
    """The decoder's ``torch.compile`` with dynamo's eager backend: the tracing, guards and recompiles of a
    GPU compile, without inductor; dynamo's caches reset before and after."""
    compile_ = torch.compile
    monkeypatch.setattr(static_decode.torch, "compile", lambda fn, **kw: compile_(fn, backend="eager", **kw))
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_a_process_compiles_more_decoder_shapes_than_torchs_default_limit(model, dynamo_eager):
    """Every decoder shares the step's code object; twelve shapes (past torch's default limit of 8,
    after which it would run the rest eagerly) all get a compiled graph."""
    counters.clear()
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:12]))
    with torch._dynamo.config.patch(recompile_limit=8):  # (monkeypatching torch's config breaks it on undo)
        for rows in range(1, 13):
            StaticDecoder(model, rows, heads.shape[1], 6, TASK.eos, TASK.pad, SUPPRESS, compile=True).sample(heads[:rows], 4, seed=0)
    assert counters["stats"]["unique_graphs"] == 12


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


@pytest.mark.parametrize("compiled", [False, True])
def test_a_dropped_decoder_is_freed_without_the_cyclic_collector(model, dynamo_eager, compiled):
    """A sampler replaces its decoder per shape; the old one's cache must go when the last reference does.
    On a GPU the cyclic collector seldom runs (few Python objects are made), so a decoder in a reference
    cycle kept its cache on the card until a later decoder ran out of memory."""
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:4]))
    decoder = StaticDecoder(model, 4, heads.shape[1], 8, TASK.eos, TASK.pad, SUPPRESS, compile=compiled)
    decoder.sample(heads, 8, seed=0)
    cache, gone = weakref.ref(decoder.cache), weakref.ref(decoder)
    gc.collect()
    gc.disable()
    try:
        del decoder
        assert gone() is None and cache() is None
    finally:
        gc.enable()


def test_the_compiled_step_traces_whole_and_draws_the_eager_tokens(model, dynamo_eager):
    """fullgraph compilation of the step accepts the step's tensors and samples what the eager step samples."""
    heads = torch.as_tensor(prompt_ids(TASK, TASK.train_prompts[:8]))
    keys = torch.arange(8) * 31
    draws = [StaticDecoder(model, 8, heads.shape[1], 24, TASK.eos, TASK.pad, SUPPRESS, compile=compiled).sample(
        heads, 24, keys=keys) for compiled in (False, True)]
    assert torch.equal(*draws)


def test_a_transformers_that_refuses_the_decode_attention_keeps_sdpa_and_says_so(tmp_path, monkeypatch, caplog):
    model = AutoModelForCausalLM.from_pretrained(save_tiny_llama(tmp_path)).eval()

    def refuse(name):
        raise ValueError(f"unknown attention implementation {name}")

    monkeypatch.setattr(model, "set_attn_implementation", refuse)
    with caplog.at_level("WARNING", logger="vbvf.policies.static_decode"):
        assert not static_decode.use_decode_attention(model)
    assert model.config._attn_implementation == "sdpa" and "refused the decode attention" in caplog.text
