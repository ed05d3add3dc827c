r"""``SymmetricStable``: exactly α-stable weights, W = σ_w n^{−1/α} ε with ε ~ SαS(1).

Convention (DESIGN §15): SαS(σ) has characteristic function E e^{iuX} = exp(−σ^α |u|^α), the
parameterisation S1 of Samorodnitsky & Taqqu and of ``scipy.stats.levy_stable(alpha, 0)``. At
α = 2 this is N(0, 2σ²), **not** N(0, σ²).

Two exact representations of the same law are used:

- **Chambers–Mallows–Stuck** (:func:`sample_symmetric_stable`): with U ~ U(−π/2, π/2) and
  E ~ Exp(1), ε = sin(αU)/cos(U)^{1/α} · (cos((1−α)U)/E)^{(1−α)/α}. The finite network's prior
  sampler draws the weights (placed per weight) and the biases this way.
- **Gaussian scale mixture**: ε = sqrt(2A) G with G ~ N(0, 1) and A positive (α/2)-stable,
  E e^{−tA} = e^{−t^{α/2}}, so W = σ_w sqrt(λ) G with λ = 2 n^{−2/α} A. A is drawn by
  **Kanter's representation** (DESIGN §3.2): with β = α/2, U ~ U(0, π) and E ~ Exp(1),
  A = (a(U)/E)^{(1−β)/β}, a(u) = sin(βu)^{β/(1−β)} sin((1−β)u) / sin(u)^{1/(1−β)}. Given the
  angle U = u, A is Fréchet with shape k = β/(1−β) and scale a(u)^{1/k}
  (P(A ≤ x | u) = exp(−a(u) x^{−k})), a closed-form density: the NumPyro model samples the pair
  (angle, λ) with this **augmented density** (:class:`KanterConditional`), exact without any
  numerical integration, and NUTS works on (logit angle, log λ).

References: Chambers, Mallows & Stuck (1976); Weron (1996) for the symmetric case; Kanter (1975);
Samorodnitsky & Taqqu (1994), Prop. 1.2.12 and §1.7.
"""

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
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import Levy, NoJumps, StableLevy

__all__ = [
    "SymmetricStable",
    "PositiveStable",
    "KanterConditional",
    "sample_symmetric_stable",
    "kanter_log_a",
]


def _open_uniform(key, shape, dtype):
    """u ~ U(0, 1) with 0 excluded (jax.random.uniform may return 0)."""
    tiny = jnp.finfo(dtype).tiny
    return jax.random.uniform(key, shape, dtype, minval=tiny, maxval=1.0)


def sample_symmetric_stable(key, alpha: float, shape=(), dtype=None) -> jax.Array:
    r"""Draws of ε ~ SαS(1), E e^{iuε} = exp(−|u|^α), 0 < α ≤ 2, by Chambers–Mallows–Stuck.

    .. math:: \varepsilon = \frac{\sin(\alpha U)}{\cos(U)^{1/\alpha}}
              \Bigl(\frac{\cos((1-\alpha)U)}{E}\Bigr)^{(1-\alpha)/\alpha},\quad
              U \sim U(-\tfrac\pi2, \tfrac\pi2),\ E \sim \mathrm{Exp}(1).

    α = 1 gives tan U (Cauchy(0, 1)); α = 2 gives 2 sin(U) sqrt(E), i.e. N(0, 2). cos U is
    computed as sin(πu) with u ∈ (0, 1), so it is positive at every draw (a float32 cos(−π/2) is
    negative), and the product is formed in log space so that no factor overflows on its own.
    """
    alpha = check_real("alpha", alpha, low=0.0, high=2.0, high_open=False)
    dtype = jnp.result_type(float) if dtype is None else dtype
    k_u, k_e = jax.random.split(key)
    u = _open_uniform(k_u, shape, dtype)
    e = jax.random.exponential(k_e, shape, dtype)
    angle = math.pi * (u - 0.5)
    log_cos = jnp.log(jnp.sin(math.pi * u))
    log_mag = (
        jnp.log(jnp.abs(jnp.sin(alpha * angle)))
        - log_cos / alpha
        + (1.0 - alpha) / alpha * (jnp.log(jnp.cos((1.0 - alpha) * angle)) - jnp.log(e))
    )
    return jnp.sign(angle) * jnp.exp(log_mag)


def kanter_log_a(angle, alpha, sin_angle=None, xp=jnp):
    """log a(u) of Kanter's representation for a positive α-stable law, 0 < α < 1, u ∈ (0, π):
    a(u) = sin(αu)^{α/(1−α)} sin((1−α)u) / sin(u)^{1/(1−α)} (module docstring). ``sin_angle``:
    sin(u) when the caller has it more accurately than sin of the rounded u (near π);
    ``xp``: the array module (jax.numpy, or numpy for quadrature outside jit).
    """
    sin_angle = xp.sin(angle) if sin_angle is None else sin_angle
    return (
        alpha / (1.0 - alpha) * xp.log(xp.sin(alpha * angle))
        + xp.log(xp.sin((1.0 - alpha) * angle))
        - xp.log(sin_angle) / (1.0 - alpha)
    )


