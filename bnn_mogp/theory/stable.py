r"""Per-weight placement at one input: α-stable units, the scale recursion and the moment rule.

Placed per weight (DESIGN §15), a unit of layer l + 1 given layer l is Gaussian with variance
σ_b² + σ_w² Σ_j λ_jk φ(Z_j)², and nothing is shared between units. In the sequential limit its
characteristic function is, with ψ_l the Laplace exponent of the prior's row-sum limit,

.. math:: \log E e^{iuZ_{l+1}} = \log E e^{iub} - E\bigl[\psi_l\bigl(\sigma_w^2 u^2
          \phi(Z_l)^2 / 2\bigr)\bigr],

the expectation over one unit Z_l of layer l. When every ψ_l has the form a t + η t^{α'}
(``Deterministic``, ``InverseGamma``, ``Horseshoe``, ``StableLike(β = 0)``, ``SymmetricStable``)
each unit is the sum of independent N(0, v) and SαS(α, s) parts — a Gaussian scale mixture
Z = sqrt(v + 2 s² A) G with A positive (α/2)-stable — and the recursion closes on (v, α, s):

.. math:: v_{l+1} = \sigma_b^2 + a\,\sigma_w^2 E\phi(Z_l)^2,\qquad
          s_{l+1}^{\alpha_{l+1}} = \eta\,(\sigma_w^2/2)^{\alpha'} E|\phi(Z_l)|^{2\alpha'}
          \ (+\ \sigma_b^{\alpha}\ \text{for SαS biases}),\qquad \alpha_{l+1} = 2\alpha',

(SαS(s) has E e^{iuX} = e^{−s^α |u|^α}; at α = 2 that is N(0, 2s²)). For SαS weights of index α,
η = 2^{α/2} and α' = α/2, so s^α = σ_w^α E|φ(Z_l)|^α: the recursion of Jung et al. (2023) and
Favaro et al. (2020). The expectations E|φ(Z)|^p are computed by quadrature: tanh–sinh rules in
Kanter's angle and exponential variable for A (:mod:`bnn_mogp.priors.stable_weights`) and on
each half-line for G — these rules converge exponentially even at the algebraic endpoint
singularities that heavy tails produce.

**Finite moments** (:func:`check_moments`): the limit needs E|φ(Z_l)|^γ < ∞ with γ = 2 min(τ, 1)
(τ the tail index of layer l's Lévy measure; γ = 2 when the drift is positive). If φ grows like
|z|^p (``Activation.growth``) and Z_l has tail index α_l < ∞, |φ(Z_l)| has tail index α_l / p: for
ReLU-like φ and α_l < 2 this needs α_{l+1} < α_l. Combinations that violate it (the
log-corrected regime) are refused, naming the layers and the rule.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from bnn_mogp._validation import check_width
from bnn_mogp.nn import MLP, check_inputs, first_layer_variance
from bnn_mogp.priors import NodePrior
from bnn_mogp.priors.levy import Levy
from bnn_mogp.priors.stable_weights import kanter_log_a

__all__ = [
    "UnitLaw",
    "unit_tail_indices",
    "check_moments",
    "unit_laws",
    "abs_moment",
    "gaussian_mixture_expectation",
    "one_input_log_cf",
    "joint_log_cf",
]

#: tanh–sinh rules: nodes t = k h, |t| ≤ range. The Gaussian variable's (smooth integrands and
#: kinks at 0): h = 2^{−4}, |t| ≤ 4 (129 nodes, x down to 1e-37); the stable variance's:
#: |t| ≤ 6.5 (nodes down to 1e-300), since E|φ|^p for p near the stability index α puts
#: weight (x^{1−p/α}) on angles within 1e-300 of π
_TS_STEP = 2.0**-4
_TS_RANGE_Z = 4.0
_TS_RANGE_A = 6.5
#: the standard normal is integrated on |z| ≤ this (mass beyond: 2e-19)
_Z_CUTOFF = 9.0


def _tanh_sinh(t_max: float):
    """Nodes x, 1 − x and weights of the tanh–sinh rule for ∫₀¹ f(x) dx (both x and 1 − x
    accurate down to 1e-300, so endpoint singularities are evaluated without cancellation).
    """
    t = np.arange(-t_max, t_max + _TS_STEP / 2, _TS_STEP)
    y = 0.5 * math.pi * np.sinh(t)
    x, x_c = expit(2.0 * y), expit(-2.0 * y)
    decay = np.exp(-2.0 * np.abs(y))  # sech²(y) = 4 e^{−2|y|} / (1 + e^{−2|y|})²
    w = _TS_STEP * math.pi * np.cosh(t) * decay / (1.0 + decay) ** 2
    keep = (x > 0) & (x_c > 0) & (w > 0)
    return x[keep], x_c[keep], w[keep]


_Z_X, _, _Z_W = _tanh_sinh(_TS_RANGE_Z)
_X, _XC, _W = _tanh_sinh(_TS_RANGE_A)


def gaussian_mixture_expectation(h, v: float, s2: float = 0.0, alpha: float = 2.0):
    r"""E h(Z) for Z = sqrt(v + 2 s² A) G, G ~ N(0, 1), A positive (α/2)-stable (E e^{−tA} =
    e^{−t^{α/2}}), i.e. Z = N(0, v) + SαS(α, s) independent; ``s2`` = s². ``h`` maps an array of
    z to an array of the same shape (vectorised).

    G: tanh–sinh on each half-line |z| ≤ 9 (kinks at 0 of |φ|^p are endpoints of the rule).
    A (when s > 0): Kanter's A = (a(U)/E)^{(1−β)/β}, β = α/2, U ~ U(0, π), E = −log Q with
    Q ~ U(0, 1), by a tensor tanh–sinh rule in (U/π, Q).
    """
    z = _Z_CUTOFF * _Z_X
    gauss_w = _Z_W * _Z_CUTOFF * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)

    def g(var):  # E h(sqrt(var) G) for an array of variances
        scale = np.sqrt(np.asarray(var, float))[..., None]
        return np.sum((h(scale * z) + h(-scale * z)) * gauss_w, axis=-1)

    if s2 == 0.0 or alpha == 2.0:
        return float(g(v + (2.0 * s2 if alpha == 2.0 else 0.0)))
    beta = alpha / 2.0
    u = math.pi * _X  # the angle; sin(u) from the nearer end, so that u → π keeps its digits
    log_a = kanter_log_a(u, beta, np.sin(math.pi * np.minimum(_X, _XC)), xp=np)
    # E = −log Q for Q at the nodes, accurate at both ends
    log_e = np.log(np.where(_X < 0.5, -np.log(_X), -np.log1p(-np.minimum(_XC, 0.5))))
    c = (1.0 - beta) / beta
    log_A = c * (log_a[:, None] - log_e[None, :])
    A = np.exp(np.minimum(log_A, 700.0))
    values = g(v + 2.0 * s2 * A)
    return float(np.sum(values * _W[:, None] * _W[None, :]))


def abs_moment(phi, p: float, v: float, s2: float = 0.0, alpha: float = 2.0) -> float:
    """E|φ(Z)|^p for Z = N(0, v) + SαS(α, sqrt(s2)) (:func:`gaussian_mixture_expectation`)."""
    return gaussian_mixture_expectation(lambda z: np.abs(np.asarray(phi.fn(z))) ** p, v, s2, alpha)


# -- tails and the finite-moment rule ------------------------------------------------------------


def _levy_gamma(lim: Levy) -> float:
    """γ: the moment of |φ(Z_l)| that a layer with limit ``lim`` needs finite."""
    tau = lim.tail_index
    return 2.0 if lim.drift > 0 or tau >= 1 else 2.0 * tau


def unit_tail_indices(net: MLP) -> tuple[float, ...]:
    """The tail index of the units of layers 1..L+1 in the per-weight limit (inf: all moments
    finite): layer 1 is Gaussian; layer l + 1 has min(2τ_l, tail of |φ(Z_l)|), τ_l the tail
    index of layer l's Lévy measure and |φ(Z_l)| of tail index α_l / growth(φ).
    """
    growth = net.phi.growth
    out = [math.inf]
    for prior in net.node_priors:
        lim = prior.limit()
        tau = lim.tail_index
        jumps = 2.0 * tau if tau < 1 else math.inf
        prev = out[-1]
        if math.isinf(prev) or growth == 0:
            phi_tail = math.inf
        else:  # an unknown growth is taken as linear (check_moments refuses it)
            phi_tail = prev / (1.0 if growth is None else growth)
        out.append(min(jumps, phi_tail))
    return tuple(out)


def check_moments(net: MLP) -> tuple[float, ...]:
    """Check DESIGN §15's finite-moment condition E|φ(Z_l)|^γ_l < ∞ for every hidden layer l of
    the per-weight limit; returns :func:`unit_tail_indices`. Raises ``ValueError`` naming the
    layers, their tail indices and the rule otherwise.
    """
    tails = unit_tail_indices(net)
    growth = net.phi.growth
    for l, prior in enumerate(net.node_priors, start=1):
        prev = tails[l - 1]
        if math.isinf(prev):
            continue
        gamma = _levy_gamma(prior.limit())
        if growth is None:
            raise ValueError(
                f"activation {net.activation!r} has no registered growth rate, so the moment "
                f"E|φ(Z_{l})|^{gamma:g} of the heavy-tailed units of layer {l} (tail index "
                f"{prev:g}) cannot be checked; register it with Activation(growth=p)"
            )
        if growth == 0:
            continue
        phi_tail = prev / growth
        if gamma >= phi_tail:
            raise ValueError(
                f"the per-weight limit needs E|φ(Z_{l})|^γ < ∞ with γ = {gamma:g} for the "
                f"weights of layer {l + 1} ({prior!r}), but the units of layer {l} have tail "
                f"index α_{l} = {prev:g} and {net.activation} grows like |z|^{growth:g}, so "
                f"|φ(Z_{l})| has tail index {phi_tail:g} ≤ γ (DESIGN §15: for ReLU-like φ and "
                f"α_{l} < 2 the next layer needs α_{l + 1} < α_{l}); use a bounded activation "
                "(tanh, erf) or lighter tails in that layer"
            )
    return tails


# -- the one-input recursion ---------------------------------------------------------------------


class UnitLaw(NamedTuple):
    """The law of one unit at one input: Z = N(0, v) + SαS(α, s) (independent parts).

    Attributes:
        gaussian_var: v.
        alpha: α of the stable part (2 when there is none).
        scale: s, the SαS scale (E e^{iuX} = e^{−s^α|u|^α}); 0 when there is no stable part.
    """

    gaussian_var: float
    alpha: float
    scale: float

    def log_cf(self, u):
        """log E e^{iuZ} = −v u²/2 − s^α |u|^α (real: the law is symmetric)."""
        u = np.asarray(u, float)
        return -0.5 * self.gaussian_var * u**2 - (self.scale * np.abs(u)) ** self.alpha


def _check_one_input(net: MLP) -> None:
    if net.depth == 0:
        raise ValueError("a network without hidden layers is Gaussian: nothing to recurse")
    if any(p != "weight" for p in net.placements[:-1]):
        raise ValueError(
            "the one-input recursion needs every hidden layer but the last placed per weight "
            f"(placements {net.placements}): with node placement the units share their kernel"
        )


def unit_laws(net: MLP, x) -> list[UnitLaw]:
    """The :class:`UnitLaw` of one unit of layers 1..L+1 (the last: one output) at the input x
    (d,), by the recursion of the module docstring. Every hidden layer but the last must be
    placed per weight (one input: the last layer's placement does not change one unit's law),
    and every prior's limit must be of the form ψ(t) = a t + η t^{α'}.
    """
    _check_one_input(net)
    check_moments(net)
    return _laws(net, x, net.node_priors)


def _laws(net: MLP, x, priors: tuple[NodePrior, ...]) -> list[UnitLaw]:
    """The recursion through the layers fed by ``priors`` (a prefix of the network's)."""
    x = np.asarray(check_inputs(net, np.atleast_2d(np.asarray(x, float))), float)
    law = UnitLaw(float(first_layer_variance(net, x)[0]), 2.0, 0.0)
    laws = [law]
    for l, prior in enumerate(priors, start=1):
        lim = prior.limit()
        part = lim.power_law_exponent()
        if part is None:
            raise ValueError(
                f"layer {l + 1}'s prior {prior!r} has no closed one-input recursion (its limit "
                "is not a t + η t^α'); one_input_log_cf handles it in the last layer only"
            )
        a_stable, eta = part
        moments = (law.gaussian_var, law.scale**2, law.alpha)
        v = lim.drift * net.sigma_w**2 * abs_moment(net.phi, 2.0, *moments) if lim.drift else 0.0
        scale_pow, alpha = 0.0, 2.0
        if eta > 0:
            alpha = 2.0 * a_stable
            scale_pow = (
                eta * (net.sigma_w**2 / 2.0) ** a_stable * abs_moment(net.phi, alpha, *moments)
            )
        if net.sigma_b > 0:
            if prior.gaussian_biases:
                v += net.sigma_b**2
            else:  # SαS biases of the weights' own α
                scale_pow += net.sigma_b**alpha
        law = UnitLaw(v, alpha, scale_pow ** (1.0 / alpha) if scale_pow > 0 else 0.0)
        laws.append(law)
    return laws


def _bias_log_cf(net: MLP, u):
    prior = net.node_priors[-1]
    return np.asarray(prior.bias_log_cf(np.asarray(u, float), net.sigma_b)) if net.sigma_b else 0.0


def one_input_log_cf(net: MLP, x, u) -> np.ndarray:
    """log E e^{iu f(x)} of one output of the per-weight limit at input x, for every u: the
    recursion (:func:`unit_laws`) up to the last hidden layer, then, for any prior of the last
    layer, −E ψ_L(σ_w² u² φ(Z_L)²/2) by quadrature plus the bias term.
    """
    _check_one_input(net)
    check_moments(net)
    u = np.atleast_1d(np.asarray(u, float))
    last = net.node_priors[-1].limit()
    if last.power_law_exponent() is not None:
        return np.asarray(_laws(net, x, net.node_priors)[-1].log_cf(u))
    law = _laws(net, x, net.node_priors[:-1])[-1]
    moments = (law.gaussian_var, law.scale**2, law.alpha)
    out = []
    for ui in u:
        coef = net.sigma_w**2 * ui**2 / 2.0

        def h(z, coef=coef):
            return np.asarray(last.laplace_exponent(coef * np.asarray(net.phi.fn(z)) ** 2))

        out.append(-gaussian_mixture_expectation(h, *moments))
    return np.asarray(out) + _bias_log_cf(net, u)


# -- the joint law over inputs: the spectral-measure formula ------------------------------------


def joint_log_cf(net: MLP, U, units) -> tuple[np.ndarray, np.ndarray]:
    r"""The joint log characteristic function of one output of the per-weight limit.

    log E exp(i Σ_n u_n f(x_n)) at N inputs, for each row u of U (J, N), given draws ``units``
    (P, N) of one unit of the last hidden layer at those inputs (GP(0, Σ^(1)) draws when L = 1,
    unit draws of the limit otherwise):

    .. math:: \log E e^{i\langle u, f\rangle} = \log E e^{i b \sum_n u_n}
              - E\,\psi_L\bigl(\sigma_w^2 \langle u, \phi(Z_L)\rangle^2 / 2\bigr),

    which for SαS weights is the spectral-measure form −σ_b^α|Σu|^α − σ_w^α E|⟨u, φ(Z_L)⟩|^α of
    Favaro, Fortini & Peluchetti (2020), the spectral measure being the law of φ(Z_L) weighted by
    its norm^α. Returns (log cf (J,), the Monte Carlo standard error of the expectation (J,)).
    """
    U = np.atleast_2d(np.asarray(U, float))
    units = np.asarray(units, float)
    if units.ndim != 2 or units.shape[1] != U.shape[1]:
        raise ValueError(
            f"units must have shape (P, N = {U.shape[1]}) like the rows of U, got {units.shape}"
        )
    check_width(units.shape[0], "number of unit draws")
    last = net.node_priors[-1].limit()
    features = np.asarray(net.phi.fn(units))  # (P, N)
    proj = features @ U.T  # (P, J)
    values = np.asarray(last.laplace_exponent(net.sigma_w**2 * proj**2 / 2.0))
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    return _bias_log_cf(net, U.sum(axis=1)) - mean, se
