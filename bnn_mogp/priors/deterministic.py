"""``Deterministic``: λ = c/n, the classical iid Gaussian network (NNGP limit)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import NoJumps

__all__ = ["Deterministic"]


@dataclasses.dataclass(frozen=True)
class Deterministic(NodePrior):
    """λ = c/n at width n (a point mass): outgoing weights are iid N(0, σ_w² c/n).

    Limit: drift a = c, ρ = 0, so ψ(t) = c t and the wide network is the NNGP (Neal 1996).

    Args:
        c: total variance of a layer's outgoing weights, c > 0 (default 1).
    """

    family = "deterministic"
    ranked_by_weights = True
    c: float = 1.0

    def __post_init__(self):
        check_real("c", self.c, low=0.0)

    def at_width(self, n: int) -> dist.Distribution:
        n = check_width(n)
        return dist.Delta(self.c / n)

    def limit(self) -> NoJumps:
        return NoJumps(drift=self.c)

    def sample_node_variances(self, layer: int, shape: tuple[int, ...]):
        """No latent: λ = c/n is recorded as the deterministic site ``lam_{layer}``."""
        return numpyro.deterministic(f"lam_{layer}", jnp.full(shape, self.at_width(shape[0]).v))
