"""VB-RL arm: the true reward by hand, the trl reward wrapper by hand, and GRPO improving J_H."""

import numpy as np
import pytest
import torch

from vbvf.arms.rewards import true_reward
from vbvf.arms.rl import StaticRollout, completion_array, prompt_dataset, rl_finetune, trl_reward
from vbvf.arms.training import sft
from vbvf.config import RLConfig, TrainConfig
from vbvf.models.gpt2 import build_lm, build_tokenizer
from vbvf.policies.lm import LMPolicy, prompt_ids, trace_examples
from vbvf.policies.procedural import ProceduralPolicy
from vbvf.tasks.planted import PlantedTask

H = 8
TASK = PlantedTask(vocab_size=4, prompt_length=2, n_train=12, n_test=4)
PROMPT = TASK.train_prompts[:1]


def hand_traces():
    """Four traces for PROMPT with solve times 2, 4, never, and H; plus their R_H/H by hand."""
    g0, g1 = TASK.gold(PROMPT)[0]
    other = next(d for d in range(TASK.vocab_size) if d not in (g0, g1))
    e, p = TASK.eos, TASK.pad
    traces = np.array(
        [
            [g0, g1, e, p, p, p, p, p],  # T = 2
            [other, g0, other, g1, e, p, p, p],  # T = 4
            [g1, other, other, e, p, p, p, p],  # never
            [g0] + [other] * 6 + [g1],  # T = 8 = H
        ]
    )
    return traces, [7 / 8, 5 / 8, 0.0, 1 / 8]


def test_true_reward_by_hand():
    traces, expected = hand_traces()
    prompts = np.repeat(PROMPT, len(traces), axis=0)
    assert true_reward(TASK, H)(prompts, traces).tolist() == pytest.approx(expected)


def test_trl_completions_become_task_arrays():
    traces, expected = hand_traces()
    # trl hands over each completion up to and including eos, unpadded; a trace cut at H has no eos
    completion_ids = [row[row != TASK.pad].tolist() for row in traces]
    assert completion_ids[0] == [*TASK.gold(PROMPT)[0], TASK.eos]
    assert np.array_equal(completion_array(TASK, completion_ids, H), traces)

    rows = prompt_dataset(TASK, np.repeat(PROMPT, len(traces), axis=0)).to_dict()
    assert build_tokenizer(TASK)(text=rows["prompt"])["input_ids"] == prompt_ids(TASK, rows["task_prompt"]).tolist()
    reward = trl_reward(TASK, true_reward(TASK, H), H)
    got = reward(
        prompts=rows["prompt"], completions=["?"] * 4, completion_ids=completion_ids, task_prompt=rows["task_prompt"]
    )
    assert got == pytest.approx(expected)


@pytest.fixture
def one_thread():
    """Tiny models run ~15x faster on one thread than on two busy cores (no spinning OpenMP workers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sft_base(out_dir, prompts: np.ndarray) -> None:
    """π_b: a tiny GPT-2 briefly SFT'd on μ_0.25 traces, a weak and spread-out base."""
    prompts = np.repeat(prompts, 32, axis=0)
    traces = ProceduralPolicy(TASK, [0.25]).sample(prompts, 1, H, seed=0)[:, 0]
    model = build_lm(TASK, n_layer=1, n_embd=32, n_head=2, n_positions=32)
    train = TrainConfig(max_steps=300, batch_size=64, learning_rate=1e-2)
    sft(model, build_tokenizer(TASK), trace_examples(TASK, prompts, traces), out_dir, train, seed=0)


def mean_true_reward(model_dir, prompts: np.ndarray, n_samples: int) -> tuple[float, float]:
    """J_H/H of the LM in ``model_dir`` on ``prompts`` and its standard error, from n_samples per prompt."""
    traces = LMPolicy(TASK, model_dir, device="cpu").sample(prompts, n_samples, H, seed=1).reshape(-1, H)
    rewards = true_reward(TASK, H)(np.repeat(prompts, n_samples, axis=0), traces)
    return rewards.mean(), rewards.std(ddof=1) / np.sqrt(rewards.size)


