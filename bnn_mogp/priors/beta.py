"""``Beta``: λ ~ Beta(η/(2n), 1/2), an infinite-activity limit with bounded jumps."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import BetaLevy

__all__ = ["Beta", "LogSpaceBeta"]


class LogSpaceBeta(dist.Beta):
    """``numpyro.distributions.Beta`` sampled as G₁/(G₁+G₂) from log-gamma variates.

    For the tiny first concentration of wide layers (η/(2n)) a plain gamma variate underflows to
    0 most of the time; in log space λ is exact down to the smallest positive float.
    """

    def sample(self, key, sample_shape=()):
        k1, k2 = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        log_g1 = jax.random.loggamma(k1, self.concentration1, shape)
        log_g0 = jax.random.loggamma(k2, self.concentration0, shape)
        return jnp.exp(-jax.nn.softplus(log_g0 - log_g1))


@dataclasses.dataclass(frozen=True)
class Beta(NodePrior):
    """λ ~ Beta(η/(2n), 1/2) at width n.

    Limit: a = 0, ρ(dw) = (η/2) w^{−1}(1 − w)^{−1/2} dw on (0, 1): ρ̄(x) = η artanh(sqrt(1 − x)),
    jumps θ_m = sech²(Γ_m/η), E W = η. With η = 1, σ_w = 1, k = 1 and one ReLU layer the output
    is sqrt(V)·N(0, 1) with V ~ Gamma(1/4, rate 1/2) (DESIGN §4.5).

    Args:
        eta: η > 0.
    """

    family = "beta"
    eta: float = 1.0

    def __post_init__(self):
        check_real("eta", self.eta, low=0.0)

    def at_width(self, n: int) -> LogSpaceBeta:
        n = check_width(n)
        return LogSpaceBeta(self.eta / (2.0 * n), 0.5)

    def limit(self) -> BetaLevy:
        return BetaLevy(eta=self.eta)
