"""``GaussianMixture``: spike-and-slab nodes; the limit is a GP plus a compound Poisson part."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.priors.base import NodePrior
from bnn_mogp.priors.levy import PointMassLevy

__all__ = ["GaussianMixture", "TwoPoint", "NodeMixture"]


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


class NodeMixture(dist.Distribution):
    """Outgoing weights of spike-and-slab nodes with the indicator marginalised.

    Placed per node: batch shape (n,), event shape (m,), row j is N(0, var_spike I_m) with
    probability 1 − p and N(0, var_slab I_m) with probability p. Placed per weight
    (``per_weight=True``): batch shape (n, m), event shape (), every weight its own mixture.
    """

    arg_constraints = {
        "var_spike": constraints.positive,
        "var_slab": constraints.positive,
        "prob_slab": constraints.unit_interval,
    }
    support = constraints.real_vector

    def __init__(
        self, var_spike, var_slab, prob_slab, shape, per_weight=False, *, validate_args=None
    ):
        self.var_spike, self.var_slab, self.prob_slab = var_spike, var_slab, prob_slab
        cut = len(shape) if per_weight else 1
        super().__init__(
            batch_shape=tuple(shape[:cut]),
            event_shape=tuple(shape[cut:]),
            validate_args=validate_args,
        )

    def sample(self, key, sample_shape=()):
        k_ind, k_w = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        slab = jax.random.bernoulli(k_ind, self.prob_slab, shape)
        slab = slab.reshape(shape + (1,) * len(self.event_shape))
        scale = jnp.sqrt(jnp.where(slab, self.var_slab, self.var_spike))
        return scale * jax.random.normal(k_w, shape + self.event_shape)

    def component_log_probs(self, value):
        """(log(1−p) + log N(v_j; 0, spike), log p + log N(v_j; 0, slab)) per node (per weight
        when placed per weight).
        """
        axes = tuple(range(-len(self.event_shape), 0))
        m = math.prod(self.event_shape)
        sq = jnp.sum(value**2, axis=axes)

        def gauss(var):
            return -0.5 * (m * jnp.log(2 * math.pi * var) + sq / var)

        return (
            jnp.log1p(-self.prob_slab) + gauss(self.var_spike),
            jnp.log(self.prob_slab) + gauss(self.var_slab),
        )

    def log_prob(self, value):
        spike, slab = self.component_log_probs(value)
        return jnp.logaddexp(spike, slab)


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
    collapsible = False
    ranked_by_weights = True
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

    # -- placement: the node indicator is marginalised in the outgoing weights' law ----------------
    def sample_node_variances(self, layer: int, shape: tuple[int, ...]):
        """Nothing to sample: λ is marginalised in :meth:`sample_outgoing_weights`."""
        return None

    def sample_outgoing_weights(
        self, layer: int, lam, n: int, fan_out: int, sigma_w: float, placement: str = "node"
    ):
        r"""The centred weights ``w_{layer + 1}`` (n, m) with node j's indicator marginalised:
        log p(v_j) = logsumexp(log(1−p) + Σ_k log N(v_jk; 0, σ_w² spike/n),
        log p + Σ_k log N(v_jk; 0, σ_w² slab)), p = κ/n (DESIGN §6.1). Records the slab's
        posterior probability q_j as ``slab_prob_{layer}`` and E[λ_j | weights] =
        (1 − q_j) spike/n + q_j slab as ``lam_{layer}``. Placed per weight, every weight has
        its own indicator (the same formula with m = 1) and both sites have the weights' shape.
        """
        if self.spike == 0:
            raise ValueError(
                "GaussianMixture(spike=0) puts a point mass on the weights, which has no "
                "density for inference: use spike > 0"
            )
        law = self.at_width(n)
        weights_law = NodeMixture(
            sigma_w**2 * law.low,
            sigma_w**2 * law.high,
            law.prob_high,
            (n, fan_out),
            per_weight=placement == "weight",
        )
        weights = numpyro.sample(f"w_{layer + 1}", weights_law)
        spike, slab = weights_law.component_log_probs(weights)
        q = numpyro.deterministic(f"slab_prob_{layer}", jax.nn.sigmoid(slab - spike))
        lam = numpyro.deterministic(f"lam_{layer}", (1 - q) * law.low + q * law.high)
        return self.outgoing_params(lam, weights, sigma_w)

    def outgoing_params(self, lam, w, sigma_w: float):
        """The weights are centred (λ is inside their law): V = w and λ ≡ 1 (in the shape of
        the recorded E[λ | weights]: per node or per weight).
        """
        return jnp.ones(jnp.shape(lam), jnp.result_type(w)), w

    def node_variance(self, lam, V, sigma_w: float):
        """‖v_j‖² / (m σ_w²), the realised variance of the node's m centred weights: it orders
        nodes like E[λ_j | weights] without that probability's saturation at the slab value.
        Placed per weight (λ of V's shape): v_jk² / σ_w².
        """
        V = np.asarray(V)
        if np.ndim(lam) == V.ndim:
            return V**2 / sigma_w**2
        return np.sum(V**2, axis=-1) / (V.shape[-1] * sigma_w**2)

    def node_importance(self, lam, V, sigma_w: float):
        """The realised variance :meth:`node_variance`."""
        return self.node_variance(lam, V, sigma_w)
