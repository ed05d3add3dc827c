"""Networks: activation registry, the frozen ``MLP`` spec, its pure forward pass, prior draws."""

from bnn_mogp.nn import activations
from bnn_mogp.nn.activations import ACTIVATIONS, Activation, get_activation, register_activation
from bnn_mogp.nn.mlp import (
    MLP,
    Params,
    apply,
    check_inputs,
    features,
    first_layer_kernel,
    first_layer_variance,
    layer_kernel,
    layer_preactivations,
    preactivations,
    sample_params,
)
from bnn_mogp.nn.sampling import PriorSample, sample_prior, sample_prior_functions

__all__ = [
    "activations",
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "register_activation",
    "MLP",
    "Params",
    "apply",
    "features",
    "first_layer_kernel",
    "first_layer_variance",
    "layer_kernel",
    "layer_preactivations",
    "preactivations",
    "check_inputs",
    "sample_params",
    "PriorSample",
    "sample_prior",
    "sample_prior_functions",
]
