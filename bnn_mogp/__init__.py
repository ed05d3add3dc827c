"""bnn_mogp: Bayesian deep networks with random node variances and their mixture-of-GP limits."""

from bnn_mogp import inference, priors, pruning, studies, theory
from bnn_mogp._version import __version__
from bnn_mogp.convergence import sample_until_converged
from bnn_mogp.data import DataError, Dataset, load_data
from bnn_mogp.inference import NutsConfig, SviConfig, fit
from bnn_mogp.nn import MLP, activations, apply, sample_params, sample_prior, sample_prior_functions
from bnn_mogp.runs import Run, RunError, load_run

__all__ = [
    "__version__",
    "priors",
    "inference",
    "pruning",
    "studies",
    "theory",
    "fit",
    "sample_until_converged",
    "NutsConfig",
    "SviConfig",
    "load_run",
    "Run",
    "RunError",
    "load_data",
    "Dataset",
    "DataError",
    "activations",
    "MLP",
    "apply",
    "sample_params",
    "sample_prior",
    "sample_prior_functions",
]
