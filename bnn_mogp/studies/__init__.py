"""Finite networks against their infinite-width theory (DESIGN §7): prior and posterior studies."""

from bnn_mogp.studies.posterior import (
    LIMITS,
    CompareConfig,
    PosteriorComparison,
    compare_posterior,
    limits_agreement,
    plot_posterior_comparison,
)
from bnn_mogp.studies.prior import (
    PriorDraws,
    compare_prior,
    draw_prior_comparison,
    plot_prior_comparison,
    prior_comparison_table,
)

__all__ = [
    "compare_prior",
    "draw_prior_comparison",
    "prior_comparison_table",
    "PriorDraws",
    "plot_prior_comparison",
    "compare_posterior",
    "CompareConfig",
    "PosteriorComparison",
    "plot_posterior_comparison",
    "limits_agreement",
    "LIMITS",
]
