"""``InverseGamma``: heavy-tailed node variances with a Gaussian-process limit nonetheless."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpyro.distributions as dist
from jax.scipy.special import gammaln
from numpyro.distributions.util import validate_sample

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import NoJumps

__all__ = ["InverseGamma", "InverseGammaLaw"]


class InverseGammaLaw(dist.InverseGamma):
    """``numpyro.distributions.InverseGamma`` with the density evaluated directly.

    log p(x) = k log b − log Γ(k) − (k + 1) log x − b/x,

    which stays exact (→ −inf) for tiny x where the transformed-Gamma form overflows.
    """

    @validate_sample
    def log_prob(self, value):
        k, b = self.concentration, self.rate
        return k * jnp.log(b) - gammaln(k) - (k + 1) * jnp.log(value) - b / value


@dataclasses.dataclass(frozen=True)
class InverseGamma(NodePrior):
    """λ = c ξ / n at width n with ξ ~ InvGamma(shape k, rate k − 1), so E ξ = 1.

    Equivalently λ ~ InvGamma(k, rate (k − 1) c / n). ξ has infinite variance when k ≤ 2, yet
    n P(λ_n > x) → 0 for every x > 0: the limit is a = c, ρ = 0 (ψ(t) = c t), a Gaussian process;
    only finite widths show the heavy tails.

    Args:
        shape: k > 1 (the mean must be finite).
        c: total variance of a layer's outgoing weights, c > 0.
    """

    family = "inverse_gamma"
    shape: float = 2.0
    c: float = 1.0

    def __post_init__(self):
        check_real("shape", self.shape, low=1.0)
        check_real("c", self.c, low=0.0)

    def at_width(self, n: int) -> InverseGammaLaw:
        n = check_width(n)
        return InverseGammaLaw(self.shape, (self.shape - 1.0) * self.c / n)

    def limit(self) -> NoJumps:
        return NoJumps(drift=self.c)
