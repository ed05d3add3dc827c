r"""Lévy measures of the infinite-width row sums of node variances.

For a node prior with law :math:`\lambda_n` at width ``n``, the row sum
:math:`\sum_{j\le n} \lambda_{n,j}` converges to a non-negative infinitely divisible variable
:math:`W` with Laplace exponent

.. math:: \psi(t) = a t + \int_0^\infty (1 - e^{-tw})\, \rho(dw), \qquad E e^{-tW} = e^{-\psi(t)}.

``a`` is the *drift* (the mass of the many small nodes, a Gaussian-process part) and ``ρ`` the Lévy
measure (each atom of its Poisson process is one node whose variance stays O(1) at any width).
Every class here exposes

- ``drift`` (a), ``laplace_exponent(t)`` (ψ), ``tail(x)`` (ρ̄(x) = ρ((x, ∞))),
- ``tail_inverse(u)`` (ρ̄⁻¹(u) = inf{x : ρ̄(x) ≤ u}, 0 when u ≥ ρ((0, ∞))),
- ``small_jump_mean(eps)`` (∫₀^ε w ρ(dw)), ``total_mass()`` (ρ((0, ∞))), ``mean()`` (a + ∫ w ρ),
- ``sample_jumps(rng_key, num)``: the ``num`` largest jumps in decreasing order (Ferguson–Klass:
  θ_m = ρ̄⁻¹(Γ_m) with Γ_m the arrival times of a unit Poisson process). When ρ is finite the
  number of non-zero jumps is exactly Poisson(ρ((0, ∞))) and the remaining entries are 0.
- ``tail_index`` (τ with ρ̄(x) ~ x^{-τ} as x → ∞; inf for light tails) and ``sparsity_index``
  (α with ρ̄(x) ~ x^{-α} as x → 0; 0 for finite or logarithmic activity).

All methods are written with ``jax.numpy`` and follow the input's precision; use float64
(``jax.config.update("jax_enable_x64", True)``) for theory work.

Reference: Lee, Ayed, Jung, Lee, Yang & Caron (2023), JMLR 24(289), Sections 3-4.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammainc, gammaincc

from bnn_mogp._validation import check_real

__all__ = ["Levy", "NoJumps", "StableLevy", "PointMassLevy", "BetaLevy", "GammaLevy"]


def _arrival_times(rng_key, num: int) -> jax.Array:
    return jnp.cumsum(jax.random.exponential(rng_key, (num,)))


_EULER_GAMMA = 0.5772156649015329


def exp1(z):
    """The exponential integral E₁(z) = ∫_z^∞ e^{−t}/t dt for z > 0, to ~1e-15 relative error.

    Fixed-length power series for z ≤ 1 and continued fraction (modified Lentz, Numerical
    Recipes §6.3) for z > 1; no data-dependent loops, so it compiles quickly and vmaps.
    """
    z = _as_float(z)
    small = jnp.minimum(z, 1.0)
    k = jnp.arange(1, 31, dtype=z.dtype)
    log_fact = jnp.cumsum(jnp.log(k))
    terms = jnp.exp(k * jnp.log(small[..., None]) - log_fact - jnp.log(k))
    signs = jnp.where(k % 2 == 1, 1.0, -1.0)  # −Σ (−z)^k/(k k!) = Σ (−1)^{k+1} z^k/(k k!)
    series = -_EULER_GAMMA - jnp.log(small) + jnp.sum(signs * terms, axis=-1)

    big = jnp.maximum(z, 1.0)
    tiny = jnp.finfo(z.dtype).tiny / jnp.finfo(z.dtype).eps
    b = big + 1.0
    c = jnp.full_like(big, 1.0 / tiny)
    d = 1.0 / b
    h = d
    for i in range(1, 80):
        a = -float(i * i)
        b = b + 2.0
        d = 1.0 / (a * d + b)
        c = b + a / c
        h = h * c * d
    return jnp.where(z <= 1.0, series, h * jnp.exp(-big))


def _invert_decreasing(fn, target, log_lo: float, log_hi: float, iters: int = 64):
    """Solve fn(x) = target for x = exp(y), y in [log_lo, log_hi], fn strictly decreasing.

    Bisection on log x: 64 halvings of an interval of width < 1500 leave < 1e-16 relative error.
    """
    target = _as_float(target)
    dtype = target.dtype
    lo = jnp.full(target.shape, log_lo, dtype)
    hi = jnp.full(target.shape, log_hi, dtype)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        above = fn(jnp.exp(mid)) > target  # root lies to the right of mid
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return jnp.exp(0.5 * (lo + hi))


def _as_float(x) -> jax.Array:
    """x as a JAX array of a floating dtype (the default float dtype for Python numbers)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))


