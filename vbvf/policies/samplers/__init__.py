"""Samplers: one interface (``base``), transformers and vLLM backends, and an on-disk cache."""

from vbvf.policies.samplers.base import (
    Completion,
    LazySampler,
    Sampler,
    SamplingParams,
    auto_sampler,
    backend_of,
    build_sampler,
    prompt_seed,
    vllm_available,
)
from vbvf.policies.samplers.cache import CachedSampler, cache_key

__all__ = [
    "CachedSampler",
    "Completion",
    "LazySampler",
    "Sampler",
    "SamplingParams",
    "auto_sampler",
    "backend_of",
    "build_sampler",
    "cache_key",
    "prompt_seed",
    "vllm_available",
]
