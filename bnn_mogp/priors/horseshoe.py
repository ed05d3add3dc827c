"""``Horseshoe``: half-Cauchy node scales; the limit is a positive ½-stable subordinator."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.distributions.util import promote_shapes, validate_sample

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior, variance_shape
from bnn_mogp.priors.levy import StableLevy

__all__ = ["Horseshoe", "SquaredHalfCauchy"]


class SquaredHalfCauchy(dist.Distribution):
    r"""Law of λ = (σ C)² with C ~ HalfCauchy(1): the variance of a half-Cauchy(σ) scale.

    .. math:: p(\lambda) = \frac{1}{\pi \sigma \sqrt{\lambda}\,(1 + \lambda/\sigma^2)},\qquad
              P(\lambda \le x) = \tfrac{2}{\pi}\arctan(\sqrt{x}/\sigma).
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.positive
    reparametrized_params = ["scale"]

    def __init__(self, scale=1.0, *, validate_args=None):
        (self.scale,) = promote_shapes(scale)
        super().__init__(batch_shape=jnp.shape(scale), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        # C = Z₁/Z₂ (a ratio of normals) keeps the far tail that an inverse-CDF draw from a
        # float32 uniform would cut off
        z = jax.random.normal(key, (2, *sample_shape, *self.batch_shape))
        return (self.scale * z[0] / z[1]) ** 2

    @validate_sample
    def log_prob(self, value):
        return (
            -math.log(math.pi)
            - jnp.log(self.scale)
            - 0.5 * jnp.log(value)
            - jnp.log1p(value / self.scale**2)
        )

    def cdf(self, value):
        return 2.0 / math.pi * jnp.arctan(jnp.sqrt(value) / self.scale)

    def icdf(self, q):
        return (self.scale * jnp.tan(0.5 * math.pi * q)) ** 2

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.inf)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf)


@dataclasses.dataclass(frozen=True)
class Horseshoe(NodePrior):
    r"""sqrt(λ) ~ HalfCauchy(s/n) at width n, i.e. λ = (s C / n)².

    Limit: a = 0, ρ(dw) = (s/π) w^{−3/2} dw (positive ½-stable), ψ(t) = (2s/√π) t^{1/2},
    ρ̄(x) = (2s/π) x^{−1/2}, jumps θ_m = (2s/(π Γ_m))², W ~ Lévy(0, 2s²/π). It is
    ``StableLike(alpha=0.5, eta=2s/√π)``'s limit. One hidden ReLU layer with σ_b = 0 gives
    Cauchy(0, s σ_w sqrt(k)/π) outputs (DESIGN §4.5).

    **Learned global scale** (DESIGN §16): with ``scale_prior = c`` each hidden layer l has its
    own s_l ~ HalfCauchy(c) (site ``global_scale_l``; the global–local horseshoe of Carvalho,
    Polson & Scott 2010) and sqrt(λ_j) | s_l ~ HalfCauchy(s_l / n); ``scale`` is then the value
    at which the theory (``limit``) reads the prior.

    Args:
        scale: s > 0.
        scale_prior: None (s fixed), or the scale c > 0 of the half-Cauchy prior of a learned s.
    """

    family = "horseshoe"
    scale: float = 1.0
    scale_prior: float | None = None

    def __post_init__(self):
        check_real("scale", self.scale, low=0.0)
        if self.scale_prior is not None:
            check_real("scale_prior", self.scale_prior, low=0.0)

    @property
    def learned(self) -> bool:
        return self.scale_prior is not None

    def at_width(self, n: int) -> SquaredHalfCauchy:
        n = check_width(n)
        return SquaredHalfCauchy(self.scale / n)

    def limit(self) -> StableLevy:
        return StableLevy(alpha=0.5, eta=2.0 * self.scale / math.sqrt(math.pi))

    def sample_node_variances(self, layer: int, shape: tuple[int, ...]):
        """Non-centred through the half-Cauchy scale: ``scale_{layer}`` ~ HalfCauchy(s/n) (NUTS
        works on its log), recorded as λ = scale² in the deterministic site ``lam_{layer}``.
        """
        n = check_width(shape[0])
        s = self.scale
        if self.scale_prior is not None:  # learned: the site global_scale_{layer} first
            s = numpyro.sample(
                f"global_scale_{layer}",
                dist.HalfCauchy(self.scale_prior),
                infer={"hyperparameter": math.prod(shape)},
            )
        law = dist.HalfCauchy(s / n).expand(shape)
        scale = numpyro.sample(f"scale_{layer}", law.to_event(len(shape)))
        return numpyro.deterministic(f"lam_{layer}", scale**2)

    def draw_outgoing(self, k_w, k_lam, n: int, fan_out: int, sigma_w: float, placement: str):
        """As for every prior, with the global scale drawn first when it is learned."""
        if self.scale_prior is None:
            return super().draw_outgoing(k_w, k_lam, n, fan_out, sigma_w, placement)
        k_s, k_lam = jax.random.split(k_lam)
        s = self.scale_prior * jnp.abs(jax.random.cauchy(k_s))
        V = sigma_w * jax.random.normal(k_w, (n, fan_out))
        lam = SquaredHalfCauchy(s / check_width(n)).sample(
            k_lam, variance_shape(n, fan_out, placement)
        )
        return lam, V
