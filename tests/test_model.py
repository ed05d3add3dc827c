"""The NumPyro model: conjugate Bayesian linear regression (widths = ()) against its exact
posterior, and the collapsed last layer against the explicit one."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import MCMC, NUTS, Predictive
from numpyro.infer.util import log_density
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.model import NodeMixture, bnn_model

DELTA = 1e-3


def linear_data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.array([0.8, -0.5, 0.3]) + 0.4 + 0.3 * rng.normal(size=n)
    return X, y


@pytest.mark.statistical
def test_linear_regression_nuts_matches_the_conjugate_posterior():
    """widths = (), fixed noise: (b, w) | y is Gaussian. NUTS means are within z·sd/sqrt(ESS)
    and variances within a relative z·sqrt(2/ESS) of the exact ones (z at δ = 1e-3,
    Bonferroni'd over the 4 coefficients)."""
    X, y = linear_data()
    net = bm.MLP(in_dim=3, widths=(), sigma_w=1.5, sigma_b=1.0)
    noise = 0.3
    mcmc = MCMC(NUTS(bnn_model), num_warmup=500, num_samples=2000, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0), net, jnp.asarray(X), jnp.asarray(y), noise_std=noise)
    draws = mcmc.get_samples()
    coef = np.column_stack(
        [
            1.0 * np.asarray(draws["b_1"])[:, 0],
            1.5 / math.sqrt(3) * np.asarray(draws["w_1"])[:, :, 0],
        ]
    )
    # exact posterior of (b, w) with prior N(0, diag(σ_b², σ_w²/d ...)) and Gaussian noise
    A = np.column_stack([np.ones(len(X)), X])
    prior_prec = np.diag([1 / 1.0**2] + [3 / 1.5**2] * 3)
    cov = np.linalg.inv(prior_prec + A.T @ A / noise**2)
    mean = cov @ A.T @ y / noise**2
    from numpyro.diagnostics import effective_sample_size

    ess = np.array([effective_sample_size(coef[None, :, i]) for i in range(4)])
    z = stats.norm.isf(DELTA / 2 / 4)
    assert np.all(np.abs(coef.mean(0) - mean) <= z * np.sqrt(np.diag(cov) / ess))
    # sample variance of ESS-effective draws: relative sd ≈ sqrt(2/ESS)
    rel = coef.var(0) / np.diag(cov) - 1
    assert np.all(np.abs(rel) <= z * np.sqrt(2 / ess))


@pytest.mark.statistical
def test_student_t_regression_nuts_matches_the_posterior_by_quadrature():
    """widths = (), one input, no bias, fixed scale σ: f = σ_w w x and the posterior of the one
    weight w ∝ N(w; 0, 1) Π t_ν((y_i − σ_w w x_i)/σ) is computed on a fine grid, outliers
    included. NUTS's mean is within z·sd/sqrt(ESS) and its variance within a relative
    z·sqrt((κ − 1)/ESS) (κ the exact kurtosis) of the exact ones, z at δ = 1e-3 (two checks)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=30)
    y = 0.7 * x + 0.3 * rng.standard_t(2.0, size=30)
    y[:3] += np.array([8.0, -6.0, 10.0])  # outliers
    df, noise, sigma_w = 3.0, 0.3, 1.5
    net = bm.MLP(in_dim=1, widths=(), sigma_w=sigma_w, sigma_b=0.0)
    mcmc = MCMC(NUTS(bnn_model), num_warmup=500, num_samples=4000, progress_bar=False)
    X = jnp.asarray(x[:, None])
    mcmc.run(
        jax.random.PRNGKey(1),
        net,
        X,
        jnp.asarray(y),
        likelihood="student_t",
        df=df,
        noise_std=noise,
    )
    w = np.asarray(mcmc.get_samples()["w_1"])[:, 0, 0]
    grid = np.linspace(-8, 8, 40001)
    log_post = stats.norm.logpdf(grid) + stats.t.logpdf(
        (y[None] - sigma_w * grid[:, None] * x[None]) / noise, df
    ).sum(1)
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    mean = np.sum(p * grid)
    var = np.sum(p * (grid - mean) ** 2)
    kurtosis = np.sum(p * (grid - mean) ** 4) / var**2
    from numpyro.diagnostics import effective_sample_size

    ess = float(effective_sample_size(w[None]))
    z = stats.norm.isf(DELTA / 2 / 2)
    assert abs(w.mean() - mean) <= z * math.sqrt(var / ess)
    assert abs(w.var() / var - 1) <= z * math.sqrt((kurtosis - 1) / ess)
    # the outliers barely move it: the posterior mean of the slope is near 0.7, not the
    # Gaussian likelihood's least-squares slope
    assert abs(sigma_w * mean - 0.7) < abs(np.sum(x * y) / np.sum(x * x) - 0.7)


def test_student_t_log_density_by_hand():
    """log p(y | θ) of the student_t model at fixed parameters is Σ_i log t_ν(y_i; f_i, σ)."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    net = bm.MLP(in_dim=2, widths=(3,), sigma_w=1.2, sigma_b=0.4, node_prior=P.Gamma())
    kwargs = dict(likelihood="student_t", df=2.5)
    X, y = jnp.asarray(X), jnp.asarray(y)
    draw = Predictive(bnn_model, num_samples=1)(jax.random.PRNGKey(2), net, X, X_monitor=X)
    f = np.asarray(draw.pop("f_monitor"))[0, :, 0]
    params = {k: v[0] for k, v in draw.items() if k != "y"}
    params["sigma"] = jnp.asarray(0.7)
    trace = handlers.trace(handlers.substitute(bnn_model, params)).get_trace(net, X, y, **kwargs)
    site = trace["y"]
    expected = stats.t.logpdf(np.asarray(y), 2.5, f, 0.7).sum()
    assert float(site["fn"].log_prob(site["value"]).sum()) == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="df must be in"):
        log_density(bnn_model, (net, X, y), dict(kwargs, df=0), params)


