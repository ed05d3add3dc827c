"""The network spec (frozen, hashable) and its one layer loop (DESIGN §2).

Every consumer of a network goes through this module: prior sampling (:func:`sample_params`),
the NumPyro model (it samples the raw sites and calls :func:`apply` / :func:`features`),
posterior draws turned back into parameters, pruning, and the limit samplers, which take the
first layer's covariance (:func:`first_layer_kernel`) and the scale of its weights
(:attr:`MLP.input_scale`) from here.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.nn.activations import Activation, get_activation
from bnn_mogp.priors import PLACEMENTS, Deterministic, NodePrior, make_prior

__all__ = [
    "MLP",
    "Params",
    "apply",
    "features",
    "sample_params",
    "check_inputs",
    "first_layer_kernel",
    "first_layer_variance",
    "layer_kernel",
    "layer_preactivations",
    "preactivations",
]


@dataclasses.dataclass(frozen=True)
class MLP:
    r"""A fully connected network whose hidden nodes carry random variances λ.

    .. math::
        Z^{(1)}_k(x) &= b^{(1)}_k + \sum_i W_{ik} x_i, \quad W_{ik} \sim N(0, \sigma_w^2/d),\
            b \sim N(0, \sigma_b^2) \\
        Z^{(l+1)}_k(x) &= b^{(l+1)}_k + \sum_j \sqrt{\lambda_{l,j}}\, V_{jk}\,
            \phi(Z^{(l)}_j(x)), \quad V_{jk} \sim N(0, \sigma_w^2)

    λ_{l,1..n_l} are iid with ``node_prior.at_width(n_l)``; node j's λ is shared by all weights
    leaving it. The width scaling lives in the prior's law (λ ≡ 1/n is the classical network).
    Placed per weight (DESIGN §15), every weight leaving layer l carries its own λ_{l,jk}, iid
    with the same law at width n_l: Z^{(l+1)}_k = b_k + Σ_j sqrt(λ_{l,jk}) V_jk φ(Z^{(l)}_j), and
    the units of layer l + 1 are independent instead of dependent.

    Args:
        in_dim: input dimension d ≥ 1.
        widths: hidden widths (n_1, …, n_L); ``()`` is Bayesian linear regression.
        out_dim: number of outputs K ≥ 1.
        activation: a name in ``bnn_mogp.activations.ACTIVATIONS``.
        node_prior: one :class:`~bnn_mogp.priors.NodePrior` for every hidden layer, or a tuple
            with one per hidden layer.
        sigma_w: weight standard deviation σ_w > 0.
        sigma_b: bias standard deviation σ_b ≥ 0.
        placement: ``"node"`` (one λ per node) or ``"weight"`` (one λ per weight), or a tuple
            with one per hidden layer.
    """

    in_dim: int
    widths: tuple[int, ...]
    out_dim: int = 1
    activation: str = "relu"
    node_prior: NodePrior | tuple[NodePrior, ...] = Deterministic()
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    placement: str | tuple[str, ...] = "node"

    def __post_init__(self):
        check_width(self.in_dim, "in_dim")
        check_width(self.out_dim, "out_dim")
        widths = self.widths
        if isinstance(widths, numbers.Integral):
            widths = (widths,)
        widths = tuple(check_width(n, f"widths[{i}]") for i, n in enumerate(widths))
        object.__setattr__(self, "widths", widths)
        get_activation(self.activation)
        prior = self.node_prior
        if isinstance(prior, list):
            prior = tuple(prior)
        if isinstance(prior, tuple):
            if len(prior) != len(widths):
                raise ValueError(
                    f"node_prior has {len(prior)} priors but the network has {len(widths)} "
                    "hidden layers; give one prior, or one per hidden layer"
                )
            bad = [p for p in prior if not isinstance(p, NodePrior)]
        else:
            bad = [] if isinstance(prior, NodePrior) else [prior]
        if bad:
            raise ValueError(f"node_prior must be a bnn_mogp.priors.NodePrior, got {bad[0]!r}")
        object.__setattr__(self, "node_prior", prior)
        check_real("sigma_w", self.sigma_w, low=0.0)
        check_real("sigma_b", self.sigma_b, low=0.0, low_open=False)
        placement = self.placement
        if isinstance(placement, list):
            placement = tuple(placement)
        if isinstance(placement, tuple) and len(placement) != len(widths):
            raise ValueError(
                f"placement has {len(placement)} entries but the network has {len(widths)} "
                "hidden layers; give one placement, or one per hidden layer"
            )
        for value in placement if isinstance(placement, tuple) else (placement,):
            if value not in PLACEMENTS:
                raise ValueError(
                    f"placement must be one of {', '.join(PLACEMENTS)} (or one per hidden "
                    f"layer), got {value!r}"
                )
        if isinstance(placement, tuple) and len(set(placement)) == 1:
            placement = placement[0]
        object.__setattr__(self, "placement", placement)
        for n, p in zip(widths, self.node_priors, strict=True):
            p.at_width(n)  # a law that cannot exist at this width fails here, not mid-sampling

    @property
    def depth(self) -> int:
        """The number of hidden layers L."""
        return len(self.widths)

    @property
    def sizes(self) -> tuple[int, ...]:
        """(d, n_1, …, n_L, K): the sizes of every layer, input and output included."""
        return (self.in_dim, *self.widths, self.out_dim)

    @property
    def num_params(self) -> int:
        """Weights and biases of all layers: Σ_l (n_{l−1} + 1) n_l."""
        sizes = self.sizes
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def input_scale(self) -> float:
        """σ_w/sqrt(d): the standard deviation of a first-layer weight (the only place where the
        input dimension scales a weight).
        """
        return self.sigma_w / math.sqrt(self.in_dim)

    def weight_scale(self, layer: int) -> float:
        """The factor from raw standard-normal weights of ``layer`` (0: first layer) to the
        weights held in :class:`Params`: σ_w/sqrt(d) for the first layer, σ_w after (the node
        variances sqrt(λ) enter in :func:`apply`).
        """
        return self.input_scale if layer == 0 else self.sigma_w

    @property
    def node_priors(self) -> tuple[NodePrior, ...]:
        """One prior per hidden layer."""
        if isinstance(self.node_prior, tuple):
            return self.node_prior
        return (self.node_prior,) * self.depth

    @property
    def placements(self) -> tuple[str, ...]:
        """One placement per hidden layer: ``"node"`` or ``"weight"``."""
        if isinstance(self.placement, tuple):
            return self.placement
        return (self.placement,) * self.depth

    @property
    def phi(self) -> Activation:
        """The registered activation."""
        return get_activation(self.activation)

    def to_dict(self) -> dict:
        """The declaration as plain JSON-able data (priors as
        :meth:`~bnn_mogp.priors.NodePrior.to_dict`, one per hidden layer);
        :meth:`from_dict` reads it back to an equal network.
        """
        return {
            "in_dim": self.in_dim,
            "widths": list(self.widths),
            "out_dim": self.out_dim,
            "activation": self.activation,
            "node_prior": [p.to_dict() for p in self.node_priors],
            "sigma_w": self.sigma_w,
            "sigma_b": self.sigma_b,
            "placement": list(self.placements),
        }

    @classmethod
    def from_dict(cls, data: dict) -> MLP:
        """The network of :meth:`to_dict`'s output."""
        data = dict(data)
        priors = tuple(make_prior(**p) for p in data.pop("node_prior"))
        node_prior: NodePrior | tuple[NodePrior, ...] = priors
        if priors and len(set(priors)) == 1:
            node_prior = priors[0]
        placement = tuple(data.pop("placement", ())) or "node"
        return cls(
            **{**data, "widths": tuple(data["widths"])},
            node_prior=node_prior or Deterministic(),
            placement=placement,
        )

    def with_width(self, n: int) -> MLP:
        """The same network with every hidden layer of width ``n``."""
        return dataclasses.replace(self, widths=(n,) * self.depth)


