"""Infinite-width theory: kernels against independent recursions, the MoGP sampler against the
closed forms of DESIGN §4.5, and finite networks against their limits.

Statistical assertions hold with false-failure probability DELTA each (KS / two-sample KS
p-values, Hoeffding bounds, or z-scores with standard errors from influence functions).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.theory import MoGP, nngp_kernel, ntk_kernel
from tests import reference_laws as ref
from tests.helpers import hoeffding_eps
from tests.reference_gauss import reference_1d

DELTA = 1e-3
Z = stats.norm.isf(DELTA / 2)  # 3.29
SIGMA_W, X0 = 1.3, 1.5
K0 = SIGMA_W**2 * X0**2  # Σ¹(x0, x0) for d = 1, σ_b = 0


def key(i):
    return jax.random.PRNGKey(i)


def one_layer(prior, sigma_w=SIGMA_W, width=2000, out_dim=1):
    return bm.MLP(in_dim=1, widths=(width,), out_dim=out_dim, node_prior=prior, sigma_w=sigma_w)


def limit_marginal(prior, num=4000, seed=0, sigma_w=SIGMA_W, x0=X0):
    f = MoGP(one_layer(prior, sigma_w)).sample_functions(key(seed), np.array([[x0]]), num)
    return f[:, 0, 0]


def kurtosis_and_se(f):
    """m4/m2² of a zero-mean sample and its standard error from the influence function."""
    x = f / np.sqrt(np.mean(f**2))
    k = np.mean(x**4)
    influence = (x**4 - k) - 2 * k * (x**2 - 1)
    return k, influence.std() / math.sqrt(x.size)


def corr_and_se(u, v):
    """Pearson correlation and its influence-function standard error ũṽ − r(ũ² + ṽ²)/2."""
    r = np.corrcoef(u, v)[0, 1]
    u, v = (u - u.mean()) / u.std(), (v - v.mean()) / v.std()
    return r, np.std(u * v - r * (u**2 + v**2) / 2) / math.sqrt(u.size)


# ---------------------------------------------------------------------------------------------
# kernels


def reference_kernels(net, X, ntk=False):
    """The NNGP / NTK recursion with every Gaussian expectation by 1-D SciPy quadrature."""
    a = [p.limit().drift for p in net.node_priors]
    K = net.sigma_b**2 + net.sigma_w**2 * X @ X.T / net.in_dim
    theta = K.copy()
    for drift in a:
        nxt, dot = np.empty_like(K), np.zeros_like(K)
        for i in range(len(X)):
            for j in range(len(X)):
                c = np.clip(K[i, j] / math.sqrt(K[i, i] * K[j, j]), -1, 1)
                nxt[i, j] = reference_1d(net.activation, K[i, i], K[j, j], c)
                if ntk:
                    dot[i, j] = reference_1d("step", K[i, i], K[j, j], c)  # relu′ = step
        new_K = net.sigma_b**2 + net.sigma_w**2 * drift * nxt
        theta = new_K + net.sigma_w**2 * drift * dot * theta
        K = new_K
    return theta if ntk else K


X_SMALL = np.array([[1.0, 0.5], [-0.3, 1.2], [0.8, -0.9], [0.0, 0.0]])


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_nngp_matches_quadrature_recursion(activation):
    net = bm.MLP(
        in_dim=2,
        widths=(5, 5, 5),
        activation=activation,
        sigma_w=1.4,
        sigma_b=0.3,
        node_prior=(P.Deterministic(1.2), P.InverseGamma(3.0, 0.7), P.Deterministic()),
    )
    np.testing.assert_allclose(
        nngp_kernel(net, X_SMALL), reference_kernels(net, X_SMALL), rtol=1e-8, atol=1e-10
    )


def test_ntk_matches_quadrature_recursion():
    net = bm.MLP(in_dim=2, widths=(5, 5), activation="relu", sigma_w=1.2, sigma_b=0.4)
    np.testing.assert_allclose(
        ntk_kernel(net, X_SMALL), reference_kernels(net, X_SMALL, True), rtol=1e-8, atol=1e-10
    )


def test_kernels_blocked_cross_and_symmetric():
    rng = np.random.default_rng(0)
    X1, X2 = rng.normal(size=(9, 3)), rng.normal(size=(5, 3))
    net = bm.MLP(in_dim=3, widths=(4, 4), activation="gelu", sigma_w=1.1, sigma_b=0.2)
    for fn in (nngp_kernel, ntk_kernel):
        full = fn(net, np.vstack([X1, X2]))
        np.testing.assert_allclose(fn(net, X1, X2, block_size=2), full[:9, 9:], rtol=1e-12)
        np.testing.assert_allclose(full, full.T, rtol=1e-12)
        assert np.all(np.linalg.eigvalsh(full) > -1e-10)
        assert full.dtype == np.float64


def test_tanh_nngp_is_exactly_symmetric_and_psd():
    """Issue 12: the one-layer tanh NNGP on 31 inputs was asymmetric (2.9e-5) and indefinite
    (−7.3e-7); now symmetric bit for bit, and PSD up to the rule's error at these variances
    (≤ 10): eigenvalues ≥ −1e-13 × the largest."""
    X = np.linspace(-3, 3, 31)[:, None]
    for widths in ((10,), (10, 10)):
        for sigma in (0.5, 1.0):
            net = bm.MLP(in_dim=1, widths=widths, activation="tanh", sigma_w=sigma, sigma_b=1.0)
            for fn in (nngp_kernel, ntk_kernel):
                K = fn(net, X)
                np.testing.assert_array_equal(K, K.T)
                eig = np.linalg.eigvalsh(K)
                assert eig[0] >= -1e-13 * eig[-1], (widths, sigma, eig[0])


HEAVY_DEEP = {
    "horseshoe": P.Horseshoe(),
    "stable": P.StableLike(alpha=0.5),
    "inverse_gamma": P.InverseGamma(shape=1.5, c=1.0),
    "gaussian_mixture": P.GaussianMixture(spike=0.5, slab=2.0, rate=3.0),
    "beta": P.Beta(eta=1.5),
    "gamma": P.Gamma(c=2.0, rate=1.5),
}


@pytest.mark.parametrize(
    "activation, prior",
    [("tanh", name) for name in HEAVY_DEEP]
    + [(a, "horseshoe") for a in sorted(bm.nn.ACTIVATIONS) if a != "tanh"],
)
def test_limit_draws_are_all_finite(activation, prior):
    """Issue 12: two-layer tanh limits returned NaN draws (20 % for the horseshoe, dropped
    silently by the prior check). Every draw is now finite, for every activation and prior."""
    X = np.linspace(-3, 3, 21)[:, None]
    net = bm.MLP(in_dim=1, widths=(10, 10), activation=activation, node_prior=HEAVY_DEEP[prior])
    f = MoGP(net).sample_functions(key(0), X, 200, num_jumps=32)
    assert np.all(np.isfinite(f))


def test_non_finite_draws_are_counted_and_refused():
    from bnn_mogp.theory.mogp import MAX_NONFINITE_RATE, check_finite_draws

    values = np.zeros((2000, 3))
    values[0, 1] = np.nan
    with pytest.warns(bm.theory.NonFiniteDrawsWarning, match="1 of 2000 are not finite"):
        out = check_finite_draws(values, "MoGP function")
    assert out is values or np.isnan(out[0, 1])  # returned unchanged, not dropped
    values[1:3, 0] = np.inf
    assert 3 > MAX_NONFINITE_RATE * 2000
    with pytest.raises(FloatingPointError, match="3 of 2000 are not finite.*more than"):
        check_finite_draws(values, "MoGP function")


def test_kernels_refuse_non_gaussian_limits_and_step_ntk():
    net = bm.MLP(in_dim=1, widths=(4, 4), node_prior=(P.Deterministic(), P.Horseshoe()))
    with pytest.raises(ValueError, match="hidden layer 2 .*Horseshoe.*MoGP"):
        nngp_kernel(net, np.zeros((2, 1)))
    with pytest.raises(ValueError, match="step"):
        ntk_kernel(bm.MLP(in_dim=1, widths=(4,), activation="step"), np.ones((2, 1)))


@pytest.mark.statistical
def test_wide_gaussian_networks_converge_to_the_nngp():
    """Two hidden ReLU layers: the output's excess kurtosis (0 for the NNGP) shrinks as the width
    doubles, each step by more than Z standard errors, and the covariance at width 64 is within
    Z standard errors plus the width-32 → 64 change of the NNGP kernel."""
    net = bm.MLP(in_dim=2, widths=(8, 8), activation="relu", sigma_w=1.5, sigma_b=0.5)
    X = np.array([[1.0, 0.5], [-0.3, 1.2]])
    excess = []
    for n in (4, 8, 16, 32):
        f = bm.sample_prior_functions(key(n), net.with_width(n), X[:1], 100_000)[:, 0, 0]
        k, se = kurtosis_and_se(f)
        excess.append((k - 3, se))
    for (e1, s1), (e2, s2) in zip(excess[:-1], excess[1:], strict=True):
        assert e1 - e2 > Z * math.hypot(s1, s2), excess
    assert excess[-1][0] > 0


# ---------------------------------------------------------------------------------------------
# the MoGP limit against DESIGN §4.5 (one hidden ReLU layer, σ_b = 0)


@pytest.mark.parametrize("case", list(ref.RELU_CLOSED_FORMS))
@pytest.mark.statistical
def test_limit_of_one_relu_layer_matches_the_closed_form(case):
    prior, sigma_w, x0 = ref.RELU_CLOSED_FORMS[case]
    f = limit_marginal(prior, sigma_w=sigma_w, x0=x0)
    assert stats.kstest(f, ref.relu_output_cdf(prior, sigma_w, sigma_w**2 * x0**2)).pvalue > DELTA


@pytest.mark.statistical
def test_limit_spike_and_slab_atom():
    kappa = 3.0
    f = limit_marginal(P.GaussianMixture(spike=0.0, slab=1.5, rate=kappa), num=20000)
    assert abs(np.mean(f == 0.0) - math.exp(-kappa / 2)) <= hoeffding_eps(f.size, DELTA)


@pytest.mark.parametrize(
    "prior, jump_var",
    [
        # ∫ w² ρ(dw): Gamma: c/β²; spike-and-slab: κ slab²
        (P.Gamma(c=2.0, rate=1.5), 2.0 / 1.5**2),
        (P.GaussianMixture(spike=0.5, slab=2.0, rate=1.5), 1.5 * 2.0**2),
    ],
    ids=["gamma", "gaussian_mixture"],
)
@pytest.mark.statistical
def test_limit_correlation_of_squares_and_kurtosis(prior, jump_var):
    """Σ = σ_w²(a E relu² + Σ θ_m relu(Z_m)²): EΣ = σ_w² m k/2, VarΣ = σ_w⁴ ∫w²ρ · 3k²/2."""
    lim = prior.limit()
    mean = SIGMA_W**2 * lim.mean() * K0 / 2
    var = SIGMA_W**4 * jump_var * 1.5 * K0**2
    net = one_layer(prior, out_dim=2)
    # 64 jumps: the gamma process's jumps decay like e^{−Γ_m/c}, so θ_64 ≈ e^{−32}/β
    f = MoGP(net).sample_functions(key(3), np.array([[X0]]), 40_000, num_jumps=64)[:, 0, :]
    r, se_r = corr_and_se(f[:, 0] ** 2, f[:, 1] ** 2)
    assert abs(r - var / (3 * var + 2 * mean**2)) <= Z * se_r
    k, se_k = kurtosis_and_se(f[:, 0])
    assert abs(k - 3 * (1 + var / mean**2)) <= Z * se_k


@pytest.mark.statistical
def test_mean_kernel():
    """E[Σ^(L+1) | Σ^(L)] = σ_b² + σ_w² m_L E_φ(Σ^(L)); with a Gaussian first layer Σ^(2) = K²."""
    X = np.array([[1.0], [-0.5], [2.0]])
    first = P.Deterministic(c=1.3)
    prior = P.Gamma(c=2.0, rate=1.5)
    net = bm.MLP(
        in_dim=1,
        widths=(4, 4),
        activation="erf",
        sigma_w=1.2,
        sigma_b=0.4,
        node_prior=(first, prior),
    )
    K2 = nngp_kernel(
        bm.MLP(in_dim=1, widths=(4,), activation="erf", sigma_w=1.2, sigma_b=0.4, node_prior=first),
        X,
    )
    d = np.diag(K2)
    expected = 0.4**2 + 1.2**2 * prior.limit().mean() * np.asarray(
        net.phi.expectation(d[:, None], K2, d[None, :])
    )
    draws = MoGP(net).sample_kernels(key(4), X, 10_000, num_jumps=64)
    se = draws.std(0) / math.sqrt(len(draws))
    z = stats.norm.isf(DELTA / 2 / expected.size)  # Bonferroni over the entries
    assert np.all(np.abs(draws.mean(0) - expected) <= z * se)


@pytest.mark.slow
@pytest.mark.statistical
def test_two_hidden_layers_finite_width_1000_matches_the_limit():
    """Two-sample KS (δ = 1e-3 each) on the marginal f_1(x) and on f_1(x) f_2(x')."""
    net = bm.MLP(
        in_dim=1,
        widths=(1000, 1000),
        out_dim=2,
        activation="relu",
        sigma_w=1.2,
        sigma_b=0.3,
        node_prior=(
            P.GaussianMixture(spike=0.5, slab=1.0, rate=2.0),
            P.StableLike(alpha=0.6, eta=1.0),
        ),
    )
    X = np.array([[0.7], [-1.2]])
    finite = bm.sample_prior_functions(key(5), net, X, 1000)
    limit = MoGP(net).sample_functions(key(6), X, 1000)
    for stat in (lambda f: f[:, 0, 0], lambda f: f[:, 0, 0] * f[:, 1, 1]):
        assert stats.ks_2samp(stat(finite), stat(limit)).pvalue > DELTA


def test_truncation_error_is_reported_and_shrinks():
    net = bm.MLP(
        in_dim=1, widths=(10, 10), node_prior=(P.StableLike(alpha=0.5), P.GaussianMixture(rate=2.0))
    )
    lim = MoGP(net)
    coarse = lim.truncation_error(key(0), num_draws=400, num_jumps=16)
    fine = lim.truncation_error(key(0), num_draws=400, num_jumps=1024)
    assert coarse[1] == fine[1] == 0.0  # finite measure: exact jumps
    assert 0 < fine[0] < coarse[0] < 1
    draws = lim.sample_kernels(key(1), np.ones((3, 1)), 5, num_jumps=16, return_truncation=True)
    assert draws.kernels.shape == (5, 3, 3) and draws.truncation.shape == (5, 2)
    assert np.all(draws.truncation[:, 1] == 0) and np.all(draws.truncation[:, 0] > 0)


def test_exact_jumps_for_finite_measures_are_never_cut():
    """Spike-and-slab with κ = 40: room for the 1 − 1e-15 quantile of Poisson(40) jumps."""
    lim = MoGP(bm.MLP(in_dim=1, widths=(50,), node_prior=P.GaussianMixture(rate=40.0)))
    (M,) = lim.num_jumps(8)
    assert M > stats.poisson(40.0).isf(1e-15)


def test_gaussian_limit_kernels_are_the_nngp():
    net = bm.MLP(in_dim=2, widths=(5, 5), activation="tanh", sigma_w=1.1, sigma_b=0.2)
    draws = MoGP(net).sample_kernels(key(0), X_SMALL, 3)
    for K in draws:
        np.testing.assert_allclose(K, nngp_kernel(net, X_SMALL), rtol=1e-12)
    f = MoGP(net).sample_functions(key(0), X_SMALL, 7, num_outputs=3)
    assert f.shape == (7, 4, 3) and MoGP(net).gaussian
