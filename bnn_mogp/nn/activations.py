r"""Activation registry: φ, φ′ and the Gaussian expectations that the infinite-width theory needs.

For (u, v) ~ N(0, [[k11, k12], [k12, k22]]) each activation gives

- ``expectation(k11, k12, k22)`` = E[φ(u) φ(v)]   (NNGP recursion, DESIGN §4.1)
- ``deriv_expectation(k11, k12, k22)`` = E[φ′(u) φ′(v)]   (NTK recursion, DESIGN §4.4)

in closed form where one exists (Cho & Saul 2009; Williams 1996); θ = arccos(k12/sqrt(k11 k22)):

- step:  (π − θ)/(2π)
- relu:  sqrt(k11 k22)/(2π) (sin θ + (π − θ) cos θ)
- relu2: k11 k22/(2π) (3 sin θ cos θ + (π − θ)(1 + 2 cos² θ))
- erf:   (2/π) arcsin(2 k12 / sqrt((1 + 2k11)(1 + 2k22)))
- gelu (exact, x Φ(x)): k12 (¼ + ψ/(2π)) + (k12² + k11 k22 δ²)/(2π a b δ) and, for the NTK,
  ¼ + ψ/(2π) + k12/(2π δ) (1/a + 1/b + 1/δ²), with a = 1 + k11, b = 1 + k22,
  δ = sqrt(ab − k12²), ψ = arcsin(k12/sqrt(ab)) (Tsuchida et al. 2021; see ``_gelu_expectation``)

and otherwise (tanh) by a tensor-product trapezoidal rule in standard normal
coordinates: u = sqrt(k11) z₁, v = sqrt(k22)(c z₁ + sqrt(1 − c²) z₂) with c = k12/sqrt(k11 k22)
and z iid N(0, 1), ``order`` equally spaced nodes per dimension on |z| ≤ 8 (Gaussian mass beyond:
1.2e-15). For integrands analytic in a strip the trapezoidal rule converges exponentially in
1/h (Trefethen & Weideman 2014); unlike Gauss–Hermite it puts no nodes where the Gaussian weight
is below 1e-16, so the default 161 nodes (h = 0.1) give an absolute error below 1e-12 for tanh at
variances k11, k22 ≤ 4 and about 1e-9 at k = 16 (tested; Gauss–Hermite with 128 nodes: 7e-7 and
1e-3). The error grows for larger variances, where tanh looks like a step on the Gaussian's
scale — raise ``order`` there. Every expectation is evaluated with the smaller variance first,
so it is exactly (bitwise) symmetric in (k11, k22) and kernel matrices built from it are
symmetric. All functions broadcast over the k's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "register_activation",
    "gaussian_expectation",
]

#: default number of quadrature nodes per dimension (spacing h = 2 · 8 / (order − 1) = 0.1)
QUADRATURE_ORDER = 161
#: the rule covers |z| ≤ this many standard deviations
QUADRATURE_CUTOFF = 8.0


def _correlation(k11, k12, k22):
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    norm = jnp.sqrt(k11 * k22)
    tiny = jnp.finfo(norm.dtype).tiny
    cos = jnp.clip(k12 / jnp.maximum(norm, tiny), -1.0, 1.0)
    return norm, cos


def _ordered(k11, k22):
    """(min, max) of the two variances: a formula symmetric in them only up to rounding then
    runs the same floating-point operations for both orders, so kernels are exactly symmetric.
    """
    k11, k22 = jnp.asarray(k11), jnp.asarray(k22)
    return jnp.minimum(k11, k22), jnp.maximum(k11, k22)


def _trapezoid_rule(order: int):
    """Nodes and weights of E[h(z)], z ~ N(0, 1), by the trapezoidal rule on |z| ≤ 8."""
    if not isinstance(order, int) or order < 3:
        raise ValueError(f"quadrature order must be an integer ≥ 3, got {order!r}")
    z = np.linspace(-QUADRATURE_CUTOFF, QUADRATURE_CUTOFF, order)
    w = np.exp(-0.5 * z**2)
    return z, w / w.sum()  # normalised: E[1] = 1 exactly


def gaussian_expectation(f, g, k11, k12, k22, order: int = QUADRATURE_ORDER):
    """E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) by the 2-D trapezoidal rule of
    the module docstring; when ``f is g`` it is exactly symmetric in (k11, k22).
    """
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    dtype = jnp.promote_types(jnp.result_type(k11, k12, k22), jnp.float32)
    k11, k12, k22 = (k.astype(dtype) for k in (k11, k12, k22))
    if f is g:
        k11, k22 = _ordered(k11, k22)
    nodes, weights = _trapezoid_rule(order)
    z, w = jnp.asarray(nodes, dtype), jnp.asarray(weights, dtype)
    _, cos = _correlation(k11, k12, k22)
    sin = jnp.sqrt(jnp.maximum(1.0 - cos**2, 0.0))
    s11, s22 = jnp.sqrt(k11), jnp.sqrt(k22)[..., None]
    shift, spread = s22 * cos[..., None], s22 * sin[..., None] * z  # v = shift·z1 + spread

    def add_node(total, node):  # one z1 node at a time: memory (..., n), not (..., n, n)
        z1, w1 = node
        inner = g(shift * z1 + spread) @ w  # E[g(v) | z1]
        return total + w1 * f(s11 * z1) * inner, None

    return jax.lax.scan(add_node, jnp.zeros(cos.shape, dtype), (z, w))[0]


def _angle(k11, k12, k22):
    """(θ, sqrt(k11 k22 − k12²)) with θ = atan2(sqrt(k11 k22 − k12²), k12) ∈ [0, π].

    With r = sqrt(k11 k22): r cos θ = k12 and r sin θ = sqrt(k11 k22 − k12²), so the arc-cosine
    kernels need no cosine, sine or division. atan2 keeps θ exact near 0 and π, where arccos of
    a rounded cosine loses half the digits.
    """
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    root_det = jnp.sqrt(jnp.maximum(k11 * k22 - k12**2, 0.0))  # exactly 0 when x = x'
    return jnp.arctan2(root_det, k12), root_det


def _relu_expectation(k11, k12, k22):
    theta, root_det = _angle(k11, k12, k22)
    return (root_det + (math.pi - theta) * k12) / (2 * math.pi)


def _step_expectation(k11, k12, k22):
    theta, _ = _angle(k11, k12, k22)
    return (math.pi - theta) / (2 * math.pi)


def _relu2_expectation(k11, k12, k22):
    theta, root_det = _angle(k11, k12, k22)
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    return (3 * root_det * k12 + (math.pi - theta) * (k11 * k22 + 2 * k12**2)) / (2 * math.pi)


def _erf_expectation(k11, k12, k22):
    denom = jnp.sqrt((1 + 2 * jnp.asarray(k11)) * (1 + 2 * jnp.asarray(k22)))
    return 2 / math.pi * jnp.arcsin(jnp.clip(2 * jnp.asarray(k12) / denom, -1.0, 1.0))


def _gelu_terms(k11, k12, k22):
    """(a, b, δ, θ) = (1 + k11, 1 + k22, sqrt(ab − k12²), atan2(k12, δ)) for the gelu forms."""
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    a, b = 1 + k11, 1 + k22
    delta = jnp.sqrt(a * b - k12**2)  # > 0: |k12| ≤ sqrt(k11 k22) < sqrt(ab)
    return a, b, delta, jnp.arctan2(k12, delta)


def _gelu_expectation(k11, k12, k22):
    """E[uΦ(u) vΦ(v)] = k12 (¼ + θ/(2π)) + (k12² + k11 k22 δ²) / (2π a b δ), in the notation of
    ``_gelu_terms`` (θ = arcsin(k12/sqrt(ab))).

    Derivation: Φ(u) = P(ξ₁ < u) with ξ iid N(0, 1), so the expectation is E[u v; A > 0, B > 0]
    for A = u − ξ₁, B = v − ξ₂ (variances a, b, correlation ρ = k12/sqrt(ab) = sin θ). Regressing
    u and v on the standardised (A, B) and using the orthant moments of a standard bivariate
    normal, P(A > 0, B > 0) = ¼ + θ/(2π), E[Ã²; ·] = P + ρ sqrt(1 − ρ²)/(2π),
    E[ÃB̃; ·] = ρP + sqrt(1 − ρ²)/(2π) (Rosenbaum 1961), and collecting terms gives the form
    above (checked against 2-D quadrature in the tests).
    """
    a, b, delta, theta = _gelu_terms(k11, k12, k22)
    k11, k12, k22 = jnp.broadcast_arrays(*map(jnp.asarray, (k11, k12, k22)))
    return k12 * (0.25 + theta / (2 * math.pi)) + (k12**2 + k11 * k22 * delta**2) / (
        2 * math.pi * a * b * delta
    )


def _gelu_deriv_expectation(k11, k12, k22):
    """E[φ′(u) φ′(v)] with φ′(x) = Φ(x) + x ϕ(x) (ϕ the standard normal density):
    ¼ + θ/(2π) + k12/(2π δ) (1/a + 1/b + 1/δ²), from the three Gaussian integrals
    E[Φ(u)Φ(v)] = ¼ + θ/(2π), E[Φ(u) v ϕ(v)] = k12/(2π b δ) (condition on v, then Stein's lemma)
    and E[u ϕ(u) v ϕ(v)] = k12/(2π δ³) (a Gaussian moment of the product of densities). Equal to
    ∂/∂k12 of ``_gelu_expectation`` (Price's theorem), which the tests check.
    """
    a, b, delta, theta = _gelu_terms(k11, k12, k22)
    k12 = jnp.broadcast_to(jnp.asarray(k12), delta.shape)
    return 0.25 + theta / (2 * math.pi) + k12 / (2 * math.pi * delta) * (1 / a + 1 / b + delta**-2)


def _erf_deriv_expectation(k11, k12, k22):
    k11, k12, k22 = map(jnp.asarray, (k11, k12, k22))
    return 4 / math.pi / jnp.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12**2)


@dataclasses.dataclass(frozen=True)
class Activation:
    """A registered activation φ with its derivative and Gaussian expectations.

    Args:
        name: registry key.
        fn: φ, elementwise.
        deriv: φ′, elementwise (None when φ′ is not a function, e.g. the step's Dirac delta).
        closed_form: (k11, k12, k22) ↦ E[φ(u)φ(v)], or None for quadrature.
        deriv_closed_form: (k11, k12, k22) ↦ E[φ′(u)φ′(v)], or None for quadrature.
        growth: p with |φ(z)| = O(|z|^p) as |z| → ∞ (0: bounded; None: not known), for the
            finite-moment rule of heavy-tailed units (DESIGN §15).
    """

    name: str
    fn: Callable
    deriv: Callable | None
    closed_form: Callable | None = None
    deriv_closed_form: Callable | None = None
    growth: float | None = None

    def __call__(self, x):
        """φ(x), elementwise."""
        return self.fn(x)

    def expectation(self, k11, k12, k22, order: int = QUADRATURE_ORDER):
        """E[φ(u) φ(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]); exactly symmetric in
        (k11, k22).
        """
        k11, k22 = _ordered(k11, k22)
        if self.closed_form is not None:
            return self.closed_form(k11, k12, k22)
        return gaussian_expectation(self.fn, self.fn, k11, k12, k22, order)

    def deriv_expectation(self, k11, k12, k22, order: int = QUADRATURE_ORDER):
        """E[φ′(u) φ′(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) (the NTK's Σ-dot);
        exactly symmetric in (k11, k22).
        """
        k11, k22 = _ordered(k11, k22)
        if self.deriv_closed_form is not None:
            return self.deriv_closed_form(k11, k12, k22)
        if self.deriv is None:
            raise ValueError(f"activation {self.name!r} has no derivative usable in the NTK")
        return gaussian_expectation(self.deriv, self.deriv, k11, k12, k22, order)


def _step(x):
    return (x > 0).astype(jnp.result_type(x, jnp.float32))


def _gelu(x):
    return jax.nn.gelu(x, approximate=False)


def _gelu_deriv(x):
    return 0.5 * (1 + erf(x / math.sqrt(2))) + x * jnp.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)


ACTIVATIONS: dict[str, Activation] = {}


def register_activation(activation: Activation) -> Activation:
    """Add an activation to the registry (its name must be new)."""
    if activation.name in ACTIVATIONS:
        raise ValueError(f"activation {activation.name!r} is already registered")
    ACTIVATIONS[activation.name] = activation
    return activation


def get_activation(name: str) -> Activation:
    """Look up an activation by name; a ValueError lists the registered names."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


register_activation(
    Activation(
        "relu",
        jax.nn.relu,
        _step,
        _relu_expectation,
        _step_expectation,
        growth=1.0,
    )
)
register_activation(Activation("step", _step, None, _step_expectation, None, growth=0.0))
register_activation(
    Activation(
        "relu2",
        lambda x: jax.nn.relu(x) ** 2,
        lambda x: 2 * jax.nn.relu(x),
        _relu2_expectation,
        lambda k11, k12, k22: 4 * _relu_expectation(k11, k12, k22),
        growth=2.0,
    )
)
register_activation(
    Activation(
        "erf",
        erf,
        lambda x: 2 / math.sqrt(math.pi) * jnp.exp(-(x**2)),
        _erf_expectation,
        _erf_deriv_expectation,
        growth=0.0,
    )
)
register_activation(Activation("tanh", jnp.tanh, lambda x: 1 - jnp.tanh(x) ** 2, growth=0.0))
register_activation(
    Activation(
        "gelu",
        _gelu,
        _gelu_deriv,
        _gelu_expectation,
        _gelu_deriv_expectation,
        growth=1.0,
    )
)
