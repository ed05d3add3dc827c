r"""Deep MLPs under an abc-parameterisation, trained by SGD with per-layer learning rates
(DESIGN §14).

.. math:: h^1 = W^1 x, \qquad h^l = \bigl(\phi(h^{l-1}) \odot \sqrt{m\lambda^{l-1}}\bigr) W^l
          \ (2 \le l \le L + 1), \qquad f = h^{L+1}, \qquad W^l = m^{-a_l} w^l,

with w^1(0) ~ N(0, σ² m^{−2b_1}/d), w^l(0) ~ N(0, σ² m^{−2b_l}) for the hidden layers and
N(0, m^{−2b_{L+1}}) at the output (:mod:`~bnn_mogp.training.parameterisations`). No biases.
Every hidden layer's nodes carry frozen node scalings λ (Σ_j λ_j = 1, from a
:class:`~bnn_mogp.training.scalings.NodeScaling`): node j's outgoing weights are multiplied by
sqrt(m λ_j), so uniform scalings (λ ≡ 1/m) are the plain parameterisation and a node prior's
scalings (:class:`~bnn_mogp.training.scalings.PriorScaling`) give some nodes O(1) shares at any
width. The forward pass is the package's layer loop (:func:`bnn_mogp.nn.preactivations`) on
Params (m^{−a_l} w^l, 0, m λ).

SGD moves w^l by −η m^{−c_l} ∂ℓ/∂w^l; during a parameterisation's warmup steps the exponents are
its ``warmup_c`` and, calibrated (:func:`calibrated_warmup_rates`), each layer's base rate is
set on the first batch so that the layer's own contribution to its pre-activations,
ΔW^l x^{l−1}, has root mean square 1 (0.1 at the output) — the idea of the reference code of
Hajjar, Chizat & Giraud, whose constants of the large initial rates shrink with depth; here the
layers are calibrated one after the other from the input up.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bnn_mogp._validation import check_integer, check_real, check_width
from bnn_mogp.nn import MLP, Params, get_activation, layer_preactivations, preactivations
from bnn_mogp.priors import Deterministic
from bnn_mogp.training.losses import loss_and_accuracy
from bnn_mogp.training.parameterisations import Parameterisation, make_parameterisation
from bnn_mogp.training.scalings import NodeScaling, Uniform

__all__ = [
    "DeepNet",
    "DeepParams",
    "init_deep",
    "deep_params",
    "deep_preactivations",
    "deep_loss",
    "learning_rates",
    "sgd_step",
    "calibrated_warmup_rates",
    "rms",
    "WARMUP_TARGETS",
]

#: root mean square of a layer's own first update that calibrated warmup rates aim at:
#: (input and hidden layers, output layer)
WARMUP_TARGETS = (1.0, 0.1)


@dataclasses.dataclass(frozen=True)
class DeepNet:
    """An L-hidden-layer MLP of width m under an abc-parameterisation (module docstring).

    Args:
        in_dim: input dimension d.
        width: width m of every hidden layer.
        depth: number L ≥ 1 of hidden layers (L + 1 weight matrices).
        out_dim: number of outputs K.
        activation: a registered activation name.
        parameterisation: a :class:`Parameterisation` or a preset name (``"ip_llr"`` takes
            the depth from here).
        sigma: σ of the input and hidden layers' initial weights (√2: ReLU's He scale).
        scaling: node scalings of every hidden layer (default uniform).
    """

    in_dim: int
    width: int
    depth: int
    out_dim: int = 1
    activation: str = "relu"
    parameterisation: Parameterisation | str = "mup"
    sigma: float = float(np.sqrt(2.0))
    scaling: NodeScaling = Uniform()

    def __post_init__(self):
        check_width(self.in_dim, "in_dim")
        check_width(self.width, "width")
        check_integer("depth", self.depth, 1)
        check_width(self.out_dim, "out_dim")
        check_real("sigma", self.sigma, low=0.0)
        get_activation(self.activation)
        if isinstance(self.parameterisation, str):
            param = make_parameterisation(self.parameterisation, self.depth)
            object.__setattr__(self, "parameterisation", param)
        self.param.exponents(self.depth)  # the exponents fit the depth

    @property
    def param(self) -> Parameterisation:
        """The parameterisation (always an object after construction)."""
        assert isinstance(self.parameterisation, Parameterisation)
        return self.parameterisation

    @property
    def mlp(self) -> MLP:
        """The same architecture as a package :class:`~bnn_mogp.nn.MLP` (no biases)."""
        return MLP(
            in_dim=self.in_dim,
            widths=(self.width,) * self.depth,
            out_dim=self.out_dim,
            activation=self.activation,
            node_prior=Deterministic(1.0),
            sigma_w=self.sigma,
            sigma_b=0.0,
        )

    def with_width(self, width: int) -> DeepNet:
        """The same network at another width."""
        return dataclasses.replace(self, width=width)

    def multipliers(self) -> np.ndarray:
        """m^{−a_l} for l = 1..L + 1."""
        a, _, _ = self.param.exponents(self.depth)
        return float(self.width) ** -a

    def init_std(self) -> np.ndarray:
        """Standard deviations of w^l(0): σ m^{−b_1}/√d, σ m^{−b_l}, m^{−b_{L+1}}."""
        _, b, _ = self.param.exponents(self.depth)
        base = np.full(self.depth + 1, self.sigma)
        base[0] /= np.sqrt(self.in_dim)
        base[-1] = 1.0
        return base * float(self.width) ** -b


class DeepParams(NamedTuple):
    """Trained weights w^1..w^{L+1} and the frozen node scalings m λ of the hidden layers."""

    w: tuple
    lam: tuple


def init_deep(rng_key, net: DeepNet, dtype=jnp.float32) -> DeepParams:
    """w^l(0) (:meth:`DeepNet.init_std`) and m λ of every hidden layer (from its own key)."""
    sizes = (net.in_dim, *[net.width] * net.depth, net.out_dim)
    keys = jax.random.split(rng_key, 2 * (net.depth + 1))
    w = tuple(
        std * jax.random.normal(keys[l], (sizes[l], sizes[l + 1]), dtype)
        for l, std in enumerate(net.init_std())
    )
    lam = tuple(
        jnp.asarray(net.width * net.scaling.scalings(net.width, keys[net.depth + 1 + l]), dtype)
        for l in range(net.depth)
    )
    return DeepParams(w, lam)


def deep_params(net: DeepNet, p: DeepParams) -> Params:
    """The package's :class:`~bnn_mogp.nn.Params`: weights m^{−a_l} w^l, zero biases, m λ."""
    zero = jnp.zeros((), p.w[0].dtype)
    weights = tuple(c * w for c, w in zip(net.multipliers(), p.w, strict=True))
    return Params(weights, (zero,) * len(weights), p.lam)


