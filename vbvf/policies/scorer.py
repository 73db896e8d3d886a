"""A verifier that scores text with a sequence-classification model's scalar head.

``score`` is σ(logit) of each text. As an outcome verifier it scores prompt + completion; as a
process verifier it scores every step prefix of a solution (steps joined by blank lines).
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from vbvf.tasks.math.prompts import STEP_SEPARATOR, prompt_token_ids


class HFScorer:
    """Loads ``name_or_path`` with ``AutoModelForSequenceClassification`` (one label)."""

    def __init__(self, name_or_path: str, device: str | None = None, dtype: str = "auto", batch_size: int = 16):
        self.name_or_path = str(name_or_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForSequenceClassification.from_pretrained(self.name_or_path, dtype=dtype)
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def score(self, texts: Sequence[str]) -> list[float]:
        """σ(logit) per text, in batches."""
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            ids = [{"input_ids": prompt_token_ids(t, self.tokenizer)} for t in texts[start : start + self.batch_size]]
            batch = self.tokenizer.pad(ids, return_tensors="pt").to(self.device)
            logits = self.model(**batch).logits[:, 0]
            scores += torch.sigmoid(logits.float()).tolist()
        return scores

    def score_outcomes(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """Outcome-verifier score of each (prompt, completion)."""
        return self.score([p + c for p, c in zip(prompts, completions)])

    def process_scores(self, prompt: str, step_lists: list[list[str]]) -> list[list[float]]:
        """Process-verifier scores: one per step, from the prefix ending at that step."""
        prefixes = [prompt + STEP_SEPARATOR.join(steps[: i + 1]) for steps in step_lists for i in range(len(steps))]
        flat = iter(self.score(prefixes))
        return [[next(flat) for _ in steps] for steps in step_lists]
