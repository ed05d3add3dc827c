"""Pruning: exact node removal, agreement with the model's own predictions, and the
compressibility laws of DESIGN §4.5 on prior networks."""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import numpy as np
import pytest
from numpyro.infer import Predictive
from scipy import integrate, special

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp import pruning
from bnn_mogp.inference import make_inference_data, posterior_functions
from bnn_mogp.model import bnn_model, latent_sites
from bnn_mogp.nn import Params, apply

NETS = {
    "horseshoe_stable_2_layers": (
        bm.MLP(
            in_dim=3,
            widths=(7, 5),
            activation="tanh",
            node_prior=(P.Horseshoe(), P.StableLike(0.6)),
            sigma_b=0.5,
        ),
        "gaussian",
    ),
    "spike_and_slab": (
        bm.MLP(in_dim=3, widths=(6,), node_prior=P.GaussianMixture(0.5, 1, 2), sigma_b=1.0),
        "bernoulli",
    ),
    "gaussian_prior": (
        bm.MLP(in_dim=3, widths=(8,), out_dim=3, node_prior=P.Deterministic()),
        "categorical",
    ),
}


def prior_idata(net, likelihood, num=12, seed=0):
    """An InferenceData whose 'posterior' holds prior draws of the model's sites (2 × num/2)."""
    X = np.zeros((1, net.in_dim))
    with jax.enable_x64(True):
        draws = Predictive(bnn_model, num_samples=num)(
            jax.random.PRNGKey(seed), net, X, None, likelihood=likelihood
        )
    keep = [*latent_sites(net, X, likelihood=likelihood)]
    keep += [k for k in draws if k.startswith("lam_")]
    post = {k: np.asarray(draws[k]).reshape((2, num // 2) + draws[k].shape[1:]) for k in set(keep)}
    attrs = {"likelihood": likelihood, "method": "nuts", "network": json.dumps(net.to_dict())}
    return make_inference_data(posterior=post, attrs=attrs)


def model_functions(idata, net, likelihood, X):
    """f at X of every 'posterior' draw, by the NumPyro model itself (its ``f_monitor``)."""
    post = idata.posterior
    names = latent_sites(net, X, likelihood=likelihood)
    draws = {k: np.asarray(post[k]).reshape((-1,) + post[k].shape[2:]) for k in names}
    with jax.enable_x64(True):
        out = Predictive(bnn_model, posterior_samples=draws, return_sites=["f_monitor"])(
            jax.random.PRNGKey(0), net, X[:1], None, X_monitor=X, likelihood=likelihood
        )
    return np.asarray(out["f_monitor"])


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n == "horseshoe_stable_2_layers" else n
        for n in NETS
    ],
)
def test_unpruned_draws_reproduce_the_model_and_zero_fraction_changes_nothing(name):
    net, likelihood = NETS[name]
    idata = prior_idata(net, likelihood)
    X = np.random.default_rng(0).normal(size=(9, net.in_dim))
    f_model = model_functions(idata, net, likelihood, X)
    params, importance = pruning.network_draws(idata)
    np.testing.assert_array_equal(
        posterior_functions(idata, X)[0], pruning.pruned_functions(params, net, X)
    )
    masks = pruning.keep_masks(importance, 0.0)
    assert all(m.all() for m in masks)
    np.testing.assert_allclose(
        pruning.pruned_functions(params, net, X), f_model, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(
        pruning.pruned_functions(params, net, X, masks), pruning.pruned_functions(params, net, X)
    )


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.9])
def test_pruning_removes_exactly_the_least_important_nodes(name, fraction):
    """⌊p n⌋ nodes per layer and draw, those of smallest importance; the pruned network equals
    the smaller network with those nodes deleted."""
    net, likelihood = NETS[name]
    idata = prior_idata(net, likelihood)
    params, importance = pruning.network_draws(idata)
    masks = pruning.keep_masks(importance, fraction)
    X = np.random.default_rng(1).normal(size=(5, net.in_dim))
    f_pruned = pruning.pruned_functions(params, net, X, masks)
    for imp, mask, n in zip(importance, masks, net.widths, strict=True):
        removed = math.floor(fraction * n + 1e-9)
        assert (~mask).sum(-1).tolist() == [removed] * mask.shape[0]
        # every removed node is no more important than every kept node
        assert np.all(np.where(~mask, imp, -np.inf).max(-1) <= np.where(mask, imp, np.inf).min(-1))
    for s in range(3):  # delete the nodes for real
        keep = [np.flatnonzero(m[s]) for m in masks]
        weights = [np.asarray(params.weights[0][s])[:, keep[0]]]
        biases = [np.asarray(params.biases[0][s])[keep[0]]]
        lams = []
        for l in range(1, net.depth + 1):
            rows = keep[l - 1]
            cols = keep[l] if l < net.depth else slice(None)
            weights.append(np.asarray(params.weights[l][s])[rows][:, cols])
            biases.append(np.asarray(params.biases[l][s])[cols])
            lams.append(np.asarray(params.lams[l - 1][s])[rows])
        small = dataclasses.replace(
            net, widths=tuple(len(k) for k in keep), node_prior=P.Deterministic()
        )  # apply reads no prior
        with jax.enable_x64(True):
            f_small = apply(small, Params(tuple(weights), tuple(biases), tuple(lams)), X)
        np.testing.assert_allclose(f_pruned[s], f_small, rtol=1e-10, atol=1e-12)


