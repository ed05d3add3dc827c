"""Per-weight placement and α-stable limits (DESIGN §15): closed forms, the one-input scale
recursion, the spectral-measure joint law, and wide finite networks against all three.

Each statistical assertion holds with false-failure probability DELTA: KS critical values,
Hoeffding bounds on means of cos(u f) ∈ [−1, 1] (Bonferroni over the u's), the null law of
Spearman's correlation (|ρ| sqrt(n − 1) is asymptotically N(0, 1) under independence).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.stats import rank_corr_of_squares
from bnn_mogp.theory import (
    PerWeightLimit,
    check_moments,
    joint_log_cf,
    limit_of,
    nngp_kernel,
    one_input_log_cf,
    unit_laws,
)
from tests.helpers import hoeffding_eps

DELTA = 1e-3
X2 = np.array([[0.8, -0.5], [0.1, 0.4]])
DEEP_STABLE = (P.SymmetricStable(1.8), P.SymmetricStable(1.4))


def ks_critical(n: int, m: int | None = None) -> float:
    """KS critical value at level DELTA: one sample of n, or two samples of n and m."""
    eff = n if m is None else n * m / (n + m)
    return math.sqrt(-0.5 * math.log(DELTA / 2) / eff)


def cf_gap(f, log_cf, us):
    """max over u of |mean cos(u f) − exp(log_cf(u))| and its Hoeffding bound (Bonferroni)."""
    emp = np.cos(np.outer(us, f)).mean(1)
    return np.max(np.abs(emp - np.exp(log_cf))), hoeffding_eps(f.size, DELTA / len(us), 2.0)


def test_deterministic_prior_per_weight_is_the_per_node_network_and_the_nngp():
    """λ = c/n is the same whether placed per node or per weight: identical draws, and the
    per-weight limit is the NNGP kernel exactly (a GP layer fed by GP units is not pooled)."""
    kw = dict(in_dim=2, widths=(7, 9, 5), out_dim=2, activation="erf", sigma_w=1.2, sigma_b=0.4)
    node = bm.MLP(**kw, node_prior=P.Deterministic(1.3))
    weight = bm.MLP(**kw, node_prior=P.Deterministic(1.3), placement="weight")
    key = jax.random.PRNGKey(0)
    np.testing.assert_allclose(  # equal up to the order of the products sqrt(λ) h V
        bm.sample_prior_functions(key, node, X2, 5),
        bm.sample_prior_functions(key, weight, X2, 5),
        rtol=1e-12,
        atol=1e-14,
    )
    kernels, errors = PerWeightLimit(weight).sample_kernels(key, X2, 3, return_errors=True)
    np.testing.assert_allclose(kernels, np.broadcast_to(nngp_kernel(node, X2, X2), (3, 2, 2)))
    assert np.all(errors.pool_error == 0) and np.all(errors.truncation == 0)


@pytest.mark.statistical
def test_per_weight_horseshoe_gives_independent_cauchy_outputs():
    """One hidden ReLU layer, σ_b = 0, horseshoe(s) per weight: f(x) ~ Cauchy(0, s σ_w sqrt(k)/π)
    (k = σ_w²|x|²/d), finite (n = 2000) and limit; outputs independent (Spearman correlation of
    squares within its null band), while per node the same prior makes them clearly dependent."""
    s, sigma_w, n = 0.7, 1.3, 4000
    x = X2[:1]
    k = sigma_w**2 * float(x[0] @ x[0]) / 2
    cauchy = stats.cauchy(scale=s * sigma_w * math.sqrt(k) / math.pi)
    us = np.array([0.3, 1.0, 2.5])
    nets = {
        p: bm.MLP(2, (2000,), 2, "relu", P.Horseshoe(s), sigma_w=sigma_w, placement=p)
        for p in ("node", "weight")
    }
    np.testing.assert_allclose(
        one_input_log_cf(nets["weight"], x[0], us), -cauchy.kwds["scale"] * us, rtol=1e-8
    )
    band = stats.norm.isf(DELTA / 2) / math.sqrt(n - 1)
    finite = bm.sample_prior_functions(jax.random.PRNGKey(1), nets["weight"], x, n)
    limit = limit_of(nets["weight"]).sample_functions(jax.random.PRNGKey(2), x, n)
    for f in (finite, limit):
        assert stats.kstest(f[:, 0, 0], cauchy.cdf).statistic < ks_critical(n)
        assert abs(rank_corr_of_squares(f[:, 0, 0], f[:, 0, 1])) < band
    node = bm.sample_prior_functions(jax.random.PRNGKey(3), nets["node"], x, n)
    assert stats.kstest(node[:, 0, 0], cauchy.cdf).statistic < ks_critical(n)  # same marginal
    assert rank_corr_of_squares(node[:, 0, 0], node[:, 0, 1]) > 4 * band


def test_scale_recursion_closed_forms():
    """SαS weights of index α on the Gaussian first layer (variance k = σ_b² + σ_w²|x|²/d) and
    ReLU: s^α = σ_w^α E relu(Z)^α with
    E relu(Z)^α = k^{α/2} 2^{α/2} Γ((α+1)/2)/(2√π); SαS biases add σ_b^α; α = 2 is the Gaussian
    network of weight variance 2σ_w²/n (variance 2s² = σ_w² k)."""
    x = np.array([0.6, -1.1])
    for alpha in (0.9, 1.5):
        net = bm.MLP(2, (3,), 1, "relu", P.SymmetricStable(alpha), sigma_w=1.4, sigma_b=0.5,
                     placement="weight")  # fmt: skip
        k = 0.5**2 + 1.4**2 * float(x @ x) / 2  # Σ^(1)(x, x): the first layer is Gaussian
        moment = k ** (alpha / 2) * 2 ** (alpha / 2) * math.gamma((alpha + 1) / 2)
        moment /= 2 * math.sqrt(math.pi)
        law = unit_laws(net, x)[-1]
        assert law.alpha == alpha and law.gaussian_var == 0
        assert law.scale**alpha == pytest.approx(1.4**alpha * moment + 0.5**alpha, rel=1e-10)
    net = bm.MLP(2, (3,), 1, "relu", P.SymmetricStable(2.0), sigma_w=1.4, sigma_b=0.5,
                 placement="weight")  # fmt: skip
    law = unit_laws(net, x)[-1]
    k = 0.5**2 + 1.4**2 * float(x @ x) / 2
    assert law.gaussian_var + 2 * law.scale**2 == pytest.approx(1.4**2 * k + 2 * 0.5**2)


@pytest.mark.statistical
def test_deep_tanh_stable_weights_limit_sampler_matches_the_recursion():
    """Two hidden tanh layers, SαS weights with α = 1.8 then 1.4, SαS biases: the per-weight
    limit sampler's outputs have the recursion's characteristic function at two inputs; the
    outputs are independent."""
    net = bm.MLP(2, (5, 5), 2, "tanh", DEEP_STABLE, sigma_w=1.0, sigma_b=0.3, placement="weight")
    lim = PerWeightLimit(net, pool_size=512)
    f, errors = lim.sample_functions(jax.random.PRNGKey(4), X2, 4000, return_errors=True)
    us = np.array([0.3, 1.0, 3.0])
    for i in range(2):
        gap, bound = cf_gap(f[:, i, 0], one_input_log_cf(net, X2[i], us), us)
        assert gap < bound
    assert errors.pool_size == 512 and errors.pool_error[0] == 0 and 0 < errors.pool_error[1] < 0.05
    assert errors.truncation.shape == (4000, 1) and 0 < errors.truncation.mean() < 0.1
    assert abs(rank_corr_of_squares(f[:, 0, 0], f[:, 0, 1])) < stats.norm.isf(DELTA / 2) / 63


@pytest.mark.slow
@pytest.mark.statistical
def test_deep_tanh_stable_weights_finite_width_1000_matches_the_recursion():
    """The same network at width 1000 (CMS weights): the recursion's characteristic function."""
    net = bm.MLP(2, (1000, 1000), 1, "tanh", DEEP_STABLE, sigma_w=1.0, sigma_b=0.3,
                 placement="weight")  # fmt: skip
    f = bm.sample_prior_functions(jax.random.PRNGKey(5), net, X2[:1], 1000)[:, 0, 0]
    us = np.array([0.3, 1.0, 3.0])
    gap, bound = cf_gap(f, one_input_log_cf(net, X2[0], us), us)
    assert gap < bound


