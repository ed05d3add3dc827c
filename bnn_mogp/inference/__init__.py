"""Inference: ``fit`` (NUTS / SVI → InferenceData) and its chunked, checkpointed runners."""

from bnn_mogp.inference.checkpoint import Checkpoint, CheckpointError, fingerprint
from bnn_mogp.inference.fit import fit, monitor_inputs
from bnn_mogp.inference.nuts import CHAIN_METHODS, NutsResult, run_nuts
from bnn_mogp.inference.svi import GUIDES, SviResult, run_svi

__all__ = [
    "fit",
    "monitor_inputs",
    "run_nuts",
    "run_svi",
    "NutsResult",
    "SviResult",
    "Checkpoint",
    "CheckpointError",
    "fingerprint",
    "CHAIN_METHODS",
    "GUIDES",
]
