"""Independent reference computations for the node-prior families (SciPy, closed forms, quadrature).

Nothing here calls the code under test: these are the laws the package must reproduce.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special, stats

from bnn_mogp import priors as P


def finite_cdf(prior, n: int, x):
    """P(λ_n ≤ x) for the law at width n."""
    x = np.asarray(x, dtype=float)
    if isinstance(prior, P.InverseGamma):
        return stats.invgamma(prior.shape, scale=(prior.shape - 1) * prior.c / n).cdf(x)
    if isinstance(prior, P.Horseshoe):
        return 2 / math.pi * np.arctan(np.sqrt(x) * n / prior.scale)
    if isinstance(prior, P.Beta):
        return stats.beta(prior.eta / (2 * n), 0.5).cdf(x)
    if isinstance(prior, P.Gamma):
        return stats.gamma(prior.c / n, scale=1 / prior.rate).cdf(x)
    if isinstance(prior, P.StableLike):
        return _stable_cdf(prior, n, x)
    if isinstance(prior, P.GaussianMixture):
        p = prior.rate / n
        return np.where(x >= prior.spike / n, 1 - p, 0.0) + np.where(x >= prior.slab, p, 0.0)
    if isinstance(prior, P.Deterministic):
        return np.where(x >= prior.c / n, 1.0, 0.0)
    raise TypeError(prior)


def finite_sf(prior, n: int, x) -> float:
    """P(λ_n > x) for the law at width n, computed as a survival function (no 1 − CDF
    cancellation: for wide layers it is of order 1/n).
    """
    if isinstance(prior, P.InverseGamma):
        return float(stats.invgamma(prior.shape, scale=(prior.shape - 1) * prior.c / n).sf(x))
    if isinstance(prior, P.Horseshoe):  # 1 − (2/π) arctan z = (2/π) arctan(1/z)
        return 2 / math.pi * math.atan(prior.scale / (math.sqrt(x) * n))
    if isinstance(prior, P.Beta):
        return float(stats.beta(prior.eta / (2 * n), 0.5).sf(x))
    if isinstance(prior, P.Gamma):
        return float(stats.gamma(prior.c / n, scale=1 / prior.rate).sf(x))
    if isinstance(prior, P.StableLike):
        return _stable_mixture(prior, n, x, special.gammaincc)
    return float(1.0 - finite_cdf(prior, n, x))


def _stable_cdf(prior, n, x):
    """Mixture form: s has CDF ∝ (β+s)^α − β^α on (0, t_n), λ | s ~ Gamma(1 − α, β + s)."""
    return np.vectorize(lambda xv: _stable_mixture(prior, n, xv, special.gammainc))(x)


def _stable_mixture(prior, n, x, gamma_cdf_or_sf) -> float:
    """∫₀¹ G(1 − α, (β^α + u n/η)^{1/α} x) du for G the regularised lower (CDF) or upper (survival)
    incomplete gamma function: u uniform on (0, 1) ↦ log(β + s) = log(β^α + u n/η)/α.

    Where the rate exceeds 50/x the gamma law puts all but e^{−50} of its mass below x, so the
    integrand is constant there; for wide layers that is all but an O(1/n) piece of (0, 1),
    which adaptive quadrature over (0, 1) can miss: the interval is split at that point.
    """
    if x <= 0:
        return float(gamma_cdf_or_sf(1 - prior.alpha, 0.0))  # CDF 0, survival 1
    a, b, eta = prior.alpha, prior.beta, prior.eta

    def integrand(u):
        return gamma_cdf_or_sf(1 - a, (b**a + u * n / eta) ** (1 / a) * x)

    cut = min(1.0, max(0.0, eta * ((50.0 / x) ** a - b**a) / n))
    head = integrate.quad(integrand, 0, cut, epsabs=1e-300, epsrel=1e-10, limit=200)[0]
    tail = integrate.quad(integrand, cut, 1, epsabs=1e-300, epsrel=1e-10, limit=200)[0]
    return head + tail


def finite_log_laplace(prior, n: int, t: float) -> float:
    """n · log E e^{−t λ_n}: the log Laplace transform of the row sum of n nodes."""
    if isinstance(prior, P.Deterministic):
        return -t * prior.c
    if isinstance(prior, P.InverseGamma):
        k, b = prior.shape, (prior.shape - 1) * prior.c / n
        z = 2 * math.sqrt(b * t)
        log_l = math.log(2) + 0.5 * k * math.log(b * t) + math.log(special.kve(k, z)) - z
        return n * (log_l - special.gammaln(k))
    if isinstance(prior, P.Horseshoe):
        q = t * prior.scale**2 / n**2
        return n * math.log(special.erfcx(math.sqrt(q)))
    if isinstance(prior, P.StableLike):
        a, b, eta = prior.alpha, prior.beta, prior.eta
        base = n / eta + b**a  # (β + t_n)^α
        d = base * math.expm1(a * math.log1p(t / base ** (1 / a)))  # (β+t_n+t)^α − (β+t_n)^α
        return n * math.log1p(-eta * ((b + t) ** a - b**a - d) / n)
    if isinstance(prior, P.GaussianMixture):
        p = prior.rate / n
        one = (1 - p) * math.exp(-t * prior.spike / n) + p * math.exp(-t * prior.slab)
        return n * math.log(one)
    if isinstance(prior, P.Beta):
        a = prior.eta / (2 * n)
        return n * math.log(special.hyp1f1(a, a + 0.5, -t))
    if isinstance(prior, P.Gamma):
        return -prior.c * math.log1p(t / prior.rate)
    raise TypeError(prior)


def levy_density(prior):
    """(drift, log ρ density on (0, ∞) or None, atoms [(size, mass)]) of the limit (DESIGN §3.2)."""
    if isinstance(prior, (P.Deterministic, P.InverseGamma)):
        return prior.c, None, []
    if isinstance(prior, P.Horseshoe):
        log_c = math.log(prior.scale / math.pi)
        return 0.0, lambda w: log_c - 1.5 * math.log(w), []
    if isinstance(prior, P.StableLike):
        a, b, eta = prior.alpha, prior.beta, prior.eta
        log_c = math.log(eta * a / math.gamma(1 - a))
        return 0.0, lambda w: log_c - (1 + a) * math.log(w) - b * w, []
    if isinstance(prior, P.GaussianMixture):
        return prior.spike, None, [(prior.slab, prior.rate)]
    if isinstance(prior, P.Beta):
        log_c = math.log(prior.eta / 2)
        return 0.0, lambda w: log_c - math.log(w) - 0.5 * math.log1p(-w), []
    if isinstance(prior, P.Gamma):
        log_c = math.log(prior.c)
        return 0.0, lambda w: log_c - math.log(w) - prior.rate * w, []
    raise TypeError(prior)


def _upper(prior):
    return 1.0 if isinstance(prior, P.Beta) else math.inf


def _log_quad(log_fn, lo: float, hi: float) -> float:
    """∫ exp(log_fn(w)) dw over w in (lo, hi), by quadrature in u = log w split at u = 0."""
    u_lo = math.log(lo) if lo > 0 else -700.0
    u_hi = math.log(hi) if math.isfinite(hi) else 700.0

    def g(u):
        w = math.exp(u)
        if w <= 0.0 or not math.isfinite(w) or w >= hi:
            return 0.0
        return math.exp(min(log_fn(w) + u, 700.0))

    total = 0.0
    edges = sorted({u_lo, min(max(0.0, u_lo), u_hi), u_hi})
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        total += integrate.quad(g, a, b, epsabs=0, epsrel=1e-11, limit=500)[0]
    return total


def levy_tail(prior, x: float) -> float:
    """ρ̄(x) = ρ((x, ∞)) by quadrature of the density."""
    _, log_rho, atoms = levy_density(prior)
    total = sum(m for size, m in atoms if size > x)
    if log_rho is not None and x < _upper(prior):
        total += _log_quad(log_rho, x, _upper(prior))
    return total


def laplace_exponent(prior, t: float) -> float:
    """ψ(t) = a t + ∫ (1 − e^{−tw}) ρ(dw) by quadrature."""
    drift, log_rho, atoms = levy_density(prior)
    total = drift * t + sum(m * -math.expm1(-t * size) for size, m in atoms)
    if log_rho is not None:
        total += _log_quad(lambda w: math.log(-math.expm1(-t * w)) + log_rho(w), 0.0, _upper(prior))
    return total


def small_jump_mean(prior, eps: float) -> float:
    """∫₀^ε w ρ(dw) by quadrature."""
    _, log_rho, atoms = levy_density(prior)
    total = sum(m * size for size, m in atoms if size <= eps)
    if log_rho is not None:
        total += _log_quad(lambda w: math.log(w) + log_rho(w), 0.0, min(eps, _upper(prior)))
    return total


def relu_output_cdf(prior, sigma_w: float, k: float):
    """CDF of f(x) in the limit of one hidden ReLU layer, σ_b = 0, k = Σ¹(x, x) (DESIGN §4.5)."""
    if isinstance(prior, P.Deterministic):
        return stats.norm(scale=math.sqrt(sigma_w**2 * prior.c * k / 2)).cdf
    if isinstance(prior, P.Horseshoe):
        return stats.cauchy(scale=prior.scale * sigma_w * math.sqrt(k) / math.pi).cdf
    if isinstance(prior, P.StableLike) and prior.beta == 0:
        # E e^{iuf} = exp(−η (σ_w²u²/2)^α E|relu Z|^{2α}), E|relu Z|^{2α} = ½ (2k)^α Γ(α+½)/√π
        a = prior.alpha
        moment = 0.5 * (2 * k) ** a * math.gamma(a + 0.5) / math.sqrt(math.pi)
        scale = (prior.eta * moment) ** (1 / (2 * a)) * sigma_w / math.sqrt(2)
        return stats.levy_stable(2 * a, 0.0, scale=scale).cdf
    if isinstance(prior, P.Beta) and prior.eta == 1 and sigma_w == 1 and k == 1:
        # f = sqrt(V) N with V ~ Gamma(1/4, rate 1/2): E Φ(z/sqrt(V)) by the quantile rule
        grid = stats.gamma(0.25, scale=2.0).ppf((np.arange(4000) + 0.5) / 4000)
        return lambda z: stats.norm.cdf(np.atleast_1d(z)[:, None] / np.sqrt(grid)[None, :]).mean(1)
    raise ValueError(f"no closed form for {prior!r} with σ_w = {sigma_w}, k = {k}")


#: (prior, σ_w, x) cases of one-layer closed forms, shared by the finite-width and limit tests
RELU_CLOSED_FORMS = {
    "normal": (P.Deterministic(c=1.7), 1.3, 1.5),
    "cauchy": (P.Horseshoe(scale=0.8), 1.3, 1.5),
    "stable": (P.StableLike(alpha=0.7, eta=1.2), 1.3, 1.5),
    "normal_gamma": (P.Beta(eta=1.0), 1.0, 1.0),
}
