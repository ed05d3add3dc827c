"""bnn_mogp: Bayesian deep networks with random node variances and their mixture-of-GP limits."""

from bnn_mogp import priors, pruning, theory
from bnn_mogp.data import DataError, Dataset, load_data
from bnn_mogp.inference import fit
from bnn_mogp.nn import MLP, activations, apply, sample_params, sample_prior, sample_prior_functions

__version__ = "0.1.0"

__all__ = [
    "priors",
    "pruning",
    "theory",
    "fit",
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
