"""Infinite-width theory: NNGP / NTK kernels and the mixture-of-GP (MoGP) limit."""

from bnn_mogp._deprecation import moved_names
from bnn_mogp.theory.kernels import nngp_kernel, ntk_kernel
from bnn_mogp.theory.limit_nuts import sample_limit_posterior
from bnn_mogp.theory.mogp import KernelDraws, MoGP, NonFiniteDrawsWarning
from bnn_mogp.theory.posterior import LowESSWarning, PosteriorPredictive
from bnn_mogp.theory.stable import (
    UnitLaw,
    check_moments,
    joint_log_cf,
    one_input_log_cf,
    unit_laws,
)
from bnn_mogp.theory.weight_limit import LimitErrors, PerWeightLimit, limit_of

__all__ = [
    "nngp_kernel",
    "ntk_kernel",
    "MoGP",
    "KernelDraws",
    "PosteriorPredictive",
    "LowESSWarning",
    "NonFiniteDrawsWarning",
    "sample_limit_posterior",
    "PerWeightLimit",
    "LimitErrors",
    "limit_of",
    "UnitLaw",
    "unit_laws",
    "one_input_log_cf",
    "joint_log_cf",
    "check_moments",
]

__getattr__ = moved_names(
    __name__,
    {
        name: "bnn_mogp.studies"
        for name in (
            "compare_prior",
            "plot_prior_comparison",
            "compare_posterior",
            "plot_posterior_comparison",
        )
    },
)
