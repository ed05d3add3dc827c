"""Independent float64 references for Gaussian expectations E[φ(u)φ(v)] (SciPy quadrature)."""

from __future__ import annotations

import math

from scipy import integrate, special


# scalar normal pdf and cdf from the math module: the nested quadratures call them ~10⁵ times,
# and scipy.stats' per-call overhead made these references take 20–40 s each
def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


# E[φ(v)] for v ~ N(m, s²): textbook one-dimensional Gaussian integrals
CONDITIONAL_MEAN = {
    "relu": lambda m, s: m * _cdf(m / s) + s * _pdf(m / s),
    "step": lambda m, s: _cdf(m / s),
    "relu2": lambda m, s: (m**2 + s**2) * _cdf(m / s) + m * s * _pdf(m / s),
    "erf": lambda m, s: special.erf(m / math.sqrt(1 + 2 * s**2)),
}
PHI = {
    "relu": lambda x: max(x, 0.0),
    "step": lambda x: float(x > 0),
    "relu2": lambda x: max(x, 0.0) ** 2,
    "erf": special.erf,
    "tanh": math.tanh,
    "gelu": lambda x: x * _cdf(x),
}
DPHI = {
    "relu": lambda x: float(x > 0),
    "relu2": lambda x: 2 * max(x, 0.0),
    "erf": lambda x: 2 / math.sqrt(math.pi) * math.exp(-x * x),
    "tanh": lambda x: 1 - math.tanh(x) ** 2,
    "gelu": lambda x: _cdf(x) + x * _pdf(x),
}

# (k11, k22, correlation) including θ → 0 and θ → π
COVARIANCES = [
    (1.0, 1.0, 0.3),
    (2.0, 0.5, -0.7),
    (0.3, 3.0, 0.95),
    (1.5, 1.5, 1 - 1e-9),
    (1.5, 1.5, -(1 - 1e-9)),
    (1.0, 1.0, 1.0),
    (1.0, 1.0, -1.0),
    (4.0, 4.0, 0.0),
]


def reference_1d(name, k11, k22, c):
    """E[φ(u)φ(v)] = ∫ φ(√k11 z) E[φ(v) | z] N(z) dz, v | z ~ N(√k22 c z, k22 (1 − c²))."""
    s = math.sqrt(k22 * max(1 - c * c, 0.0))

    def integrand(z):
        m = math.sqrt(k22) * c * z
        inner = PHI[name](m) if s == 0 else CONDITIONAL_MEAN[name](m, s)
        return PHI[name](math.sqrt(k11) * z) * inner * _pdf(z)

    # near-degenerate correlations put all the action within O(sqrt(1 − c²)) of z = 0
    delta = math.sqrt(max(1 - c * c, 0.0))
    pts = sorted({0.0, *[sgn * delta * m for sgn in (-1, 1) for m in (1, 10, 100) if delta > 0]})
    return integrate.quad(integrand, -40, 40, points=pts, epsabs=1e-13, epsrel=1e-12, limit=500)[0]


def reference_2d(f, k11, k22, c):
    s = math.sqrt(max(1 - c * c, 0.0))

    def inner(z1):
        def g(z2):
            v = math.sqrt(k22) * (c * z1 + s * z2)
            return f(v) * _pdf(z2)

        kink = -c * z1 / s if s > 0 else 0.0
        pts = [kink] if -12 < kink < 12 else None
        return integrate.quad(g, -12, 12, points=pts, epsabs=1e-12, limit=200)[0]

    return integrate.quad(
        lambda z1: f(math.sqrt(k11) * z1) * _pdf(z1) * inner(z1),
        -12,
        12,
        points=[0.0],
        epsabs=1e-12,
        limit=200,
    )[0]