class Params(NamedTuple):
    """One draw of the network's parameters.

    ``weights[0]`` is W (d, n_1) with entries N(0, σ_w²/d); ``weights[l]`` (l ≥ 1) is the raw
    V (n_l, n_{l+1}) with entries N(0, σ_w²) (for most priors), scaled by sqrt(λ_l) in
    :func:`apply`; ``biases[l]`` has entries N(0, σ_b²) (for most priors); ``lams[l]`` holds λ of
    hidden layer l + 1: shape (n_l,) placed per node, (n_l, n_{l+1}) placed per weight.
    """

    weights: tuple
    biases: tuple
    lams: tuple


def check_inputs(net: MLP, X) -> jax.Array:
    """Return X as a 2-D array of shape (N, in_dim); 1-D X is accepted when in_dim == 1."""
    X = jnp.asarray(X)
    if X.ndim == 1 and net.in_dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != net.in_dim:
        raise ValueError(f"X must have shape (N, in_dim={net.in_dim}), got {X.shape}")
    if not jnp.issubdtype(X.dtype, jnp.floating):
        X = X.astype(jnp.result_type(float))
    if not bool(jnp.all(jnp.isfinite(X))):
        raise ValueError("X contains NaN or infinite values")
    return X


def sample_params(rng_key, net: MLP) -> Params:
    """Draw one network from the prior of ``net``."""
    sizes = net.sizes
    keys = jax.random.split(rng_key, 3 * len(sizes))
    weights, biases, lams = [], [], []
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        k_w, k_b, k_lam = keys[3 * l : 3 * l + 3]
        if l == 0:
            weights.append(net.weight_scale(0) * jax.random.normal(k_w, (fan_in, fan_out)))
            biases.append(net.sigma_b * jax.random.normal(k_b, (fan_out,)))
            continue
        prior, placement = net.node_priors[l - 1], net.placements[l - 1]
        lam, V = prior.draw_outgoing(k_w, k_lam, fan_in, fan_out, net.sigma_w, placement)
        weights.append(V)
        lams.append(lam)
        biases.append(prior.draw_biases(k_b, fan_out, net.sigma_b))
    return Params(tuple(weights), tuple(biases), tuple(lams))