@dataclasses.dataclass(frozen=True)
class Levy:
    """Base class: a drift ``a`` plus a Lévy measure ``ρ`` on (0, ∞). See the module docstring."""

    drift: float = 0.0

    # -- the jump part, overridden by subclasses ------------------------------------------------
    def _jump_exponent(self, t):
        return jnp.zeros_like(_as_float(t))

    def tail(self, x):
        """ρ̄(x) = ρ((x, ∞))."""
        return jnp.zeros_like(_as_float(x))

    def tail_inverse(self, u):
        """ρ̄⁻¹(u) = inf{x > 0 : ρ̄(x) ≤ u}; 0 when u ≥ total mass."""
        return jnp.zeros_like(_as_float(u))

    def small_jump_mean(self, eps):
        """∫₀^ε w ρ(dw): the mean of the jumps that a truncation at ε neglects."""
        return jnp.zeros_like(_as_float(eps))

    def total_mass(self) -> float:
        """ρ((0, ∞)), the expected number of jumps (inf for infinite activity)."""
        return 0.0

    def jump_mean(self) -> float:
        """∫ w ρ(dw) (may be inf)."""
        return 0.0

    @property
    def tail_index(self) -> float:
        """τ with ρ̄(x) ~ x^{−τ} as x → ∞ (inf for light or bounded tails)."""
        return math.inf

    @property
    def sparsity_index(self) -> float:
        """α with ρ̄(x) ~ x^{−α} as x → 0 (0 for finite or logarithmic activity)."""
        return 0.0

    # -- shared -----------------------------------------------------------------------------------
    @property
    def gaussian(self) -> bool:
        """True when ρ = 0: the limit is a Gaussian process."""
        return self.total_mass() == 0.0

    def laplace_exponent(self, t):
        """ψ(t) = a t + ∫ (1 − e^{−tw}) ρ(dw), so that E e^{−tW} = e^{−ψ(t)}."""
        t = _as_float(t)
        return self.drift * t + self._jump_exponent(t)

    def mean(self) -> float:
        """E W = a + ∫ w ρ(dw) (may be inf)."""
        return self.drift + self.jump_mean()

    def sample_jumps(self, rng_key, num: int) -> jax.Array:
        """The ``num`` largest jumps θ_1 ≥ θ_2 ≥ … (Ferguson–Klass θ_m = ρ̄⁻¹(Γ_m)), shape (num,)."""
        return self.tail_inverse(_arrival_times(rng_key, num))

    def power_law_exponent(self) -> tuple[float, float] | None:
        """(α', η) when ψ(t) = a t + η t^{α'} (η = 0: a pure drift), else None: the form under
        which the one-input recursion of priors placed per weight closes (DESIGN §15).
        """
        return (1.0, 0.0) if self.gaussian else None


@dataclasses.dataclass(frozen=True)
class NoJumps(Levy):
    """ρ = 0: W = a is deterministic and the network limit is a Gaussian process."""

    def __post_init__(self):
        check_real("drift", self.drift, low=0.0, low_open=False)