@pytest.mark.statistical
def test_joint_law_at_two_inputs_is_the_spectral_measure_formula():
    """One hidden tanh layer, SαS(1.5) output weights and biases: the joint characteristic
    function of (f(x₁), f(x₂)) of a width-1000 network and of the limit sampler against
    −σ_b^α|u₁+u₂|^α − σ_w^α E|u₁φ(Z₁) + u₂φ(Z₂)|^α, Z ~ GP(0, Σ^(1)) (Favaro et al. 2020)."""
    net = bm.MLP(2, (1000,), 1, "tanh", P.SymmetricStable(1.5), sigma_w=1.3, sigma_b=0.2,
                 placement="weight")  # fmt: skip
    U = np.array([[0.5, 0.5], [1.0, -1.0], [2.0, 0.3], [-0.4, 1.5]])
    K1 = np.asarray(bm.nn.first_layer_kernel(net, X2, X2))
    units = np.random.default_rng(0).multivariate_normal(np.zeros(2), K1, size=400000)
    log_cf, se = joint_log_cf(net, U, units)
    assert np.all(se < 2e-3)
    n = 20000
    finite = bm.sample_prior_functions(jax.random.PRNGKey(6), net, X2, n)[..., 0]
    limit = limit_of(net).sample_functions(jax.random.PRNGKey(7), X2, n)[..., 0]
    bound = hoeffding_eps(n, DELTA / len(U), 2.0) + 4 * float(se.max())
    for f in (finite, limit):
        emp = np.cos(f @ U.T).mean(0)
        np.testing.assert_array_less(np.abs(emp - np.exp(log_cf)), bound)


