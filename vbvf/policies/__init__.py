"""Policies that produce traces: procedural experts and mixtures, LM policies, samplers."""

from vbvf.policies.procedural import (
    ProceduralPolicy,
    progress_probability,
    sample_expert_traces,
)

__all__ = ["ProceduralPolicy", "progress_probability", "sample_expert_traces"]