@dataclasses.dataclass(frozen=True)
class StableLevy(Levy):
    r"""Generalized gamma (tempered stable) measure.

    .. math:: \rho(dw) = \frac{\eta\alpha}{\Gamma(1-\alpha)} w^{-1-\alpha} e^{-\beta w}\, dw,
              \qquad 0 < \alpha < 1,\ \eta > 0,\ \beta \ge 0.

    β = 0: ψ(t) = η t^α, ρ̄(x) = η x^{−α}/Γ(1−α), θ_m = (η/(Γ(1−α) Γ_m))^{1/α}, W = η^{1/α} S_α.
    β > 0: ψ(t) = η((t+β)^α − β^α), mean ηαβ^{α−1}; jumps by Rosiński thinning of the β = 0
    jumps, keeping θ with probability e^{−βθ}.
    """

    alpha: float = 0.5
    eta: float = 1.0
    beta: float = 0.0

    def __post_init__(self):
        check_real("alpha", self.alpha, low=0.0, high=1.0)
        check_real("eta", self.eta, low=0.0)
        check_real("beta", self.beta, low=0.0, low_open=False)
        check_real("drift", self.drift, low=0.0, low_open=False)

    @property
    def tail_index(self) -> float:
        return math.inf if self.beta > 0 else self.alpha

    @property
    def sparsity_index(self) -> float:
        return self.alpha

    @property
    def _log_mass_const(self) -> float:  # log(η / Γ(1−α))
        return math.log(self.eta) - math.lgamma(1.0 - self.alpha)

    def _jump_exponent(self, t):
        a, b = self.alpha, self.beta
        if b == 0:
            return self.eta * t**a
        return self.eta * ((t + b) ** a - b**a)

    def _untempered_tail_inverse(self, u):
        return jnp.exp((self._log_mass_const - jnp.log(u)) / self.alpha)

    def tail(self, x):
        x = _as_float(x)
        a, b = self.alpha, self.beta
        head = jnp.exp(self._log_mass_const - a * jnp.log(x) - b * x)
        if b == 0:
            return head
        # ηα/Γ(1−α) β^α Γ(−α, βx) written with Γ(−α, z) = (z^{−α} e^{−z} − Γ(1−α, z)) / α;
        # relative rounding error ~ eps · βx / α, harmless in float64 before e^{−βx} underflows.
        return jnp.maximum(head - self.eta * b**a * gammaincc(1.0 - a, b * x), 0.0)

    def tail_inverse(self, u):
        u = _as_float(u)
        if self.beta == 0:
            return self._untempered_tail_inverse(u)
        tiny = float(jnp.finfo(u.dtype).tiny)
        lo = math.log(tiny) + 5.0
        hi = math.log((-math.log(tiny)) / self.beta) + 1.0
        return _invert_decreasing(self.tail, u, lo, hi)

    def small_jump_mean(self, eps):
        eps = _as_float(eps)
        a, b = self.alpha, self.beta
        if b == 0:
            return self.eta * a * eps ** (1.0 - a) / math.gamma(2.0 - a)
        return self.eta * a * b ** (a - 1.0) * gammainc(1.0 - a, b * eps)

    def total_mass(self) -> float:
        return math.inf

    def jump_mean(self) -> float:
        if self.beta == 0:
            return math.inf
        return self.eta * self.alpha * self.beta ** (self.alpha - 1.0)

    def power_law_exponent(self) -> tuple[float, float] | None:
        return (self.alpha, self.eta) if self.beta == 0 else None

    def sample_jumps(self, rng_key, num: int) -> jax.Array:
        if self.beta == 0:
            return super().sample_jumps(rng_key, num)
        dtype = _as_float(1.0).dtype

        def cond(state):
            return state[2] < num

        def body(state):
            key, gamma_last, count, out = state
            key, k_arrival, k_keep = jax.random.split(key, 3)
            gammas = gamma_last + _arrival_times(k_arrival, num)
            theta = self._untempered_tail_inverse(gammas)
            keep = jax.random.uniform(k_keep, (num,), dtype) < jnp.exp(-self.beta * theta)
            slot = jnp.where(keep, count + jnp.cumsum(keep) - 1, num)
            out = out.at[slot].set(theta, mode="drop")
            return key, gammas[-1], count + keep.sum(dtype=jnp.int32), out

        init = (rng_key, jnp.zeros((), dtype), jnp.zeros((), jnp.int32), jnp.zeros((num,), dtype))
        return jax.lax.while_loop(cond, body, init)[3]


@dataclasses.dataclass(frozen=True)
class PointMassLevy(Levy):
    """Compound Poisson measure ρ = rate · δ_size: Poisson(rate) jumps, each equal to ``size``.

    ψ(t) = a t + rate (1 − e^{−size·t}).
    """

    rate: float = 1.0
    size: float = 1.0

    def __post_init__(self):
        check_real("rate", self.rate, low=0.0, low_open=False)
        check_real("size", self.size, low=0.0)
        check_real("drift", self.drift, low=0.0, low_open=False)

    def _jump_exponent(self, t):
        return -self.rate * jnp.expm1(-self.size * t)

    def tail(self, x):
        x = _as_float(x)
        return jnp.where(x < self.size, self.rate, 0.0).astype(x.dtype)

    def tail_inverse(self, u):
        u = _as_float(u)
        return jnp.where(u < self.rate, self.size, 0.0).astype(u.dtype)

    def small_jump_mean(self, eps):
        eps = _as_float(eps)
        return jnp.where(eps >= self.size, self.rate * self.size, 0.0).astype(eps.dtype)

    def total_mass(self) -> float:
        return float(self.rate)

    def jump_mean(self) -> float:
        return self.rate * self.size


# 12-point Gauss–Legendre rule on [0, 1], used on 60 geometric panels for the Beta exponent.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_GL_X, _GL_W = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W
_BETA_PANELS = 60