def test_bad_fractions_and_thresholds_are_refused():
    with pytest.raises(ValueError, match=r"in \[0, 1\), got 1.0"):
        pruning.keep_masks((np.ones((2, 3)),), 1.0)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        pruning.threshold_masks((np.ones((2, 3)),), -1.0)


# -- compressibility of prior networks (DESIGN §4.5) ---------------------------------------------

WIDTH = 1000
NUM_DRAWS = 4000
Z = 4.0  # two-sided normal quantile: false-failure rate 6e-5 per comparison


def prior_pruning_errors(prior, eps, seed=0):
    """(f − f_ε)² per prior draw at x = 1 for a one-hidden-layer ReLU network (d = 1, σ_w = 1,
    σ_b = 0), pruning every node with λ < ε: array (len(eps), S)."""
    net = bm.MLP(in_dim=1, widths=(WIDTH,), node_prior=prior)
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.PRNGKey(seed), NUM_DRAWS)
        params = jax.vmap(lambda k: bm.sample_params(k, net))(keys)
    X = np.ones((1, 1))
    f = pruning.pruned_functions(params, net, X)[:, 0, 0]
    lam = pruning.node_variances(params, net)
    out = []
    for e in eps:
        f_e = pruning.pruned_functions(params, net, X, pruning.threshold_masks(lam, e))
        out.append((f - f_e[:, 0, 0]) ** 2)
    return np.array(out)


@pytest.mark.statistical
def test_stable_like_pruning_error_vanishes_like_eps_to_one_minus_alpha():
    """E(f − f_ε)² = σ_w² E[relu(Z)²] n E[λ 1{λ < ε}] = ½ αη/Γ(1−α) ∫₀^ε w^{−α}(1 − e^{−t_n w})dw
    exactly at width n (relu(Z)² has mean ½ for Z ~ N(0, 1)). It differs from the limit
    ½ ∫₀^ε w ρ(dw) ∝ ε^{1−α} of DESIGN §4.5 by at most ½ αη t_n^{α−1} (from the e^{−t_n w} term;
    t_n = n² here, so 2.5e-4), which bends the exact log-log slope on ε ∈ [1e-3, 1] away from
    1 − α by less than 0.02. Checks: each Monte Carlo mean within Z standard errors of the exact
    value; the fitted slope within Z standard errors (propagated from the means, taken as
    independent) of the exact slope."""
    alpha, eta = 0.5, 1.0
    prior = P.StableLike(alpha, eta)
    eps = np.geomspace(1e-3, 1.0, 4)
    sq = prior_pruning_errors(prior, eps)
    mean = sq.mean(1)
    se = sq.std(1, ddof=1) / math.sqrt(NUM_DRAWS)
    t_n = (WIDTH / eta) ** (1 / alpha)
    const = alpha * eta / special.gamma(1 - alpha)

    def exact(e):
        value, _ = integrate.quad(
            lambda w: w**-alpha * -np.expm1(-t_n * w), 0, e, limit=200, points=[10 / t_n]
        )
        return 0.5 * const * value

    expected = np.array([exact(e) for e in eps])
    bias = 0.5 * alpha * eta * t_n ** (alpha - 1)
    assert np.all(np.abs(0.5 * pruning.removed_mass_limit(prior, eps) - expected) <= bias * 1.001)
    assert np.all(np.abs(mean - expected) <= Z * se), (mean, expected, se)
    x = np.log(eps) - np.log(eps).mean()
    slope = np.sum(x * np.log(mean)) / np.sum(x**2)
    slope_se = math.sqrt(np.sum((x / np.sum(x**2)) ** 2 * (se / mean) ** 2))
    exact_slope = np.sum(x * np.log(expected)) / np.sum(x**2)
    assert abs(exact_slope - (1 - alpha)) < 0.02
    assert abs(slope - exact_slope) <= Z * slope_se, (slope, exact_slope, slope_se)


