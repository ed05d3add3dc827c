"""The network spec, its forward pass, and prior draws against the closed-form laws of DESIGN §4.5.

Each marginal check is a KS test at δ = 1e-3 on S = 4000 draws of f(x) from width-2000 networks;
at this size the test detects departures of about 0.03 in Kolmogorov distance. The finite-width
error at n = 2000 must stay below that; the node variances' row sums are within 0.01 of their
limit in Laplace transform at this width (tests/test_priors.py), and tests/test_theory.py checks
the same closed forms on the limit sampler itself.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from tests import reference_laws as ref
from tests.helpers import hoeffding_eps

DELTA = 1e-3
SIGMA_W = 1.3
X0 = 1.5  # one input in d = 1: k = Σ¹(x, x) = σ_w² x²


def marginal_draws(prior, width=2000, num=4000, seed=0):
    net = bm.MLP(
        in_dim=1,
        widths=(width,),
        out_dim=1,
        activation="relu",
        node_prior=prior,
        sigma_w=SIGMA_W,
        sigma_b=0.0,
    )
    return bm.sample_prior_functions(jax.random.PRNGKey(seed), net, np.array([[X0]]), num)[:, 0, 0]


def test_mlp_validation_messages():
    with pytest.raises(ValueError, match=r"widths\[1\] must be an integer >= 1, got 0"):
        bm.MLP(in_dim=2, widths=(3, 0))
    with pytest.raises(ValueError, match="unknown activation 'rlu'"):
        bm.MLP(in_dim=2, widths=(3,), activation="rlu")
    with pytest.raises(ValueError, match="sigma_w must be in"):
        bm.MLP(in_dim=2, widths=(3,), sigma_w=0.0)
    with pytest.raises(ValueError, match="2 priors but the network has 1 hidden layers"):
        bm.MLP(in_dim=2, widths=(3,), node_prior=(P.Horseshoe(), P.Beta()))
    with pytest.raises(ValueError, match="width must be > rate"):
        bm.MLP(in_dim=2, widths=(3,), node_prior=P.GaussianMixture(rate=4.0))
    with pytest.raises(ValueError, match="NodePrior"):
        bm.MLP(in_dim=2, widths=(3,), node_prior="horseshoe")
    net = bm.MLP(in_dim=3, widths=(4,))
    with pytest.raises(ValueError, match=r"X must have shape \(N, in_dim=3\), got \(5, 2\)"):
        bm.sample_prior_functions(jax.random.PRNGKey(0), net, np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match="NaN"):
        bm.sample_prior_functions(jax.random.PRNGKey(0), net, np.full((5, 3), np.nan), 2)
    with pytest.raises(ValueError, match="num_draws"):
        bm.sample_prior_functions(jax.random.PRNGKey(0), net, np.zeros((5, 3)), 0)


def test_spec_is_hashable_and_layers_get_their_priors():
    priors = (P.Horseshoe(), P.StableLike(0.3))
    net = bm.MLP(in_dim=2, widths=[5, 6], out_dim=3, node_prior=list(priors))
    assert net.widths == (5, 6) and net.node_priors == priors and net.depth == 2
    assert hash(net) == hash(bm.MLP(in_dim=2, widths=(5, 6), out_dim=3, node_prior=priors))
    assert net.with_width(9).widths == (9, 9)
    assert bm.MLP(in_dim=1, widths=(4, 4), node_prior=P.Beta()).node_priors == (P.Beta(),) * 2


def test_apply_matches_a_hand_written_forward_pass():
    net = bm.MLP(
        in_dim=3,
        widths=(4, 5),
        out_dim=2,
        activation="tanh",
        node_prior=(P.Horseshoe(), P.Gamma()),
        sigma_w=1.1,
        sigma_b=0.4,
    )
    params = bm.sample_params(jax.random.PRNGKey(1), net)
    X = np.random.default_rng(0).normal(size=(6, 3))
    W1, V1, V2 = (np.asarray(w) for w in params.weights)
    b1, b2, b3 = (np.asarray(b) for b in params.biases)
    l1, l2 = (np.asarray(lam) for lam in params.lams)
    h1 = np.tanh(X @ W1 + b1)
    h2 = np.tanh(h1 @ (np.sqrt(l1)[:, None] * V1) + b2)
    expected = h2 @ (np.sqrt(l2)[:, None] * V2) + b3
    np.testing.assert_allclose(bm.apply(net, params, X), expected, rtol=1e-12)
    assert W1.shape == (3, 4) and V1.shape == (4, 5) and V2.shape == (5, 2)
    assert l1.shape == (4,) and l2.shape == (5,)


def test_linear_network_has_no_hidden_layer():
    net = bm.MLP(in_dim=2, widths=(), out_dim=1, sigma_w=2.0, sigma_b=0.5)
    f = bm.sample_prior(jax.random.PRNGKey(0), net, np.array([[1.0, -1.0]]), 20000)
    assert f.max_lambda.shape == (20000, 0)
    # f = b + W·x with Var = σ_b² + σ_w² |x|²/d = 0.25 + 4
    assert stats.kstest(f.functions[:, 0, 0], stats.norm(scale=math.sqrt(4.25)).cdf).pvalue > DELTA


def test_draws_do_not_depend_on_chunk_size():
    net = bm.MLP(in_dim=1, widths=(30, 20), out_dim=2, node_prior=P.StableLike(0.5))
    X = np.linspace(-2, 2, 7)[:, None]
    a = bm.sample_prior(jax.random.PRNGKey(3), net, X, 13, chunk_size=4)
    b = bm.sample_prior(jax.random.PRNGKey(3), net, X, 13, chunk_size=13)
    np.testing.assert_allclose(a.functions, b.functions, rtol=1e-12)
    np.testing.assert_allclose(a.max_lambda, b.max_lambda, rtol=1e-12)
    assert a.functions.shape == (13, 7, 2) and a.max_lambda.shape == (13, 2)


@pytest.mark.statistical
def test_weights_have_the_stated_variances():
    net = bm.MLP(in_dim=4, widths=(300,), out_dim=300, sigma_w=1.7, sigma_b=0.3)
    params = bm.sample_params(jax.random.PRNGKey(2), net)
    for w, var in (
        (params.weights[0], 1.7**2 / 4),
        (params.weights[1], 1.7**2),
        (params.biases[0], 0.3**2),
    ):
        w = np.asarray(w).ravel()
        # sample variance of m normals: sd ≈ var sqrt(2/m); z = 3.29 ↔ δ = 1e-3
        assert abs(w.var() - var) <= 3.29 * var * math.sqrt(2 / w.size) * 1.01
    np.testing.assert_allclose(params.lams[0], 1 / 300)


@pytest.mark.parametrize(
    "case",
    [
        # the normal-gamma case draws 8·10⁶ Beta variances (one minute); the Beta family's
        # finite laws stay in the fast tier through tests/priors/test_families.py
        pytest.param(c, marks=pytest.mark.slow) if c == "normal_gamma" else c
        for c in ref.RELU_CLOSED_FORMS
    ],
)
@pytest.mark.statistical
def test_wide_relu_layer_output_matches_the_closed_form(case):
    prior, sigma_w, x0 = ref.RELU_CLOSED_FORMS[case]
    net = bm.MLP(in_dim=1, widths=(2000,), node_prior=prior, sigma_w=sigma_w)
    f = bm.sample_prior_functions(jax.random.PRNGKey(5), net, np.array([[x0]]), 4000)[:, 0, 0]
    cdf = ref.relu_output_cdf(prior, sigma_w, sigma_w**2 * x0**2)
    assert stats.kstest(f, cdf).pvalue > DELTA


@pytest.mark.statistical
def test_spike_and_slab_prior_output_has_an_atom_at_zero():
    n, kappa = 2000, 3.0
    f = marginal_draws(P.GaussianMixture(spike=0.0, slab=1.5, rate=kappa), width=n)
    finite = (1 - kappa / (2 * n)) ** n  # each node is slab w.p. κ/n and active w.p. ½
    limit = math.exp(-kappa / 2)
    assert abs(np.mean(f == 0.0) - limit) <= hoeffding_eps(f.size, DELTA) + abs(finite - limit)
    nonzero = f[f != 0.0]
    assert np.all(np.abs(nonzero) > 0)


def test_work_beyond_the_available_memory_is_refused_at_once(monkeypatch):
    """Issue 12: width 10⁷ grew to 8 GB before it was killed, without a word."""
    import bnn_mogp._memory as memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)  # a 1 GiB machine
    net = bm.MLP(in_dim=1, widths=(10**7,))
    X = np.zeros((61, 1))
    with pytest.raises(
        memory.InsufficientMemoryError,
        match=r"widths \[10000000\] at 61 inputs needs about .* GiB, but 1 GiB are available",
    ):
        bm.sample_prior(jax.random.PRNGKey(0), net, X, 10)
    with pytest.raises(ValueError, match=r"fitting a network with widths \[10000000\]"):
        bm.fit(net, X, np.zeros(61), num_warmup=10, num_samples=10)
    assert memory.available_bytes() == 2**30
    monkeypatch.undo()
    assert memory.available_bytes() > 2**20  # the real machine's, read from /proc/meminfo
