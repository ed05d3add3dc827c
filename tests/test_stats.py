"""The summary statistics of bnn_mogp.stats (each tolerance at a false-failure rate of 1e-3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bnn_mogp.stats import corr_of_squares, hill_tail_index, quantiles, rank_corr_of_squares

Z = 3.29  # two-sided normal quantile for a false-failure probability of 1e-3


def test_hill_on_exact_pareto():
    alpha, n = 1.5, 20_000
    rng = np.random.default_rng(20240601)
    x = rng.uniform(size=n) ** (-1.0 / alpha) * rng.choice([-1.0, 1.0], size=n)
    est, k = hill_tail_index(x)
    assert k == max(10, math.isqrt(n)) == 141
    # exact Pareto: k·H ~ Gamma(k, rate α), so 1/H has mean kα/(k−1) and sd ≈ α/sqrt(k)
    bias = alpha / (k - 1)
    assert abs(est - alpha) <= Z * alpha / math.sqrt(k) + bias, est


def test_hill_explicit_k_and_edge_cases():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=5000) ** (-1.0 / 2.0)
    est, k = hill_tail_index(x, k=1000)
    assert k == 1000 and abs(est - 2.0) <= Z * 2.0 / math.sqrt(k) + 2.0 / (k - 1)
    assert hill_tail_index(np.arange(5.0))[1] == 4  # default k capped at n − 1
    est, _ = hill_tail_index(np.r_[np.zeros(100), 1.0, 2.0])
    assert math.isnan(est)  # the (k+1)-th largest |x| is 0
    assert hill_tail_index(np.ones(20))[0] == math.inf
    for bad_k in (0, 20, 2.5, True):
        with pytest.raises(ValueError, match="k must be an integer"):
            hill_tail_index(np.arange(1.0, 21.0), k=bad_k)
    with pytest.raises(ValueError, match="NaN or infinite"):
        hill_tail_index([1.0, np.inf, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        hill_tail_index([1.0])


def test_corr_of_squares_independent_normals():
    n = 50_000
    rng = np.random.default_rng(7)
    f1, f2 = rng.standard_normal(n), rng.standard_normal(n)
    assert abs(corr_of_squares(f1, f2)) <= Z / math.sqrt(n)
    assert abs(rank_corr_of_squares(f1, f2)) <= Z / math.sqrt(n)


def test_corr_of_squares_dependent_and_edges():
    rng = np.random.default_rng(3)
    n = 50_000
    scale = np.sqrt(rng.gamma(2.0, 1.0, size=n))  # a shared random variance Σ ~ Gamma(2, 1)
    f1, f2 = scale * rng.standard_normal(n), scale * rng.standard_normal(n)
    # corr(f1², f2²) = Var Σ / (3 Var Σ + 2 (E Σ)²) = 2 / (6 + 8) = 1/7; standard error of the
    # sample correlation from its influence function ũṽ − r(ũ² + ṽ²)/2 (ũ, ṽ standardised)
    r = corr_of_squares(f1, f2)
    u, v = f1**2, f2**2
    u, v = (u - u.mean()) / u.std(), (v - v.mean()) / v.std()
    se = np.std(u * v - r * (u**2 + v**2) / 2) / math.sqrt(n)
    assert abs(r - 1 / 7) <= Z * se
    assert rank_corr_of_squares(f1, f2) > Z / math.sqrt(n)  # dependence is detected
    assert corr_of_squares(f1, -f1) == pytest.approx(1.0)
    assert math.isnan(corr_of_squares(np.ones(5), np.arange(5.0)))
    assert math.isnan(rank_corr_of_squares(np.ones(5), np.arange(5.0)))
    assert corr_of_squares(np.r_[1e200, 1.0, 2.0], np.r_[1e200, 2.0, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same size"):
        corr_of_squares(np.ones(3), np.ones(4))


def test_quantiles():
    x = np.arange(101.0)
    np.testing.assert_allclose(quantiles(x, [0.0, 0.01, 0.5, 0.995, 1.0]), [0, 1, 50, 99.5, 100])
    assert quantiles(x, 0.25) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="probs must lie in"):
        quantiles(x, [1.5])
    with pytest.raises(ValueError, match="at least one sample"):
        quantiles([], [0.5])