class PositiveStable(dist.Distribution):
    r"""λ = ``scale`` · A with A positive α-stable, E e^{−tA} = e^{−t^α}, 0 < α < 1.

    Exact sampling by Kanter's representation (module docstring). The density has no closed
    form; models use the augmented density of (angle, λ) instead (:class:`KanterConditional`),
    so ``log_prob`` is not provided.
    """

    arg_constraints = {"alpha": constraints.open_interval(0.0, 1.0), "scale": constraints.positive}
    support = constraints.positive

    def __init__(self, alpha, scale=1.0, *, validate_args=None):
        self.alpha, self.scale = alpha, scale
        super().__init__(batch_shape=jnp.shape(scale), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        k_u, k_c = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        angle = math.pi * _open_uniform(k_u, shape, jnp.result_type(float))
        return KanterConditional(self.alpha, angle, self.scale).sample(k_c)

    def log_prob(self, value):
        raise NotImplementedError(
            "the positive stable density has no closed form: sample it with its Kanter angle "
            "(bnn_mogp.priors.KanterConditional gives the exact augmented density)"
        )

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.inf)


class KanterConditional(dist.Distribution):
    r"""The law of λ = ``scale`` · A given Kanter's angle u for A positive α-stable (0 < α < 1).

    With k = α/(1−α), A | u = (a(u)/E)^{1/k}, E ~ Exp(1), is Fréchet(shape k, scale a(u)^{1/k}):

    .. math:: \log p(\lambda \mid u) = \log k + \log a(u) - \log s - (1 + k)\log(\lambda/s)
              - a(u)\,(\lambda/s)^{-k},\qquad s = \text{scale}.

    Paired with u ~ U(0, π) this is an exact joint density whose λ-marginal is the positive
    α-stable law (Kanter 1975); sampling both by NUTS samples that law.
    """

    arg_constraints = {
        "alpha": constraints.open_interval(0.0, 1.0),
        "angle": constraints.open_interval(0.0, math.pi),
        "scale": constraints.positive,
    }
    support = constraints.positive

    def __init__(self, alpha, angle, scale=1.0, *, validate_args=None):
        self.alpha = alpha
        self.angle, self.scale = promote_shapes(angle, scale)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(angle), jnp.shape(scale))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @property
    def _shape_k(self):
        return self.alpha / (1.0 - self.alpha)

    def sample(self, key, sample_shape=()):
        shape = sample_shape + self.batch_shape
        log_e = jnp.log(jax.random.exponential(key, shape, jnp.result_type(float)))
        log_a = kanter_log_a(self.angle, self.alpha)
        return self.scale * jnp.exp((log_a - log_e) / self._shape_k)

    @validate_sample
    def log_prob(self, value):
        k = self._shape_k
        log_a = kanter_log_a(self.angle, self.alpha)
        log_x = jnp.log(value) - jnp.log(self.scale)
        return (
            math.log(k)
            + log_a
            - jnp.log(self.scale)
            - (1.0 + k) * log_x
            - jnp.exp(log_a - k * log_x)
        )


