"""Infinite-width theory: NNGP / NTK kernels and the mixture-of-GP (MoGP) limit."""

from bnn_mogp.theory.compare import compare_prior, plot_prior_comparison
from bnn_mogp.theory.kernels import nngp_kernel, ntk_kernel
from bnn_mogp.theory.limit_nuts import sample_limit_posterior
from bnn_mogp.theory.mogp import KernelDraws, MoGP
from bnn_mogp.theory.posterior import LowESSWarning, PosteriorPredictive
from bnn_mogp.theory.posterior_compare import compare_posterior, plot_posterior_comparison

__all__ = [
    "nngp_kernel",
    "ntk_kernel",
    "MoGP",
    "KernelDraws",
    "PosteriorPredictive",
    "LowESSWarning",
    "compare_prior",
    "plot_prior_comparison",
    "compare_posterior",
    "plot_posterior_comparison",
    "sample_limit_posterior",
]