def layer_preactivations(params: Params, layer: int, h):
    """Pre-activations of layer ``layer`` + 1 from its input h: h W + b for the first layer,
    (h ⊙ sqrt(λ_l)) V_l + b_l after (placed per node), h (sqrt(λ_l) ⊙ V_l) + b_l (per weight:
    λ_l has V_l's shape).
    """
    W = params.weights[layer]
    if layer > 0:
        lam = params.lams[layer - 1]
        if jnp.ndim(lam) == jnp.ndim(W):
            W = jnp.sqrt(lam) * W
        else:
            h = h * jnp.sqrt(lam)
    return h @ W + params.biases[layer]


def features(net: MLP, params: Params, X) -> jax.Array:
    """φ(Z^(L)(X)) (N, n_L): the last hidden layer's activations (X itself when L = 0). Uses the
    hidden layers' parameters only, so ``params`` may stop before the output layer.
    """
    h = X
    for layer in range(net.depth):
        h = net.phi.fn(layer_preactivations(params, layer, h))
    return h


def preactivations(net: MLP, params: Params, X) -> list[jax.Array]:
    """[Z^(1)(X), …, Z^(L)(X), f(X)]: every layer's pre-activations through the layer loop,
    the outputs last.
    """
    out, h = [], X
    for layer in range(net.depth + 1):
        out.append(layer_preactivations(params, layer, h))
        h = net.phi.fn(out[-1])
    return out


def apply(net: MLP, params: Params, X) -> jax.Array:
    """The network's outputs at inputs X (N, d) → (N, K). Pure; jit- and vmap-friendly."""
    return layer_preactivations(params, net.depth, features(net, params, X))


def first_layer_kernel(net: MLP, X1, X2):
    """Σ^(1)(x, x') = σ_b² + σ_w² x·x'/d: the covariance of the first layer's pre-activations."""
    return net.sigma_b**2 + net.sigma_w**2 * (X1 @ X2.T) / net.in_dim


def first_layer_variance(net: MLP, X):
    """Σ^(1)(x, x) = σ_b² + σ_w² |x|²/d for every row of X: the diagonal of
    :func:`first_layer_kernel` without the N × N matrix.
    """
    return net.sigma_b**2 + net.sigma_w**2 * jnp.sum(X * X, axis=1) / net.in_dim


def layer_kernel(net: MLP, drift, mean_kernel, jump_features=None):
    r"""The covariance of the next layer's pre-activations given the current one's.

    DESIGN §4.1:

    .. math:: \Sigma^{(l+1)} = \sigma_b^2 11^\top + \sigma_w^2 \bigl[c\,E_\phi(\Sigma^{(l)})
              + G G^\top\bigr],

    with ``drift`` c (the drift a_l, plus the mean of any neglected small jumps),
    ``mean_kernel`` E_φ(Σ^(l)) and ``jump_features`` G = φ(Z) diag(sqrt θ) (N × M) of the
    explicit large nodes (None: a GP layer).
    """
    inner = drift * mean_kernel
    if jump_features is not None:
        inner = inner + jump_features @ jump_features.T
    return net.sigma_b**2 + net.sigma_w**2 * inner
