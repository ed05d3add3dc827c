"""``StableLike``: BFRY-type node variances whose limit is (tempered) positive α-stable."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.distributions.util import validate_sample

from bnn_mogp._validation import check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import StableLevy

__all__ = ["StableLike", "StableLikeWidth"]


def _log1mexp(x):
    """log(1 − e^{−x}) for x ≥ 0, accurate at both ends."""
    return jnp.where(x < math.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


class StableLikeWidth(dist.Distribution):
    r"""The law of λ at width n for ``StableLike(alpha, eta, beta)``.

    .. math:: p(w) = \frac{\alpha\eta}{\Gamma(1-\alpha)\, n}\, w^{-1-\alpha} e^{-\beta w}
                     (1 - e^{-t_n w}),\qquad t_n = (n/\eta + \beta^\alpha)^{1/\alpha} - \beta,

    (the normaliser is Γ(1−α)/α · ((β+t_n)^α − β^α) = Γ(1−α) n/(αη)). Exact sampling from the
    Gamma mixture: u ~ U(0, 1], β + s = (β^α + u n/η)^{1/α}, λ | s ~ Gamma(1 − α, rate β + s),
    carried out in log space (u = e^{−E}, E ~ Exp(1), and log-gamma variates) so that huge t_n
    (small α) neither overflows nor loses precision, and the largest λ (small u) are not cut off
    by the resolution of a float32 uniform.
    """

    arg_constraints = {
        "alpha": constraints.open_interval(0.0, 1.0),
        "eta": constraints.positive,
        "beta": constraints.nonnegative,
        "width": constraints.positive,
    }
    support = constraints.positive

    def __init__(self, alpha, eta, beta, width, *, validate_args=None):
        self.alpha, self.eta, self.beta, self.width = alpha, eta, beta, width
        super().__init__(batch_shape=(), validate_args=validate_args)

    @property
    def log_tn(self) -> float:
        """log t_n, computed without forming t_n (which overflows for small α)."""
        a, b, ratio = self.alpha, self.beta, self.width / self.eta
        if b == 0:
            return math.log(ratio) / a
        z = math.log1p(ratio / b**a) / a  # t_n = β (e^z − 1)
        return math.log(b) + z + math.log(-math.expm1(-z))

    def sample(self, key, sample_shape=()):
        k_u, k_g = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        log_u = -jax.random.exponential(k_u, shape)
        log_rate = (
            jnp.logaddexp(
                self.alpha * math.log(self.beta) if self.beta > 0 else -jnp.inf,
                log_u + math.log(self.width / self.eta),
            )
            / self.alpha
        )
        return jnp.exp(jax.random.loggamma(k_g, 1.0 - self.alpha, shape) - log_rate)

    @validate_sample
    def log_prob(self, value):
        a = self.alpha
        log_w = jnp.log(value)
        log_norm = math.log(a * self.eta / self.width) - math.lgamma(1.0 - a)
        return (
            log_norm
            - (1.0 + a) * log_w
            - self.beta * value
            + _log1mexp(jnp.exp(self.log_tn + log_w))
        )


@dataclasses.dataclass(frozen=True)
class StableLike(NodePrior):
    r"""Stable-like node variances (BFRY; with β > 0 a finite generalized gamma process).

    At width n, λ has density ∝ w^{−1−α} e^{−βw} (1 − e^{−t_n w}) on (0, ∞) with
    t_n = (n/η + β^α)^{1/α} − β (see :class:`StableLikeWidth`).

    Limit: a = 0, ρ(dw) = ηα/Γ(1−α) w^{−1−α} e^{−βw} dw. For β = 0 the row sum tends to
    W = η^{1/α} S_α (positive α-stable, ψ(t) = η t^α) and one hidden ReLU layer gives symmetric
    2α-stable outputs; β > 0 tempers the large nodes (ψ(t) = η((t+β)^α − β^α)).
    ``StableLike(0.5, 2s/√π)`` has the same limit as ``Horseshoe(s)``.

    Args:
        alpha: stability index in (0, 1).
        eta: mass parameter η > 0.
        beta: tempering rate β ≥ 0 (0: untempered, infinite-mean row sums).
    """

    family = "stable"
    alpha: float = 0.5
    eta: float = 1.0
    beta: float = 0.0

    def __post_init__(self):
        self.limit()  # validates alpha, eta and beta

    def at_width(self, n: int) -> StableLikeWidth:
        n = check_width(n)
        return StableLikeWidth(float(self.alpha), float(self.eta), float(self.beta), n)

    def limit(self) -> StableLevy:
        return StableLevy(alpha=self.alpha, eta=self.eta, beta=self.beta)