@pytest.mark.parametrize("rollout", ["generate", "static"])  # trl's generate, or the StaticDecoder via rollout_func
def test_grpo_on_true_reward_improves_performance(tmp_path, one_thread, rollout):
    prompts = TASK.train_prompts
    sft_base(tmp_path / "base", prompts)
    cfg = RLConfig(max_steps=40, batch_size=4, num_generations=8, learning_rate=3e-3, beta=0.05, rollout=rollout)
    log = rl_finetune(tmp_path / "base", TASK, prompts, true_reward(TASK, H), H, cfg, tmp_path / "rl", seed=0)

    assert all(row["kl"] >= 0 for row in log) and any(row["kl"] > 0 for row in log)  # the KL-to-π_b term is on
    before, se_before = mean_true_reward(tmp_path / "base", prompts, 100)
    after, se_after = mean_true_reward(tmp_path / "rl", prompts, 100)
    assert after - before > 5 * np.hypot(se_before, se_after), (before, after)


def test_static_rollouts_of_every_budget_share_one_decoder_shape():
    """Each H's rollout decoder is sized for the model's position table (one compiled shape for a run's
    budgets) and captures one graph (ROLLOUT_WINDOWS), not the sampler's windows; its completions still stop at H."""
    from types import SimpleNamespace

    model = build_lm(TASK, 1, 16, 2, n_positions=TASK.prompt_length + 2 + 3 * H, seed=0).eval()
    trainer = SimpleNamespace(processing_class=build_tokenizer(TASK), model=model,
                              accelerator=SimpleNamespace(unwrap_model=lambda m: m))
    prompts = list(prompt_dataset(TASK, TASK.train_prompts[:4])["prompt"])
    shapes = set()
    for horizon in (H, 2 * H):
        rollout = StaticRollout(TASK, horizon, temperature=1.0, seed=0)
        out = rollout(prompts, trainer)
        (decoder,) = rollout.decoders.values()
        shapes.add((decoder.rows, decoder.prompt_length, decoder.capacity, decoder.windows))
        assert len(out["completion_ids"]) == 4 and max(map(len, out["completion_ids"])) <= horizon
    assert shapes == {(4, TASK.prompt_length + 2, 3 * H, 1)}


def test_a_grpo_step_runs_one_policy_and_one_reference_forward(tmp_path, one_thread, monkeypatch):
    """The trainer's share of a GRPO step is the policy's forward and backward plus the reference's
    forward (β > 0): trl adds no forward for old log-probabilities at num_iterations = 1
    (docs/PERFORMANCE.md, GRPO step), and the static rollout's decoder calls are the rest."""
    from transformers import GPT2Model

    sft_base(tmp_path / "base", TASK.train_prompts)
    calls: list[tuple[int, bool, tuple]] = []
    forward = GPT2Model.forward

    def counted(self, *args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        calls.append((id(self), torch.is_grad_enabled(), tuple(ids.shape)))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(GPT2Model, "forward", counted)
    steps, cfg = 3, RLConfig(max_steps=3, batch_size=4, num_generations=8, learning_rate=3e-3, beta=0.05, rollout="static")
    rl_finetune(tmp_path / "base", TASK, TASK.train_prompts, true_reward(TASK, H), H, cfg, tmp_path / "rl", seed=0)
    rows, head = cfg.batch_size * cfg.num_generations, TASK.prompt_length + 2  # a prompt is bos, x, sep
    assert {shape[0] for _, _, shape in calls} == {rows}
    with_grad = [c for c in calls if c[1]]
    full_without_grad = [c for c in calls if not c[1] and c[2][1] > head]  # prompt and completions, no grad
    assert len(with_grad) == steps and len({c[0] for c in with_grad}) == 1  # the policy, once a step
    assert len(full_without_grad) == steps and with_grad[0][0] not in {c[0] for c in full_without_grad}  # the reference
    # the rest is the rollout's decoder: its prefill of the prompt, then one token at a time
    assert all(c[2][1] in (head, 1) for c in calls if c not in with_grad + full_without_grad)