@pytest.mark.parametrize("width", [5, 12])  # Woodbury (n + 1 ≤ N = 7) and direct (n + 1 > N)
def test_collapsed_marginal_likelihood_equals_integrating_the_output_layer(width):
    """For fixed hidden parameters, the collapsed log density of y equals the Gaussian marginal
    computed by hand from the explicit model's output layer."""
    net = bm.MLP(
        in_dim=2,
        widths=(width,),
        out_dim=2,
        node_prior=P.Horseshoe(),
        sigma_w=1.2,
        sigma_b=0.7,
        activation="tanh",
    )
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, 2)), rng.normal(size=(7, 2))
    params = {
        "w_1": jnp.asarray(rng.normal(size=(2, width))),
        "b_1": jnp.asarray(rng.normal(size=width)),
        "scale_1": jnp.asarray(np.abs(rng.normal(size=width)) * 0.3),
    }
    lp, _ = log_density(bnn_model, (net, X, Y), dict(collapsed=True, noise_std=0.4), params)
    H = np.tanh(X @ (1.2 / math.sqrt(2) * np.asarray(params["w_1"])) + 0.7 * params["b_1"])
    lam = np.asarray(params["scale_1"]) ** 2
    cov = 0.7**2 + 1.2**2 * (H * lam) @ H.T + 0.4**2 * np.eye(7)
    prior_lp = (
        stats.norm.logpdf(params["w_1"]).sum()
        + stats.norm.logpdf(params["b_1"]).sum()
        + stats.halfcauchy(scale=1.0 / width).logpdf(params["scale_1"]).sum()
    )
    expected = prior_lp + sum(
        stats.multivariate_normal(np.zeros(7), cov).logpdf(Y[:, k]) for k in range(2)
    )
    assert float(lp) == pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_sites_and_shapes_for_every_prior_and_likelihood():
    X = jnp.asarray(np.random.default_rng(2).normal(size=(6, 3)))
    priors = (
        P.Horseshoe(),
        P.StableLike(0.5),
        P.GaussianMixture(spike=0.5, rate=2.0),
        P.Beta(),
        P.Gamma(),
        P.InverseGamma(),
        P.Deterministic(),
    )
    likelihoods = ("gaussian", "student_t", "bernoulli", "categorical")
    for i, prior in enumerate(priors):  # every prior, and every likelihood in turn
        net = bm.MLP(in_dim=3, widths=(4, 3), out_dim=3, node_prior=(prior, P.Horseshoe()))
        likelihood = likelihoods[i % len(likelihoods)]
        draws = Predictive(bnn_model, num_samples=2)(
            jax.random.PRNGKey(0), net, X, likelihood=likelihood, X_monitor=X[:2]
        )
        assert draws["lam_1"].shape == (2, 4) and draws["lam_2"].shape == (2, 3)
        assert draws["f_monitor"].shape == (2, 2, 3)
        assert draws["y"].shape == ((2, 6, 3) if likelihood in likelihoods[:2] else (2, 6))
        assert np.all(np.isfinite(draws["y"]))
    with pytest.raises(ValueError, match="likelihood must be one of"):
        Predictive(bnn_model, num_samples=1)(jax.random.PRNGKey(0), net, X, likelihood="poisson")


def test_node_mixture_log_prob():
    law = NodeMixture(0.1, 2.0, 0.2, (3, 4))
    v = jnp.asarray(np.random.default_rng(3).normal(size=(3, 4)))
    expected = np.logaddexp(
        np.log(0.8) + stats.norm(0, math.sqrt(0.1)).logpdf(v).sum(1),
        np.log(0.2) + stats.norm(0, math.sqrt(2.0)).logpdf(v).sum(1),
    )
    np.testing.assert_allclose(law.log_prob(v), expected, rtol=1e-10)
    assert law.sample(jax.random.PRNGKey(0), (5,)).shape == (5, 3, 4)
