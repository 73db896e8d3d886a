"""Sampling with vLLM (GPU). vLLM is imported only when this backend is built.

Install with ``pip install vbvf[vllm]``. Prompts are passed as token ids (no second BOS);
each prompt gets its own seed, so its samples do not depend on the batch.
"""

from __future__ import annotations

from typing import Sequence

from vbvf.policies.samplers.base import Completion, SamplingParams, prompt_seed
from vbvf.tasks.math.prompts import prompt_token_ids


class VLLMSampler:
    """A model served by ``vllm.LLM``; ``tensor_parallel_size`` splits it over GPUs."""

    backend = "vllm"

    def __init__(
        self,
        name_or_path: str,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
    ):
        from vllm import LLM

        self.name_or_path = str(name_or_path)
        self.llm = LLM(
            model=self.name_or_path,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
        )
        self.tokenizer = self.llm.get_tokenizer()

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        from vllm import SamplingParams as VLLMParams

        requests = [{"prompt_token_ids": prompt_token_ids(p, self.tokenizer)} for p in prompts]
        per_prompt = [
            VLLMParams(
                n=params.n,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                seed=prompt_seed(params.seed, p),
                stop=list(params.stop),
            )
            for p in prompts
        ]
        outputs = self.llm.generate(requests, per_prompt, use_tqdm=False)
        return [[_completion(o) for o in out.outputs] for out in outputs]


def _completion(output) -> Completion:
    if output.finish_reason == "length":
        reason = "length"
    else:  # vLLM: stop_reason is None for EOS, the matched string (or token id) for a stop
        reason = "eos" if output.stop_reason is None else "stop"
    return Completion(output.text, len(output.token_ids), reason)