@dataclasses.dataclass(frozen=True)
class BetaLevy(Levy):
    r"""ρ(dw) = (η/2) w^{−1} (1 − w)^{−1/2} dw on (0, 1): the limit of Beta(η/(2n), 1/2) nodes.

    ρ̄(x) = η artanh(sqrt(1 − x)), θ_m = sech²(Γ_m/η), ∫ w ρ = η, and with w = 1 − s²

    .. math:: \psi(t) = \eta \int_0^1 \frac{1 - e^{-t(1-s^2)}}{1 - s^2}\, ds,

    evaluated by Gauss–Legendre quadrature on geometric panels towards s = 1 (relative error
    below 1e-12 in float64 for every t ≥ 0).
    """

    eta: float = 1.0

    def __post_init__(self):
        check_real("eta", self.eta, low=0.0)
        check_real("drift", self.drift, low=0.0, low_open=False)

    def _jump_exponent(self, t):
        t = jnp.asarray(t)
        # panels in r = 1 − s: [2^{-k-1}, 2^{-k}], k = 0..K−1; the rest [0, 2^{-K}] adds < t 2^{-K}
        left = 2.0 ** -np.arange(1, _BETA_PANELS + 1)
        nodes = (left[:, None] * (1.0 + _GL_X[None, :])).ravel()
        weights = (left[:, None] * _GL_W[None, :]).ravel()
        r, w = jnp.asarray(nodes, t.dtype), jnp.asarray(weights, t.dtype)
        v = r * (2.0 - r)
        g = -jnp.expm1(-t[..., None] * v) / v
        return self.eta * jnp.sum(w * g, axis=-1)

    def tail(self, x):
        x = _as_float(x)
        return self.eta * jnp.arctanh(jnp.sqrt(jnp.clip(1.0 - x, 0.0, 1.0)))

    def tail_inverse(self, u):
        u = _as_float(u)
        return 1.0 / jnp.cosh(u / self.eta) ** 2

    def small_jump_mean(self, eps):
        eps = _as_float(eps)
        return self.eta * (1.0 - jnp.sqrt(1.0 - jnp.clip(eps, 0.0, 1.0)))

    def total_mass(self) -> float:
        return math.inf

    def jump_mean(self) -> float:
        return float(self.eta)


@dataclasses.dataclass(frozen=True)
class GammaLevy(Levy):
    """ρ(dw) = c w^{−1} e^{−βw} dw (gamma process): ψ(t) = c log(1 + t/β), ρ̄(x) = c E₁(βx).

    ρ̄⁻¹ is computed by bisection on log x (relative error < 1e-15 in float64).
    """

    c: float = 1.0
    rate: float = 1.0

    def __post_init__(self):
        check_real("c", self.c, low=0.0)
        check_real("rate", self.rate, low=0.0)
        check_real("drift", self.drift, low=0.0, low_open=False)

    def _jump_exponent(self, t):
        return self.c * jnp.log1p(t / self.rate)

    def tail(self, x):
        x = _as_float(x)
        return self.c * exp1(self.rate * x)

    def tail_inverse(self, u):
        u = _as_float(u)
        y = u / self.c
        log_y = jnp.log(y)
        # Newton's method on s = log z for log E₁(e^s) = log y, from the asymptotes
        # E₁(z) ≈ −γ − log z (small z) and E₁(z) ≈ e^{−z}/z (large z); d log E₁/ds = −e^{−z}/E₁.
        big = -log_y - jnp.log(jnp.maximum(-log_y, 1.0))
        s = jnp.where(y > 0.2, -_EULER_GAMMA - y, jnp.log(jnp.maximum(big, 1e-3)))
        for _ in range(8):
            z = jnp.exp(s)
            e1 = exp1(z)
            step = (jnp.log(e1) - log_y) * e1 * jnp.exp(z)
            s = s + jnp.clip(step, -5.0, 5.0)
        # jumps below sqrt(tiny) (u > c(−log(tiny)/2 − γ)) underflow: return 0 for them
        tiny_z = math.sqrt(float(jnp.finfo(u.dtype).tiny))
        return jnp.where(s < math.log(tiny_z), 0.0, jnp.exp(s) / self.rate)

    def small_jump_mean(self, eps):
        eps = _as_float(eps)
        return -self.c / self.rate * jnp.expm1(-self.rate * eps)

    def total_mass(self) -> float:
        return math.inf

    def jump_mean(self) -> float:
        return self.c / self.rate
