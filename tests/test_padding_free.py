"""Padding-free SFT batches (``train.padding_free``) train exactly what padded batches train.

trl's padding-free collator flattens a batch into one row with per-trace position ids and no
attention mask; transformers then masks attention block-diagonally, but only when the forward pass
keeps no KV cache (trl's ``SFTTrainer.compute_loss`` passes ``use_cache=False``). Were either part
missing, traces would attend across their boundaries and the weights would differ.
"""

import json

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from vbvf.arms.training import check_not_padding_free, sft
from vbvf.config import TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.policies.lm import trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

TASK = PlantedTask(vocab_size=6, prompt_length=2, n_train=24, n_test=2)
H = 12


def examples() -> list[dict]:
    """Mixture traces of many lengths, as the base trains on."""
    traces = ProceduralPolicy(TASK, [1.0, 0.25]).sample(TASK.train_prompts, 1, H, seed=0)[:, 0]
    out = trace_examples(TASK, TASK.train_prompts, traces)
    assert len({len(e["input_ids"]) for e in out}) > 3
    return out


def trained(padding_free: bool, tmp_path) -> dict:
    torch.set_num_threads(1)
    model = build_lm(TASK, 2, 32, 4, n_positions=TASK.prompt_length + 2 + H, seed=0)
    train = TrainConfig(max_steps=4, batch_size=8, learning_rate=1e-2, warmup_ratio=0.0, padding_free=padding_free)
    sft(model, build_tokenizer(TASK), examples(), tmp_path / str(padding_free), train, seed=0)
    # the trained model still samples with its cache (transformers' Trainer sets config.use_cache to its
    # own use_cache argument for every stage; generate reads generation_config)
    generation = json.loads((tmp_path / str(padding_free) / "generation_config.json").read_text())
    assert generation["use_cache"] is True
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_padding_free_sft_learns_the_same_weights_as_padded_batches(tmp_path):
    padded, flat = trained(False, tmp_path), trained(True, tmp_path)
    moved = max((padded[k] - build_lm(TASK, 2, 32, 4, n_positions=TASK.prompt_length + 2 + H, seed=0).state_dict()[k])
                .abs().max().item() for k in padded)
    assert moved > 1e-3  # four steps at lr 1e-2 moved the weights: the comparison below is not vacuous
    # float summation order differs (one row vs eight), and Adam's first steps magnify it: 1e-3 of the move
    assert max((padded[k] - flat[k]).abs().max().item() for k in padded) < 1e-3 * moved


def test_with_a_kv_cache_the_flat_row_attends_across_traces():
    """Why training must run without a cache (trl passes use_cache=False): with one, the plain causal mask stays."""
    batch = [{"input_ids": e["input_ids"]} for e in examples()[:8]]
    flat = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(batch)
    padded = DataCollatorForLanguageModeling(pad_token_id=0)(batch)
    model = build_lm(TASK, 2, 32, 4, n_positions=TASK.prompt_length + 2 + H, seed=0).eval()
    second = slice(len(batch[0]["input_ids"]), len(batch[0]["input_ids"]) + len(batch[1]["input_ids"]))
    with torch.no_grad():
        reference = model(**padded, use_cache=False).logits[1, : second.stop - second.start]
        masked = model(**flat, use_cache=False).logits[0, second]
        leaking = model(**flat, use_cache=True).logits[0, second]
    assert torch.allclose(masked, reference, atol=1e-5)
    assert not torch.allclose(leaking, reference, atol=1e-3)


def test_padding_free_on_a_non_sft_stage_is_refused_by_name():
    with pytest.raises(ValueError, match="vb.verifier.train.padding_free"):
        check_not_padding_free({"padding_free": True}, "vb.verifier.train")
    check_not_padding_free({"padding_free": False}, "vb.verifier.train")


@pytest.mark.parametrize("key", ["vb.verifier.train", "vb.rl.train"])
def test_the_didactic_config_refuses_padding_free_on_its_verifier_and_rl(compose_config, key):
    from vbvf.pipeline.didactic import validate

    cfg = compose_config(["experiment=didactic", f"{key}.padding_free=true"])
    with pytest.raises(ValueError, match=f"{key}.padding_free"):
        validate(cfg)
    validate(compose_config(["experiment=didactic", "base_lm.train.padding_free=true", "vf.train.padding_free=true"]))
