r"""The node-scaled network trained by gradient descent (DESIGN §13) and its NTK.

.. math:: f_k(x) = \sum_{j=1}^m \sqrt{\lambda_j}\, u_{jk}\, \phi(w_j^\top x / \sqrt d),
          \qquad k = 1..K

Only w (d × m) is trained: w_j(0) ~ N(0, σ_v² I_d) (σ_v = √2 by default). The output weights u
(m × K) are frozen, uniform on {−1, +1} (the reference code) or N(0, 1); the scalings λ (m,)
are frozen, non-negative with Σ_j λ_j = 1 (:mod:`bnn_mogp.training.scalings`). No biases.

It is the package's :class:`~bnn_mogp.nn.MLP` with one hidden layer of width m, σ_w = σ_v,
σ_b = 0, evaluated by the one layer loop (:func:`bnn_mogp.nn.apply`) with W = w/√d, V = u and
the node variances λ (:func:`to_params`).

Empirical NTK of output k (the gradient with respect to w only):

.. math:: \Theta_t(x, x') = \sum_j \lambda_j u_{jk}^2\, \frac{x^\top x'}{d}\,
          \phi'(w_j^\top \tilde x)\, \phi'(w_j^\top \tilde x'), \qquad \tilde x = x/\sqrt d,

computed as (X̃X̃ᵀ) ⊙ (D diag(λ ⊙ u_k²) Dᵀ) with D = φ'(X̃ w) (P × m): the per-example Jacobian
(P × m × d) is never formed. With λ ≡ 1/m and E u² = 1 its expectation at initialisation (and
its m → ∞ limit) is Θ^∞(x, x') = (xᵀx'/d) E[φ'(a) φ'(b)], (a, b) Gaussian with covariance
σ_v² X̃X̃ᵀ; for ReLU, (xᵀx'/d)(π − θ)/(2π).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._validation import check_choice, check_real, check_width
from bnn_mogp.nn import MLP, Params, apply, get_activation
from bnn_mogp.priors import Deterministic
from bnn_mogp.training.scalings import NodeScaling

__all__ = [
    "NodeScaledNet",
    "NodeScaledParams",
    "init_params",
    "to_params",
    "predict",
    "empirical_ntk",
    "limit_ntk",
    "OUTPUT_WEIGHTS",
]

#: laws of the frozen output weights u
OUTPUT_WEIGHTS = ("sign", "normal")


@dataclasses.dataclass(frozen=True)
class NodeScaledNet:
    """The architecture of a node-scaled network (module docstring).

    Args:
        in_dim: input dimension d.
        width: number of hidden nodes m.
        out_dim: number of outputs K.
        activation: a registered activation name (``bnn_mogp.nn.ACTIVATIONS``).
        sigma_v: standard deviation σ_v > 0 of the initial hidden weights w_j(0).
        output_weights: ``"sign"`` (u uniform on {−1, +1}) or ``"normal"`` (N(0, 1)).
    """

    in_dim: int
    width: int
    out_dim: int = 1
    activation: str = "relu"
    sigma_v: float = float(np.sqrt(2.0))
    output_weights: str = "sign"

    def __post_init__(self):
        check_width(self.in_dim, "in_dim")
        check_width(self.width, "width")
        check_width(self.out_dim, "out_dim")
        check_real("sigma_v", self.sigma_v, low=0.0)
        check_choice("output_weights", self.output_weights, OUTPUT_WEIGHTS)
        get_activation(self.activation)

    @property
    def mlp(self) -> MLP:
        """The same network as a package :class:`~bnn_mogp.nn.MLP` (σ_w = σ_v, σ_b = 0)."""
        return MLP(
            in_dim=self.in_dim,
            widths=(self.width,),
            out_dim=self.out_dim,
            activation=self.activation,
            node_prior=Deterministic(1.0),
            sigma_w=self.sigma_v,
            sigma_b=0.0,
        )


class NodeScaledParams(NamedTuple):
    """Parameters of a node-scaled network: w (d, m) trained; u (m, K) and λ (m,) frozen."""

    w: jax.Array
    u: jax.Array
    lam: jax.Array


def init_params(
    rng_key, net: NodeScaledNet, scaling: NodeScaling, dtype=jnp.float32
) -> NodeScaledParams:
    """w(0) ~ N(0, σ_v²), u from ``net.output_weights``, λ from ``scaling`` (its random draw,
    if any, from its own split of ``rng_key``).
    """
    k_w, k_u, k_lam = jax.random.split(rng_key, 3)
    w = net.sigma_v * jax.random.normal(k_w, (net.in_dim, net.width), dtype)
    if net.output_weights == "sign":
        u = jax.random.rademacher(k_u, (net.width, net.out_dim), dtype)
    else:
        u = jax.random.normal(k_u, (net.width, net.out_dim), dtype)
    lam = jnp.asarray(scaling.scalings(net.width, k_lam), dtype)
    return NodeScaledParams(w, u, lam)


def to_params(net: NodeScaledNet, p: NodeScaledParams) -> Params:
    """The package's :class:`~bnn_mogp.nn.Params` of the same network: W = w/√d, V = u, λ."""
    zero = jnp.zeros((), p.w.dtype)
    return Params((p.w / np.sqrt(net.in_dim), p.u), (zero, zero), (p.lam,))


def predict(net: NodeScaledNet, p: NodeScaledParams, X) -> jax.Array:
    """f(X) (N, K) through the package's layer loop."""
    return apply(net.mlp, to_params(net, p), X)


def empirical_ntk(net: NodeScaledNet, p: NodeScaledParams, X1, X2=None, output: int = 0):
    """Θ_t(X1, X2) (P1, P2) of output ``output`` with respect to w (module docstring)."""
    X2 = X1 if X2 is None else X2
    scale = 1.0 / np.sqrt(net.in_dim)
    X1t, X2t = X1 * scale, X2 * scale
    deriv = net.mlp.phi.deriv
    if deriv is None:
        raise ValueError(f"activation {net.activation!r} has no derivative: no NTK")
    D1, D2 = deriv(X1t @ p.w), deriv(X2t @ p.w)
    weight = p.lam * p.u[:, output] ** 2
    return (X1t @ X2t.T) * ((D1 * weight) @ D2.T)


def limit_ntk(net: NodeScaledNet, X1, X2=None) -> np.ndarray:
    """Θ^∞(X1, X2) = (xᵀx'/d) E[φ'(a)φ'(b)] for uniform scalings λ ≡ 1/m (γ = 1), float64.

    (a, b) is Gaussian with covariance σ_v² [x̃ᵀx̃, x̃ᵀx̃'; x̃'ᵀx̃, x̃'ᵀx̃'], x̃ = x/√d; for ReLU
    E[φ'φ'] = (π − θ)/(2π) in closed form, other activations through the package's Gaussian
    expectations (:meth:`~bnn_mogp.nn.activations.Activation.deriv_expectation`).
    """
    phi = net.mlp.phi
    with jax.enable_x64(True):
        X1 = jnp.asarray(X1, jnp.float64)
        X2 = X1 if X2 is None else jnp.asarray(X2, jnp.float64)
        gram = X1 @ X2.T / net.in_dim
        v1 = jnp.sum(X1 * X1, 1) / net.in_dim
        v2 = jnp.sum(X2 * X2, 1) / net.in_dim
        s2 = net.sigma_v**2
        dot = phi.deriv_expectation(s2 * v1[:, None], s2 * gram, s2 * v2[None, :])
        return np.asarray(gram * dot)
