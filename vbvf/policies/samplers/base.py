"""The sampler interface shared by the transformers and vLLM backends, and its factory.

A sampler turns prompts into ``n`` completions each, with the number of tokens generated.
Backends are chosen by the Hydra ``_target_`` of the sampler config (conf/sampler/*.yaml);
``auto_sampler`` picks vLLM when it is importable and a GPU is present, else transformers.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence


@dataclass(frozen=True)
class SamplingParams:
    """Everything besides the model and prompt that decides the samples."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Completion:
    """One sampled continuation; ``finish_reason`` is "eos", "stop" (a stop string) or "length"."""

    text: str
    n_tokens: int
    finish_reason: str


class Sampler(Protocol):
    """``sample`` returns, per prompt, ``params.n`` completions."""

    backend: str
    name_or_path: str

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]: ...


def prompt_seed(seed: int, prompt: str) -> int:
    """A per-prompt seed, so a prompt's samples do not depend on which prompts share its batch."""
    return int.from_bytes(hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()[:4], "little")


def build_sampler(cfg: Mapping[str, Any]) -> Sampler:
    """Instantiate the sampler class named by ``cfg["_target_"]`` with the remaining keys."""
    from hydra.utils import instantiate

    return instantiate(cfg)


def vllm_available() -> bool:
    """True when vLLM is importable and a CUDA device is visible."""
    import torch

    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def auto_sampler(name_or_path: str, hf: Mapping[str, Any] | None = None, vllm: Mapping[str, Any] | None = None) -> Sampler:
    """vLLM when available, transformers otherwise; ``hf`` / ``vllm`` are each backend's options."""
    if vllm_available():
        from vbvf.policies.samplers.vllm import VLLMSampler

        return VLLMSampler(name_or_path, **dict(vllm or {}))
    from vbvf.policies.samplers.hf import HFSampler

    return HFSampler(name_or_path, **dict(hf or {}))


AUTO_TARGET = "vbvf.policies.samplers.base.auto_sampler"


def backend_of(cfg: Mapping[str, Any]) -> str:
    """The backend name a sampler config builds, without building it."""
    from hydra.utils import get_class

    if cfg["_target_"] == AUTO_TARGET:
        return "vllm" if vllm_available() else "hf"
    return get_class(cfg["_target_"]).backend


class LazySampler:
    """The sampler of ``cfg`` for the model at ``name_or_path``, built on first use (so a run whose
    samples are all cached never loads the model) and released by ``close``."""

    def __init__(self, cfg: Mapping[str, Any], name_or_path: str):
        self.name_or_path = str(name_or_path)
        self.cfg = {**cfg, "name_or_path": self.name_or_path}
        self.backend = backend_of(cfg)
        self._sampler: Sampler | None = None

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        if self._sampler is None:
            self._sampler = build_sampler(self.cfg)
        return self._sampler.sample(prompts, params)

    def close(self) -> None:
        """Free the model (and its GPU memory) before the next stage loads another."""
        import torch

        if self._sampler is not None and hasattr(self._sampler, "close"):
            self._sampler.close()
        self._sampler = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
