"""``GaussianMixture``: spike-and-slab nodes; the limit is a GP plus a compound Poisson part."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import PointMassLevy

__all__ = ["GaussianMixture", "TwoPoint"]


class TwoPoint(dist.Distribution):
    """λ = ``high`` with probability ``prob_high``, else λ = ``low`` (0 ≤ low).

    ``log_prob`` is the log probability mass (w.r.t. counting measure on {low, high}); it is −inf
    elsewhere. Models never place this law under NUTS: the indicator is marginalised (DESIGN §6.1).
    """

    arg_constraints = {
        "low": constraints.nonnegative,
        "high": constraints.positive,
        "prob_high": constraints.unit_interval,
    }
    support = constraints.nonnegative

    def __init__(self, low, high, prob_high, *, validate_args=None):
        self.low, self.high, self.prob_high = low, high, prob_high
        super().__init__(batch_shape=(), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        is_high = jax.random.bernoulli(key, self.prob_high, sample_shape + self.batch_shape)
        return jnp.where(is_high, self.high, self.low)

    def log_prob(self, value):
        lp_high = jnp.where(value == self.high, jnp.log(self.prob_high), -jnp.inf)
        lp_low = jnp.where(value == self.low, jnp.log1p(-self.prob_high), -jnp.inf)
        return jnp.logaddexp(lp_high, lp_low)

    def cdf(self, value):
        p_low = jnp.where(value >= self.low, 1.0 - self.prob_high, 0.0)
        return p_low + jnp.where(value >= self.high, self.prob_high, 0.0)

    @property
    def mean(self):
        return (1.0 - self.prob_high) * self.low + self.prob_high * self.high


@dataclasses.dataclass(frozen=True)
class GaussianMixture(NodePrior):
    """Spike-and-slab: λ = spike/n with probability 1 − κ/n, λ = slab with probability κ/n.

    Each node's outgoing weights are thus a two-component Gaussian mixture. Requires n > κ.
    Limit: a = spike, ρ = κ δ_slab (compound Poisson): ψ(t) = spike·t + κ(1 − e^{−slab·t}); the
    number of big nodes is Poisson(κ), each of variance ``slab``. With spike = 0 and one hidden
    ReLU layer, P(f(x) = 0) → e^{−κ/2}.

    Args:
        spike: total variance of the spike nodes, spike ≥ 0.
        slab: variance of one slab node, slab > 0.
        rate: κ > 0, the expected number of slab nodes per layer.
    """

    family = "gaussian_mixture"
    spike: float = 1.0
    slab: float = 1.0
    rate: float = 1.0

    def __post_init__(self):
        check_real("spike", self.spike, low=0.0, low_open=False)
        check_real("slab", self.slab, low=0.0)
        check_real("rate", self.rate, low=0.0)

    def at_width(self, n: int) -> TwoPoint:
        n = check_width(n)
        if n <= self.rate:
            raise ValueError(
                f"width must be > rate = {self.rate:g} for GaussianMixture (the slab probability "
                f"rate/width must be < 1), got {n}"
            )
        return TwoPoint(self.spike / n, float(self.slab), self.rate / n)

    def limit(self) -> PointMassLevy:
        return PointMassLevy(drift=self.spike, rate=self.rate, size=self.slab)
