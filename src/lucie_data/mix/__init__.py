"""Mix planning: Lucie-style upsampling factors -> epochs, tokens seen and shares."""

from lucie_data.mix.plan import (
    MixPlan,
    MixPlanError,
    SubsetPlan,
    SubsetStats,
    Weights,
    language_group,
    load_stats_csv,
    load_weights_yaml,
    parse_weights,
    plan_mix,
    solve_factors,
)

__all__ = [
    "MixPlan",
    "MixPlanError",
    "SubsetPlan",
    "SubsetStats",
    "Weights",
    "language_group",
    "load_stats_csv",
    "load_weights_yaml",
    "parse_weights",
    "plan_mix",
    "solve_factors",
]
