"""Inference: ``fit`` (NUTS / SVI / SGHMC / SGLD / MAP → InferenceData), its configs, chunked and
checkpointed runners (mini-batch epochs for the stochastic-gradient methods), and the
InferenceData read back in the network's terms.
"""

from bnn_mogp.inference.checkpoint import Checkpoint, CheckpointError, fingerprint
from bnn_mogp.inference.config import (
    CHAIN_METHODS,
    CONFIGS,
    GUIDES,
    MINIBATCH_METHODS,
    OPTIMIZERS,
    SCHEDULES,
    MapConfig,
    NutsConfig,
    SghmcConfig,
    SgldConfig,
    SviConfig,
    make_config,
)
from bnn_mogp.inference.fit import default_collapsed, fit, monitor_inputs
from bnn_mogp.inference.minibatch import MinibatchResult, run_minibatch
from bnn_mogp.inference.nuts import NutsResult, run_nuts
from bnn_mogp.inference.results import (
    fit_settings,
    make_inference_data,
    metadata,
    model_kwargs,
    network_functions,
    network_of,
    noise_draws,
    noise_model,
    posterior_functions,
    posterior_params,
)
from bnn_mogp.inference.svi import SviResult, run_svi

__all__ = [
    "fit",
    "monitor_inputs",
    "default_collapsed",
    "NutsConfig",
    "SviConfig",
    "SghmcConfig",
    "SgldConfig",
    "MapConfig",
    "CONFIGS",
    "MINIBATCH_METHODS",
    "SCHEDULES",
    "OPTIMIZERS",
    "run_minibatch",
    "MinibatchResult",
    "make_config",
    "run_nuts",
    "run_svi",
    "NutsResult",
    "SviResult",
    "Checkpoint",
    "CheckpointError",
    "fingerprint",
    "CHAIN_METHODS",
    "GUIDES",
    "make_inference_data",
    "network_of",
    "model_kwargs",
    "fit_settings",
    "metadata",
    "posterior_params",
    "network_functions",
    "posterior_functions",
    "noise_draws",
    "noise_model",
]
