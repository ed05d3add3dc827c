"""The network spec (frozen, hashable) and its pure forward pass (DESIGN §2)."""

from __future__ import annotations

import dataclasses
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.nn.activations import Activation, get_activation
from bnn_mogp.priors import Deterministic, NodePrior

__all__ = ["MLP", "Params", "apply", "sample_params", "check_inputs"]


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

    Args:
        in_dim: input dimension d ≥ 1.
        widths: hidden widths (n_1, …, n_L); ``()`` is Bayesian linear regression.
        out_dim: number of outputs K ≥ 1.
        activation: a name in ``bnn_mogp.activations.ACTIVATIONS``.
        node_prior: one :class:`~bnn_mogp.priors.NodePrior` for every hidden layer, or a tuple
            with one per hidden layer.
        sigma_w: weight standard deviation σ_w > 0.
        sigma_b: bias standard deviation σ_b ≥ 0.
    """

    in_dim: int
    widths: tuple[int, ...]
    out_dim: int = 1
    activation: str = "relu"
    node_prior: NodePrior | tuple[NodePrior, ...] = Deterministic()
    sigma_w: float = 1.0
    sigma_b: float = 0.0

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
        for n, p in zip(widths, self.node_priors, strict=True):
            p.at_width(n)  # a law that cannot exist at this width fails here, not mid-sampling

    @property
    def depth(self) -> int:
        """The number of hidden layers L."""
        return len(self.widths)

    @property
    def node_priors(self) -> tuple[NodePrior, ...]:
        """One prior per hidden layer."""
        if isinstance(self.node_prior, tuple):
            return self.node_prior
        return (self.node_prior,) * self.depth

    @property
    def phi(self) -> Activation:
        """The registered activation."""
        return get_activation(self.activation)

    def with_width(self, n: int) -> MLP:
        """The same network with every hidden layer of width ``n``."""
        return dataclasses.replace(self, widths=(n,) * self.depth)


class Params(NamedTuple):
    """One draw of the network's parameters.

    ``weights[0]`` is W (d, n_1) with entries N(0, σ_w²/d); ``weights[l]`` (l ≥ 1) is the raw
    V (n_l, n_{l+1}) with entries N(0, σ_w²), scaled per row by sqrt(λ_l) in :func:`apply`;
    ``biases[l]`` has entries N(0, σ_b²); ``lams[l]`` holds λ of hidden layer l + 1.
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
    sizes = (net.in_dim, *net.widths, net.out_dim)
    keys = jax.random.split(rng_key, 3 * len(sizes))
    weights, biases, lams = [], [], []
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        k_w, k_b, k_lam = keys[3 * l : 3 * l + 3]
        scale = net.sigma_w / np.sqrt(net.in_dim) if l == 0 else net.sigma_w
        weights.append(scale * jax.random.normal(k_w, (fan_in, fan_out)))
        biases.append(net.sigma_b * jax.random.normal(k_b, (fan_out,)))
        if l > 0:
            lams.append(net.node_priors[l - 1].at_width(fan_in).sample(k_lam, (fan_in,)))
    return Params(tuple(weights), tuple(biases), tuple(lams))


def apply(net: MLP, params: Params, X) -> jax.Array:
    """The network's outputs at inputs X (N, d) → (N, K). Pure; jit- and vmap-friendly."""
    h = X @ params.weights[0] + params.biases[0]
    for V, b, lam in zip(params.weights[1:], params.biases[1:], params.lams, strict=True):
        h = (net.phi.fn(h) * jnp.sqrt(lam)) @ V + b
    return h
