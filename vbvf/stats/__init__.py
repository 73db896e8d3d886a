"""Statistics of SPEC §2: returns, heterogeneity, anti-concentration, bootstrap CIs, scaling fits."""

from vbvf.stats.bootstrap import Estimate, ci_method, cluster_mean_ci, mean_ci, paired_difference_ci
from vbvf.stats.heterogeneity import (
    AntiConcentration,
    anti_concentration,
    heterogeneity,
)
from vbvf.stats.returns import bilevel_return, success
from vbvf.stats.scaling import ScalingFit, loglog_slope, scaling_fit, sqrt_fit
from vbvf.stats.summaries import (
    anti_concentration_summary,
    heterogeneity_summary,
    performance,
    policy_statistics,
    statistics_at,
)

__all__ = [
    "AntiConcentration",
    "Estimate",
    "ScalingFit",
    "anti_concentration",
    "anti_concentration_summary",
    "bilevel_return",
    "ci_method",
    "cluster_mean_ci",
    "heterogeneity",
    "heterogeneity_summary",
    "loglog_slope",
    "mean_ci",
    "paired_difference_ci",
    "performance",
    "policy_statistics",
    "scaling_fit",
    "sqrt_fit",
    "statistics_at",
    "success",
]