def deep_preactivations(net: DeepNet, p: DeepParams, X) -> list[jax.Array]:
    """[h^1(X), …, h^L(X), f(X)] through the layer loop."""
    return preactivations(net.mlp, deep_params(net, p), X)


def deep_loss(net: DeepNet, loss: str, w: tuple, lam: tuple, X, Y):
    """(loss, accuracy) of the network with weights ``w`` (:mod:`~bnn_mogp.training.losses`)."""
    f = deep_preactivations(net, DeepParams(w, lam), X)[-1]
    return loss_and_accuracy(loss, f, Y)


def learning_rates(net: DeepNet, base, *, warmup: bool = False) -> np.ndarray:
    """η_l = base_l m^{−c_l} for every layer (``base``: a number or one per layer); ``warmup``:
    the warmup exponents.
    """
    _, _, c = net.param.exponents(net.depth, warmup=warmup)
    return np.broadcast_to(np.asarray(base, float), c.shape) * float(net.width) ** -c


@functools.partial(jax.jit, static_argnums=(0, 1))
def sgd_step(net: DeepNet, loss: str, p: DeepParams, rates, X, Y):
    """One SGD step w^l ← w^l − rates_l ∂ℓ/∂w^l; returns (new params, loss before, gradients)."""
    value, grads = jax.value_and_grad(lambda w: deep_loss(net, loss, w, p.lam, X, Y)[0])(p.w)
    w = tuple(w_l - r * g for w_l, r, g in zip(p.w, rates, grads, strict=True))
    return DeepParams(w, p.lam), value, grads


def rms(a) -> float:
    """Root mean square of an array's entries."""
    return float(jnp.sqrt(jnp.mean(jnp.square(a))))


def calibrated_warmup_rates(
    net: DeepNet, loss: str, p: DeepParams, X, Y, max_rate: float = 500.0
) -> np.ndarray:
    """Base warmup rates (one per layer) that give each layer's own first update the root mean
    square of :data:`WARMUP_TARGETS` on (X, Y), capped at ``max_rate``.

    The layers are calibrated from the input up: layer l's own update ΔW^l x^{l−1} is measured
    at the inputs x^{l−1} of the network whose lower layers already took their calibrated step
    (the gradients are those at ``p``: it is one simultaneous step). Measured at the initial
    x^{l−1} instead, which vanishes with depth under IP, the rates of the deep layers would be
    too large by the ratio of the updated to the initial features, and the step would blow up.
    """
    unit = learning_rates(net, 1.0, warmup=True)
    _, _, grads = sgd_step(net, loss, p, jnp.zeros(net.depth + 1), X, Y)
    params = deep_params(net, p)
    weights = list(params.weights)
    base = np.empty(net.depth + 1)
    h = X
    for l, (c, r, g) in enumerate(zip(net.multipliers(), unit, grads, strict=True)):
        direction = -c * r * g
        own = layer_preactivations(params._replace(weights=(*weights[:l], direction)), l, h)
        size = rms(own)
        target = WARMUP_TARGETS[1] if l == net.depth else WARMUP_TARGETS[0]
        base[l] = min(target / size, max_rate) if size > 0 else max_rate
        weights[l] = weights[l] + base[l] * direction
        if l < net.depth:
            updated = params._replace(weights=tuple(weights))
            h = net.mlp.phi.fn(layer_preactivations(updated, l, h))
    return base
