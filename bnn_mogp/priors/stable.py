"""``StableLike``: BFRY-type node variances whose limit is (tempered) positive α-stable."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.distributions.util import validate_sample

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior, variance_shape
from bnn_mogp.priors.levy import StableLevy

__all__ = ["StableLike", "StableLikeWidth"]


def _beta_parameters(value) -> tuple[float, float]:
    """(a, b) of a Beta hyper-prior, both > 0, as a tuple of floats."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(
            f"alpha_prior must be the pair (a, b) of a Beta(a, b) prior, got {value!r}"
        ) from None
    return check_real("alpha_prior a", a, low=0.0), check_real("alpha_prior b", b, low=0.0)


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
    def log_tn(self):
        """log t_n, computed without forming t_n (which overflows for small α); α may be a
        traced value (a learned α, :class:`StableLike`'s ``alpha_prior``).
        """
        a, b, ratio = self.alpha, self.beta, self.width / self.eta
        if b == 0:
            return math.log(ratio) / a
        z = jnp.log1p(ratio / b**a) / a  # t_n = β (e^z − 1)
        return math.log(b) + z + jnp.log(-jnp.expm1(-z))

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
        log_norm = jnp.log(a * self.eta / self.width) - jax.scipy.special.gammaln(1.0 - a)
        return (
            log_norm
            - (1.0 + a) * log_w
            - self.beta * value
            # log(1 − e^{−t_n w}) is 0 in double precision once t_n w > e^40; clipping there
            # keeps its α-gradient 0 instead of inf · 0 (a learned α near 0 makes t_n overflow)
            + _log1mexp(jnp.exp(jnp.minimum(self.log_tn + log_w, 40.0)))
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

    **Learned α** (DESIGN §16): with ``alpha_prior = (a, b)`` each hidden layer l carries its
    own α_l ~ Beta(a, b) (site ``alpha_l``, sampled by NUTS and SG-MCMC on its logit, optimised
    by MAP), and its λ are iid ``StableLikeWidth(α_l, η, β, n)`` given it; the finite prior
    sampler draws α_l first. ``alpha`` is then the value at which the theory (``limit``) and
    anything else that needs one α reads the prior.

    Args:
        alpha: stability index in (0, 1).
        eta: mass parameter η > 0.
        beta: tempering rate β ≥ 0 (0: untempered, infinite-mean row sums).
        alpha_prior: None (α fixed), or the Beta(a, b) prior (a, b > 0) of a learned α.
    """

    family = "stable"
    alpha: float = 0.5
    eta: float = 1.0
    beta: float = 0.0
    alpha_prior: tuple[float, float] | None = None

    def __post_init__(self):
        self.limit()  # validates alpha, eta and beta
        if self.alpha_prior is not None:
            object.__setattr__(self, "alpha_prior", _beta_parameters(self.alpha_prior))

    @property
    def learned(self) -> bool:
        return self.alpha_prior is not None

    def _alpha_law(self):
        a, b = self.alpha_prior or (1.0, 1.0)
        return dist.Beta(a, b)

    def sample_node_variances(self, layer: int, shape: tuple[int, ...]):
        """As for every prior, with a learned α_l (site ``alpha_{layer}``) sampled first when
        ``alpha_prior`` is set.
        """
        if self.alpha_prior is None:
            return super().sample_node_variances(layer, shape)
        alpha = numpyro.sample(
            f"alpha_{layer}", self._alpha_law(), infer={"hyperparameter": math.prod(shape)}
        )
        law = StableLikeWidth(alpha, float(self.eta), float(self.beta), check_width(shape[0]))
        return numpyro.sample(f"lam_{layer}", law.expand(shape).to_event(len(shape)))

    def draw_outgoing(self, k_w, k_lam, n: int, fan_out: int, sigma_w: float, placement: str):
        """As for every prior, with α drawn from its Beta prior first when it is learned."""
        if self.alpha_prior is None:
            return super().draw_outgoing(k_w, k_lam, n, fan_out, sigma_w, placement)
        k_alpha, k_lam = jax.random.split(k_lam)
        alpha = self._alpha_law().sample(k_alpha)
        V = sigma_w * jax.random.normal(k_w, (n, fan_out))
        law = StableLikeWidth(alpha, float(self.eta), float(self.beta), check_width(n))
        return law.sample(k_lam, variance_shape(n, fan_out, placement)), V

    def at_width(self, n: int) -> StableLikeWidth:
        n = check_width(n)
        return StableLikeWidth(float(self.alpha), float(self.eta), float(self.beta), n)

    def limit(self) -> StableLevy:
        return StableLevy(alpha=self.alpha, eta=self.eta, beta=self.beta)
