"""``Gamma``: λ ~ Gamma(c/n, β); the row sum is exactly Gamma(c, β) at every width."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import GammaLevy

__all__ = ["Gamma", "LogSpaceGamma"]


class LogSpaceGamma(dist.Gamma):
    """``numpyro.distributions.Gamma`` sampled through ``jax.random.loggamma``.

    Exact for tiny shapes (c/n), where a plain gamma variate underflows to 0.
    """

    def sample(self, key, sample_shape=()):
        shape = sample_shape + self.batch_shape
        return jnp.exp(jax.random.loggamma(key, self.concentration, shape)) / self.rate


@dataclasses.dataclass(frozen=True)
class Gamma(NodePrior):
    """λ ~ Gamma(shape c/n, rate β) at width n.

    Limit: a = 0, ρ(dw) = c w^{−1} e^{−βw} dw (gamma process), ψ(t) = c log(1 + t/β),
    ρ̄(x) = c E₁(βx). The row sum of n nodes is exactly Gamma(c, β) at every n.

    Args:
        c: c > 0.
        rate: β > 0.
    """

    family = "gamma"
    c: float = 1.0
    rate: float = 1.0

    def __post_init__(self):
        check_real("c", self.c, low=0.0)
        check_real("rate", self.rate, low=0.0)

    def at_width(self, n: int) -> LogSpaceGamma:
        n = check_width(n)
        return LogSpaceGamma(self.c / n, self.rate)

    def limit(self) -> GammaLevy:
        return GammaLevy(c=self.c, rate=self.rate)
