"""Node scalings and the node-scaled network (DESIGN §13): exact formulas and the NTK at init."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bnn_mogp.priors import Deterministic, Horseshoe
from bnn_mogp.training import (
    NodeScaledNet,
    PriorScaling,
    Uniform,
    Zipf,
    empirical_ntk,
    init_params,
    limit_ntk,
    make_scaling,
    predict,
)


@pytest.mark.parametrize("alpha, gamma", [(0.7, 0.5), (0.5, 0.2), (0.4, 0.0), (2.0, 1.0)])
def test_zipf_scalings_follow_the_profile_and_sum_to_one(alpha, gamma):
    m = 2000
    lam = Zipf(alpha, gamma).scalings(m)
    assert lam.shape == (m,) and lam.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(lam) <= 0)
    if gamma < 1:  # the Zipf part is exactly proportional to j^(−1/α)
        j = np.arange(1, m + 1)
        ratio = (lam - gamma / m) / j ** (-1.0 / alpha)
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
        assert (lam[0] - gamma / m) == pytest.approx(
            (1 - gamma) / np.sum(j ** (-1.0 / alpha)), rel=1e-12
        )
    else:
        np.testing.assert_allclose(lam, Uniform().scalings(m), rtol=1e-15)


def test_prior_scalings_gaussian_is_uniform_and_heavy_tails_keep_big_nodes():
    key = jax.random.PRNGKey(0)
    np.testing.assert_allclose(
        PriorScaling(Deterministic(1.0)).scalings(500, key), np.full(500, 1 / 500), rtol=1e-12
    )
    # exchangeable: the first and the last node's scalings have the same law (two-sample KS,
    # false-failure rate 1e-3)
    draws = np.stack(
        [PriorScaling(Horseshoe(1.0)).scalings(50, k) for k in jax.random.split(key, 2000)]
    )
    assert np.allclose(draws.sum(1), 1.0)
    assert stats.ks_2samp(draws[:, 0], draws[:, -1]).pvalue > 1e-3
    # a heavy tail keeps O(1) nodes: the largest scaling does not shrink with m (its law
    # converges), while a Gaussian prior's is exactly 1/m
    largest = {
        m: np.array(
            [
                PriorScaling(Horseshoe(1.0)).scalings(m, k).max()
                for k in jax.random.split(jax.random.fold_in(key, m), 300)
            ]
        )
        for m in (1000, 10000)
    }
    assert stats.ks_2samp(largest[1000], largest[10000]).pvalue > 1e-3
    assert np.median(largest[10000]) > 0.1  # a Gaussian prior: exactly 1e-4


def test_scaling_errors():
    with pytest.raises(ValueError, match="zipf alpha must be in"):
        Zipf(0.0, 0.5)
    with pytest.raises(ValueError, match=r"zipf gamma must be in \[0, 1\]"):
        Zipf(0.5, 1.5)
    with pytest.raises(ValueError, match="unknown scaling 'pareto'; allowed: uniform, zipf"):
        make_scaling("pareto")
    with pytest.raises(ValueError, match="needs exactly alpha and gamma"):
        make_scaling("zipf", alpha=0.5)
    with pytest.raises(ValueError, match="needs a family"):
        make_scaling("prior")
    with pytest.raises(ValueError, match="pass an rng_key"):
        make_scaling("prior", family="horseshoe", scale=1.0).scalings(10)
    assert make_scaling("zipf", alpha=0.5, gamma=0.2) == Zipf(0.5, 0.2)


def _small_problem(dtype=jnp.float64):
    net = NodeScaledNet(in_dim=5, width=7, out_dim=2, activation="tanh")
    p = init_params(jax.random.PRNGKey(3), net, Zipf(0.5, 0.3), dtype)
    X = jax.random.normal(jax.random.PRNGKey(4), (4, 5), dtype)
    return net, p, X


def test_predict_is_the_formula_of_the_design():
    net, p, X = _small_problem()
    by_hand = (jnp.tanh(X @ p.w / math.sqrt(5)) * jnp.sqrt(p.lam)) @ p.u
    np.testing.assert_allclose(predict(net, p, X), by_hand, rtol=1e-13)
    assert set(np.unique(np.asarray(p.u))) == {-1.0, 1.0}


def test_empirical_ntk_is_the_jacobian_product():
    net, p, X = _small_problem()
    for k in range(2):
        jac = jax.jacrev(lambda w, k=k: predict(net, p._replace(w=w), X)[:, k])(p.w)  # (P, d, m)
        J = jac.reshape(X.shape[0], -1)
        np.testing.assert_allclose(empirical_ntk(net, p, X, output=k), J @ J.T, rtol=1e-12)


def test_relu_ntk_at_initialisation_matches_the_limit():
    """Each entry of Θ_0 is (x̃ᵀx̃') times the mean of m iid indicators in [0, 1] (λ = 1/m,
    u² = 1): Hoeffding with a union bound over the P² entries, false-failure rate 1e-6."""
    m, P, d = 20000, 8, 5
    net = NodeScaledNet(in_dim=d, width=m)
    X = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (P, d)))
    p = init_params(jax.random.PRNGKey(2), net, Uniform(), jnp.float64)
    got = np.asarray(empirical_ntk(net, p, jnp.asarray(X)))
    want = limit_ntk(net, X)
    gram = np.abs(X @ X.T) / d
    bound = gram * math.sqrt(math.log(2 * P * P / 1e-6) / (2 * m))
    assert np.all(np.abs(got - want) <= bound)
    # the closed form: (xᵀx'/d)(π − θ)/(2π)
    cos = np.clip(X @ X.T / np.outer(*[np.linalg.norm(X, axis=1)] * 2), -1, 1)
    np.testing.assert_allclose(
        want, X @ X.T / d * (np.pi - np.arccos(cos)) / (2 * np.pi), rtol=1e-7, atol=1e-12
    )
