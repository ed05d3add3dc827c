r"""Small pure NumPy statistics for comparing finite-width draws with the infinite-width theory.

Every function takes array-likes, works in float64 and returns plain floats / NumPy arrays.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import spearmanr

__all__ = ["hill_tail_index", "corr_of_squares", "rank_corr_of_squares", "quantiles"]


def _as_1d_finite(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def hill_tail_index(x, k: int | None = None) -> tuple[float, int]:
    r"""Hill's estimate of the tail index of :math:`|x|`, from its ``k`` largest order statistics.

    If :math:`P(|X| > z) = L(z)\, z^{-\gamma}` with :math:`L` slowly varying, then with the order
    statistics :math:`|x|_{(1)} \ge |x|_{(2)} \ge \dots \ge |x|_{(n)}`

    .. math:: \hat\gamma_k = \Bigl(\frac{1}{k} \sum_{i=1}^{k}
              \log\frac{|x|_{(i)}}{|x|_{(k+1)}}\Bigr)^{-1}.

    It estimates the tail index of **|x|** (both tails pooled: for a symmetric law this is the
    index of either tail). For exact Pareto data :math:`\sqrt{k}(\hat\gamma_k - \gamma)
    \to N(0, \gamma^2)`, i.e. the standard deviation is about :math:`\gamma/\sqrt{k}`; for other
    laws there is an additional bias that depends on :math:`L` and on ``k``. Light tails
    (Gaussian, bounded) give an estimate that grows with ``n``.

    Args:
        x: samples (any shape; flattened), finite.
        k: number of upper order statistics, 1 ≤ k ≤ n − 1. Default
            :math:`\max(10, \lfloor\sqrt{n}\rfloor)`, capped at n − 1.

    Returns:
        ``(estimate, k)``. The estimate is ``nan`` when :math:`|x|_{(k+1)} = 0` (more than
        n − k zeros: the estimator is undefined) and ``inf`` when the k + 1 largest values tie.
    """
    a = np.abs(_as_1d_finite("x", x))
    n = a.size
    if n < 2:
        raise ValueError(f"hill_tail_index needs at least 2 samples, got {n}")
    if k is None:
        k = min(max(10, math.isqrt(n)), n - 1)
    elif isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n - 1:
        raise ValueError(f"k must be an integer in [1, n - 1 = {n - 1}], got {k!r}")
    k = int(k)
    top = -np.sort(-a)[: k + 1]  # the k + 1 largest values, in decreasing order
    threshold = top[k]
    if threshold <= 0.0:
        return math.nan, k
    mean_log_excess = float(np.mean(np.log(top[:k] / threshold)))
    if mean_log_excess == 0.0:
        return math.inf, k
    return 1.0 / mean_log_excess, k


def corr_of_squares(f1, f2) -> float:
    r"""Pearson correlation of the squares :math:`f_1^2` and :math:`f_2^2`.

    .. math:: \hat r = \frac{\sum_s (u_s - \bar u)(v_s - \bar v)}
              {\sqrt{\sum_s (u_s - \bar u)^2 \sum_s (v_s - \bar v)^2}},
              \qquad u_s = f_{1,s}^2,\ v_s = f_{2,s}^2.

    Two outputs of a network with random node variances are uncorrelated but dependent; with
    Σ their common random variance, :math:`\mathrm{corr}(f_1^2, f_2^2) = \mathrm{Var}\,\Sigma /
    (3 \mathrm{Var}\,\Sigma + 2 (E\Sigma)^2)` (0 for a GP, → 1/3 as the variance of Σ grows).
    Under independence the sample value has standard deviation about :math:`1/\sqrt{n}` when
    :math:`f^2` has finite variance.

    Args:
        f1, f2: paired samples of equal size n ≥ 2, finite.

    Returns:
        :math:`\hat r`, or ``nan`` when either square is constant.
    """
    a, b = _as_1d_finite("f1", f1), _as_1d_finite("f2", f2)
    if a.size != b.size:
        raise ValueError(f"f1 and f2 must have the same size, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"corr_of_squares needs at least 2 pairs, got {a.size}")
    # scale before squaring (the correlation is scale-free) so that heavy-tailed draws
    # do not overflow
    u = (a / max(float(np.max(np.abs(a))), np.finfo(np.float64).tiny)) ** 2
    v = (b / max(float(np.max(np.abs(b))), np.finfo(np.float64).tiny)) ** 2
    du, dv = u - u.mean(), v - v.mean()
    denom = math.sqrt(float(np.dot(du, du)) * float(np.dot(dv, dv)))
    if denom == 0.0:
        return math.nan
    return float(np.clip(np.dot(du, dv) / denom, -1.0, 1.0))


def rank_corr_of_squares(f1, f2) -> float:
    r"""Spearman rank correlation of :math:`f_1^2` and :math:`f_2^2` (i.e. of :math:`|f_1|, |f_2|`).

    .. math:: \hat r_S = \mathrm{corr}\bigl(R(|f_1|), R(|f_2|)\bigr)

    with :math:`R` the ranks (ties averaged). A robust companion of :func:`corr_of_squares`: it
    exists for every law, whereas the Pearson correlation of squares is driven by a few draws when
    :math:`f^2` has infinite variance (heavy-tailed outputs). 0 in expectation for independent
    outputs (a GP), positive for a mixture of GPs; sd about :math:`1/\sqrt{n}` under independence.

    Returns ``nan`` when either sample is constant.
    """
    u = np.abs(_as_1d_finite("f1", f1))
    v = np.abs(_as_1d_finite("f2", f2))
    if u.size != v.size:
        raise ValueError(f"f1 and f2 must have the same size, got {u.size} and {v.size}")
    if u.size < 2:
        raise ValueError(f"rank_corr_of_squares needs at least 2 pairs, got {u.size}")
    if np.ptp(u) == 0.0 or np.ptp(v) == 0.0:
        return math.nan
    return float(spearmanr(u, v).statistic)


def quantiles(x, probs) -> np.ndarray:
    r"""Sample quantiles of ``x`` at probabilities ``probs`` (linear interpolation).

    With the sorted sample :math:`x_{(1)} \le \dots \le x_{(n)}` and :math:`h = (n - 1)p`,

    .. math:: \hat q(p) = x_{(\lfloor h \rfloor + 1)}
              + (h - \lfloor h \rfloor)\,(x_{(\lfloor h \rfloor + 2)} - x_{(\lfloor h \rfloor + 1)})

    (Hyndman & Fan type 7, NumPy's default).

    Args:
        x: samples (any shape; flattened), finite, at least one.
        probs: probabilities in [0, 1] (scalar or 1-D).

    Returns:
        An array shaped like ``probs``.
    """
    x = _as_1d_finite("x", x)
    if x.size == 0:
        raise ValueError("quantiles needs at least one sample")
    p = np.asarray(probs, dtype=np.float64)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError(f"probs must lie in [0, 1], got {probs!r}")
    return np.quantile(x, p)