@dataclasses.dataclass(frozen=True)
class SymmetricStable(NodePrior):
    r"""Exactly α-stable weights: W = σ_w n^{−1/α} ε, ε ~ SαS(1), biases σ_b ε' with the same α.

    As a node-variance law: W = σ_w sqrt(λ) G with λ = 2 n^{−2/α} A, A positive (α/2)-stable
    (module docstring), so the row sum Σ_{j≤n} λ_j equals 2A in law **at every width**. Limit
    (α < 2): a = 0, ρ the positive (α/2)-stable measure with ψ(t) = (2t)^{α/2}
    (``StableLevy(α/2, η = 2^{α/2})``); α = 2 is the Gaussian network with weight variance
    2σ_w²/n (the S1 convention: SαS(1) at α = 2 is N(0, 2)).

    Placed per weight (``MLP(placement="weight")``, the setting of Jung, Lee, Lee & Yang 2023
    and Favaro, Fortini & Peluchetti 2020) the finite sampler draws ε by Chambers–Mallows–Stuck
    (λ is then the constant n^{−2/α} and pruning ranks weights by |W|); the NumPyro model draws
    (angle, λ) from Kanter's augmented density (sites ``angle_l``, ``lam_l``) with Gaussian raw
    weights. Placed per node, λ_j is shared by the node's outgoing weights (a MoGP with a
    positive α/2-stable Lévy measure). The biases of the layer these weights feed are SαS(σ_b):
    CMS in the finite sampler, σ_b sqrt(2 A_b) G_b with sites ``bias_angle_l``, ``bias_var_l``
    in the model.

    Args:
        alpha: stability index in (0, 2].
    """

    family = "symmetric_stable"
    ranked_by_weights = True
    gaussian_biases = False
    alpha: float = 1.5

    def __post_init__(self):
        check_real("alpha", self.alpha, low=0.0, high=2.0, high_open=False)

    @property
    def gaussian_weights(self) -> bool:
        return self.alpha == 2.0

    def variance_scale(self, n: int) -> float:
        """2 n^{−2/α}: λ = 2 n^{−2/α} A."""
        return 2.0 * n ** (-2.0 / self.alpha)

    def at_width(self, n: int) -> dist.Distribution:
        n = check_width(n)
        if self.gaussian_weights:
            return dist.Delta(2.0 / n)
        return PositiveStable(self.alpha / 2.0, self.variance_scale(n))

    def limit(self) -> Levy:
        if self.gaussian_weights:
            return NoJumps(drift=2.0)
        return StableLevy(alpha=self.alpha / 2.0, eta=2.0 ** (self.alpha / 2.0))

    def bias_variance(self, key, sigma_b: float):
        """σ_b² · 2A_b, A_b positive (α/2)-stable: b = sqrt(that) G ~ SαS(σ_b)."""
        if self.gaussian_weights:
            return 2.0 * sigma_b**2
        return 2.0 * sigma_b**2 * PositiveStable(self.alpha / 2.0).sample(key)

    def bias_log_cf(self, u, sigma_b: float):
        """log E e^{iub} = −σ_b^α |u|^α."""
        return -((sigma_b * jnp.abs(u)) ** self.alpha)

    # -- finite sampler -------------------------------------------------------------------------
    def draw_outgoing(self, k_w, k_lam, n: int, fan_out: int, sigma_w: float, placement: str):
        """Per weight: λ = n^{−2/α} and V = σ_w ε with ε ~ SαS(1) by CMS, so that
        sqrt(λ) V = σ_w n^{−1/α} ε. Per node: the scale-mixture draw of the base class.
        """
        if placement != "weight":
            return super().draw_outgoing(k_w, k_lam, n, fan_out, sigma_w, placement)
        eps = sample_symmetric_stable(k_w, self.alpha, (n, fan_out))
        return jnp.full((n, fan_out), n ** (-2.0 / self.alpha), eps.dtype), sigma_w * eps

    def draws_variances(self, placement: str) -> bool:
        """Per weight the CMS draw of ε leaves λ = n^{−2/α}, a constant scale."""
        return placement != "weight"

    def draw_biases(self, key, fan_out: int, sigma_b: float):
        """σ_b ε, ε ~ SαS(1) by CMS."""
        return sigma_b * sample_symmetric_stable(key, self.alpha, (fan_out,))

    # -- NumPyro model --------------------------------------------------------------------------
    def _kanter_sites(self, angle_site: str, value_site: str, shape, scale: float):
        beta = self.alpha / 2.0
        angle = numpyro.sample(
            angle_site, dist.Uniform(0.0, math.pi).expand(shape).to_event(len(shape))
        )
        return numpyro.sample(
            value_site, KanterConditional(beta, angle, scale).to_event(len(shape))
        )

    def sample_node_variances(self, layer: int, shape):
        """λ = 2 n^{−2/α} A with Kanter's angle: sites ``angle_{layer}`` ~ U(0, π) and
        ``lam_{layer}`` | angle (:class:`KanterConditional`); α = 2: λ = 2/n, no latent.
        """
        n = shape[0]
        if self.gaussian_weights:
            return numpyro.deterministic(f"lam_{layer}", jnp.full(shape, 2.0 / n))
        return self._kanter_sites(f"angle_{layer}", f"lam_{layer}", shape, self.variance_scale(n))

    def sample_bias_scale(self, layer: int, fan_out: int, sigma_b: float):
        """σ_b sqrt(v) with v = 2A_b from Kanter's augmented density (sites
        ``bias_angle_{layer}``, ``bias_var_{layer}``), so that b = σ_b sqrt(v) raw ~ SαS(σ_b).
        """
        if self.gaussian_weights:
            return jnp.full((fan_out,), math.sqrt(2.0) * sigma_b)
        var = self._kanter_sites(f"bias_angle_{layer}", f"bias_var_{layer}", (fan_out,), 2.0)
        return sigma_b * jnp.sqrt(var)

    def bias_params(self, layer: int, raw, sites, sigma_b: float):
        if self.gaussian_weights:
            return math.sqrt(2.0) * sigma_b * raw
        return sigma_b * jnp.sqrt(sites[f"bias_var_{layer}"]) * raw