def test_finite_moment_rule_refuses_the_log_corrected_regime():
    relu = dict(in_dim=2, out_dim=1, activation="relu", placement="weight")
    ok = bm.MLP(widths=(4, 4), node_prior=(P.SymmetricStable(1.5), P.SymmetricStable(1.2)), **relu)
    assert check_moments(ok) == (math.inf, 1.5, 1.2)
    bad = bm.MLP(widths=(4, 4), node_prior=P.SymmetricStable(1.5), **relu)
    with pytest.raises(ValueError, match=r"E\|φ\(Z_2\)\|\^γ < ∞ with γ = 1.5 for the weights of "
                       r"layer 3 .*tail index α_2 = 1.5.*α_3 < α_2"):  # fmt: skip
        PerWeightLimit(bad)
    with pytest.raises(ValueError, match="layer 3"):
        one_input_log_cf(bad, X2[0], [1.0])
    horseshoe = bm.MLP(widths=(4, 4), node_prior=P.Horseshoe(), **relu)
    with pytest.raises(ValueError, match="γ = 1 "):
        check_moments(horseshoe)
    # a bounded activation has every moment
    assert check_moments(bm.MLP(2, (4, 4), 1, "tanh", P.Horseshoe(), placement="weight")) == (
        math.inf,
        1.0,
        1.0,
    )
    with pytest.raises(ValueError, match="use bnn_mogp.theory.PerWeightLimit"):
        bm.theory.MoGP(ok)
    mixed = bm.MLP(2, (4, 4), 1, "tanh", P.Horseshoe(), placement=("node", "weight"))
    with pytest.raises(ValueError, match="every hidden layer but the last placed per weight"):
        limit_of(mixed)