@pytest.mark.statistical
def test_deterministic_prior_has_no_compressibility():
    """λ ≡ c/n: pruning at any ε > c/n removes every node, so E(f − f_ε)² = c σ_w² E[relu²] = c/2
    — the whole output variance, however small ε, as a + ∫₀^ε wρ = a = c says in the limit;
    and pruning by fraction p removes the share p of node variance a priori (the prior share
    curve is the diagonal)."""
    c = 2.0
    prior = P.Deterministic(c)
    eps = np.array([1e-2, 1e-1])  # both > c/n = 2e-3
    sq = prior_pruning_errors(prior, eps)
    se = sq.std(1, ddof=1) / math.sqrt(NUM_DRAWS)
    assert np.all(np.abs(sq.mean(1) - c / 2) <= Z * se)
    np.testing.assert_allclose(pruning.removed_mass_limit(prior, eps), c)
    fractions = [0.0, 0.25, 0.5, 0.9]
    np.testing.assert_allclose(
        pruning.prior_removed_share(prior, 20, fractions, num_draws=10), fractions, rtol=1e-12
    )
    # a heavy-tailed prior at the same width keeps most of its node variance in few nodes
    share = pruning.prior_removed_share(P.StableLike(0.5), 20, [0.9], num_draws=2000)
    assert share[0] < 0.5


def test_threshold_curve_and_mass_limit_agree_with_the_stable_law():
    """Σ λ 1{λ<ε} sums exactly the small nodes; the limit's a + ∫₀^ε wρ equals the closed
    form αη ε^{1−α} / ((1−α) Γ(1−α)) for an untempered StableLike."""
    lam = np.array([[0.1, 0.5, 0.01, 2.0]])
    np.testing.assert_allclose(
        pruning.threshold_curve(lam, [0.05, 0.2, 1.0, 3.0])[:, 0], [0.01, 0.11, 0.61, 2.61]
    )
    alpha, eta = 0.3, 1.7
    eps = np.array([1e-3, 0.5])
    closed = alpha * eta * eps ** (1 - alpha) / ((1 - alpha) * special.gamma(1 - alpha))
    np.testing.assert_allclose(
        pruning.removed_mass_limit(P.StableLike(alpha, eta), eps), closed, rtol=1e-10
    )


def test_removable_fraction_needs_a_small_loss_not_only_a_large_standard_error():
    """Issue 12: the report said "up to 90 % removable" while the test log predictive density
    fell from −24.7 to −33.3 per point (a few points changed a lot, so the paired standard
    error was large)."""
    import pandas as pd

    from bnn_mogp.pruning import max_fraction_within_se

    curve = pd.DataFrame(
        {
            "fraction": [0.0, 0.3, 0.6, 0.9],
            "lpd_change": [0.0, -0.02, -3.0, -8.6],
            "lpd_change_se": [0.0, 0.03, 2.0, 5.0],
        }
    )
    assert max_fraction_within_se(curve) == 0.3  # -3.0 is within 2 se but not small
    assert max_fraction_within_se(curve, max_loss=10.0) == 0.9  # the old criterion
    curve.loc[1, "lpd_change"] = -0.07  # within 2 se, above 0.05 nats: not removable
    assert max_fraction_within_se(curve) == 0.0
