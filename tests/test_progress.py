"""Progress rewards: verifier and true prefix values by hand, segment credit, and trl's per-token advantages."""

import numpy as np
import pytest
import torch

from tests.test_rl import H, PROMPT, TASK, hand_traces, mean_true_reward, one_thread, sft_base  # noqa: F401
from vbvf.arms.progress import (
    ProgressReward,
    progress_before_segment,
    total_progress,
    true_values,
    verifier_values,
)
from vbvf.arms.rewards import true_reward
from vbvf.arms.rl import ProgressGRPOTrainer, grpo_config, prompt_dataset, rl_finetune
from vbvf.arms.verifier import Verifier
from vbvf.config import RLConfig
from vbvf.models.gpt2 import build_tokenizer


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """π_b of ``tests.test_rl`` on every training prompt, trained once for this module on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("progress") / "base"
    sft_base(out, TASK.train_prompts)
    torch.set_num_threads(threads)
    return out


class StubVerifier:
    """Fixed step probabilities; ``score`` is the real ``Verifier.score`` on them."""

    def __init__(self, probs: np.ndarray, labels: str = "prefix"):
        self.probs, self.labels = probs, labels

    def step_probabilities(self, prompts, traces):
        return self.probs[:, : traces.shape[1]]

    score = Verifier.score


def test_verifier_values_telescope_to_the_vb_rl_reward():
    probs = np.array([[0.1, 0.2, 0.9, 0.9], [0.0, 0.5, 0.5, 0.5]])
    traces = np.zeros((2, 4), dtype=np.int32)
    for labels in ("prefix", "outcome"):
        verifier = StubVerifier(probs, labels)
        values = verifier_values(verifier, 4)(PROMPT, traces)
        assert values.shape == (2, 5) and values[:, 0].tolist() == [0.0, 0.0]
        assert total_progress(values) == pytest.approx(verifier.score(PROMPT, traces, 4) / 4)
    values = verifier_values(StubVerifier(probs), 4)(PROMPT, traces)
    # U_2 of row 0: (0.1 + 0.2 + 2·0.2)/4, the prefix a_1 a_2 read as a budget-4 trace
    assert values[0, 2] == pytest.approx(0.7 / 4)


def test_true_values_telescope_to_the_true_reward():
    traces, _ = hand_traces()
    prompts = np.repeat(PROMPT, len(traces), axis=0)
    values = true_values(TASK, [1.0, 0.25], None, H, "return")(prompts, traces)
    assert values[:, -1] == pytest.approx(true_reward(TASK, H)(prompts, traces))
    assert np.ptp(values[:, 0]) == 0 and 0 < values[0, 0] < 1  # U_0 depends on the prompt only


def test_progress_before_segment_by_hand():
    values = np.array([[0.1, 0.2, 0.4, 0.7, 1.0]])
    assert progress_before_segment(values, 1, 4)[0] == pytest.approx([0.0, 0.1, 0.3, 0.6])
    assert progress_before_segment(values, 2, 4)[0] == pytest.approx([0.0, 0.0, 0.3, 0.3])
    assert progress_before_segment(values, 8, 3).tolist() == [[0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="segment_length"):
        ProgressReward(values=None, segment_length=0)


@pytest.mark.parametrize("segment_length", [1, 3, H])
def test_trainer_credits_each_token_with_the_progress_from_its_segment_on(tmp_path, base_dir, one_thread, segment_length):
    """On trl's own rollouts: A[i, t] = (U_H − U_{jℓ}) − group mean of (U_H − U_0), over the completion's tokens."""
    prompts = TASK.train_prompts[:2]
    cfg = RLConfig(max_steps=1, batch_size=2, num_generations=4)
    progress = ProgressReward(true_values(TASK, [1.0, 0.25], None, H, "return"), segment_length)
    trainer = ProgressGRPOTrainer(model=str(base_dir), args=grpo_config(TASK, H, cfg, tmp_path / "rl", 0),
                                  train_dataset=prompt_dataset(TASK, prompts), processing_class=build_tokenizer(TASK),
                                  task=TASK, progress=progress, horizon=H)
    rows = prompt_dataset(TASK, prompts).to_list()
    out = trainer._generate_and_score_completions([row for row in rows for _ in range(cfg.num_generations)])
    advantages, mask = out["advantages"].numpy(), out["completion_mask"].numpy().astype(bool)
    values = trainer.prefix_values
    total = total_progress(values).reshape(2, -1)
    baseline = np.repeat(total.mean(axis=1), cfg.num_generations)
    for i, row in enumerate(advantages):
        for t in np.flatnonzero(mask[i]):
            start = (t // segment_length) * segment_length
            assert row[t] == pytest.approx(values[i, -1] - values[i, start] - baseline[i], abs=1e-6)
    assert np.ptp(total) > 0  # the rollouts differ, so the check is not vacuous


def test_grpo_on_true_progress_improves_performance(tmp_path, base_dir, one_thread):
    prompts = TASK.train_prompts
    cfg = RLConfig(max_steps=40, batch_size=4, num_generations=8, learning_rate=3e-3, beta=0.05)
    progress = ProgressReward(true_values(TASK, [0.25], None, H, "return"), segment_length=1)
    log = rl_finetune(base_dir, TASK, prompts, progress, H, cfg, tmp_path / "rl", seed=0)

    assert any(row["kl"] > 0 for row in log)
    before, se_before = mean_true_reward(base_dir, prompts, 100)
    after, se_after = mean_true_reward(tmp_path / "rl", prompts, 100)
    assert after - before > 5 * np.hypot(se_before, se_after), (before, after)
    with pytest.raises(ValueError, match="scale_rewards=none"):
        rl_finetune(base_dir, TASK, prompts, progress, H, RLConfig(max_steps=1, scale_rewards="group"),
                    tmp_path / "bad", seed=0)
