"""The MoGP posterior predictive: exact NNGP regression in the Gaussian case, and agreement with
a brute-force function-space importance sampler for a spike-and-slab MoGP."""

from __future__ import annotations

import math
import warnings

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.theory import LowESSWarning, MoGP, nngp_kernel

DELTA = 1e-3
X = np.linspace(-2, 2, 7)[:, None]
Y = np.sin(1.5 * X[:, 0]) + 0.3 * X[:, 0]
X_TEST = np.array([[-3.0], [-0.5], [0.25], [2.5]])


def test_gaussian_limit_is_exact_nngp_regression():
    net = bm.MLP(in_dim=1, widths=(8, 8), activation="erf", sigma_w=1.4, sigma_b=0.6)
    noise = 0.2
    res = MoGP(net).posterior_predictive(jax.random.PRNGKey(0), X, Y, X_TEST, noise, 16)
    K = nngp_kernel(net, np.vstack([X, X_TEST]))
    n = len(X)
    A = K[:n, :n] + noise**2 * np.eye(n)
    mean = K[n:, :n] @ np.linalg.solve(A, Y)
    cov = K[n:, n:] - K[n:, :n] @ np.linalg.solve(A, K[:n, n:])
    var = np.diag(cov)
    np.testing.assert_allclose(res.mean[:, 0], mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(res.variance[:, 0], var, rtol=1e-8, atol=1e-10)
    expected_q = stats.norm.ppf(res.probs)[:, None] * np.sqrt(var)[None, :] + mean[None, :]
    np.testing.assert_allclose(res.quantiles[:, :, 0], expected_q, rtol=1e-8, atol=1e-8)
    log_ml = stats.multivariate_normal(np.zeros(n), A).logpdf(Y)
    np.testing.assert_allclose(res.log_marginal_likelihoods, log_ml, rtol=1e-10)
    assert res.ess == pytest.approx(16) and res.reliable
    y_star = np.cos(X_TEST[:, 0])
    np.testing.assert_allclose(
        res.log_predictive_density(y_star),
        stats.norm(mean, np.sqrt(var + noise**2)).logpdf(y_star),
        rtol=1e-9,
    )
    # joint draws of f(X*) have the posterior covariance (KS per coordinate would be weak; use
    # the standardised draws' chi-square law)
    res = MoGP(net).posterior_predictive(
        jax.random.PRNGKey(1), X, Y, X_TEST, noise, 4, num_samples=4000
    )
    d = res.draws[:, :, 0] - mean
    q = np.einsum("si,ij,sj->s", d, np.linalg.inv(cov), d)
    assert stats.kstest(q, stats.chi2(len(X_TEST)).cdf).pvalue > DELTA


@pytest.mark.statistical
def test_mogp_posterior_matches_function_space_importance_sampling():
    """Spike-and-slab MoGP (exact jumps, finite moments), tiny data, large noise: mean and second
    moment of f(X*) from kernel-space IS agree with IS over prior function draws, within
    z·(combined standard error), z at δ = 1e-3 Bonferroni'd over 2 × 2 comparisons."""
    net = bm.MLP(
        in_dim=1,
        widths=(16,),
        activation="relu",
        sigma_w=1.2,
        sigma_b=0.5,
        node_prior=P.GaussianMixture(spike=0.3, slab=2.0, rate=2.0),
    )
    Xd, yd, noise = np.array([[-1.0], [1.0]]), np.array([0.8, -0.4]), 0.7
    Xs = np.array([[0.0], [2.0]])
    lim = MoGP(net)
    res = lim.posterior_predictive(jax.random.PRNGKey(2), Xd, yd, Xs, noise, 20_000)
    w = res.weights
    m_s, v_s = res.component_means[:, :, 0], res.component_variances
    second = v_s + m_s**2
    se_mean = np.sqrt(np.sum(w[:, None] ** 2 * (m_s - res.mean[:, 0]) ** 2, axis=0))
    est_second = np.sum(w[:, None] * second, axis=0)
    se_second = np.sqrt(np.sum(w[:, None] ** 2 * (second - est_second) ** 2, axis=0))

    f = lim.sample_functions(jax.random.PRNGKey(3), np.vstack([Xd, Xs]), 400_000)[:, :, 0]
    log_w = stats.norm(f[:, :2], noise).logpdf(yd).sum(1)
    u = np.exp(log_w - log_w.max())
    u /= u.sum()
    fs = f[:, 2:]
    bf_mean = u @ fs
    bf_second = u @ fs**2
    bf_se_mean = np.sqrt(u**2 @ (fs - bf_mean) ** 2)
    bf_se_second = np.sqrt(u**2 @ (fs**2 - bf_second) ** 2)
    z = stats.norm.isf(DELTA / 2 / 4)
    assert res.ess > 1000 and 1 / np.sum(u**2) > 1000
    assert np.all(np.abs(res.mean[:, 0] - bf_mean) <= z * np.hypot(se_mean, bf_se_mean))
    assert np.all(np.abs(est_second - bf_second) <= z * np.hypot(se_second, bf_se_second))
    np.testing.assert_allclose(res.variance[:, 0], est_second - res.mean[:, 0] ** 2, rtol=1e-9)


def test_low_ess_warns_and_bad_inputs_fail_clearly():
    net = bm.MLP(in_dim=1, widths=(8,), node_prior=P.Horseshoe(scale=1.0), sigma_b=1.0)
    Xd = np.linspace(-2, 2, 30)[:, None]
    yd = np.sin(3 * Xd[:, 0])
    with pytest.warns(LowESSWarning, match="effective sample size .* Increase num_draws"):
        res = MoGP(net).posterior_predictive(jax.random.PRNGKey(0), Xd, yd, X_TEST, 0.05, 50)
    assert not res.reliable
    lim = MoGP(net)
    with pytest.raises(ValueError, match="noise_std"):
        lim.posterior_predictive(jax.random.PRNGKey(0), Xd, yd, X_TEST, 0.0, 5)
    with pytest.raises(ValueError, match=r"y must have shape \(N=30,\)"):
        lim.posterior_predictive(jax.random.PRNGKey(0), Xd, yd[:5], X_TEST, 0.1, 5)
    with pytest.raises(ValueError, match="NaN"):
        lim.posterior_predictive(jax.random.PRNGKey(0), Xd, yd * np.nan, X_TEST, 0.1, 5)
    with pytest.raises(ValueError, match="in_dim=1"):
        lim.posterior_predictive(jax.random.PRNGKey(0), Xd, yd, np.zeros((3, 2)), 0.1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = MoGP(net).posterior_predictive(
            jax.random.PRNGKey(0), Xd[:2], yd[:2], X_TEST, 1.0, 200
        )
    assert res.reliable and math.isfinite(res.ess)
