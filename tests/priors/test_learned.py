"""Learned hyper-parameters of node priors (DESIGN §16): StableLike's α under a Beta prior, the
horseshoe's global scale under a half-Cauchy prior."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer import Predictive
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.model import bnn_model
from bnn_mogp.priors.stable import StableLikeWidth

DELTA = 1e-3


def test_stable_like_density_is_smooth_in_a_traced_alpha():
    """log p(λ | α) computed with α traced (as NUTS / SG-MCMC see it) equals the fixed-α
    density, and its α-derivative equals a central difference (h = 1e-6)."""
    lam = jnp.array([1e-6, 1e-3, 0.02, 0.7, 5.0])
    for beta in (0.0, 0.5):

        def log_p(a, beta=beta):
            return StableLikeWidth(a, 1.3, beta, 50).log_prob(lam)

        for alpha in (0.2, 0.5, 0.8):
            np.testing.assert_allclose(jax.jit(log_p)(alpha), log_p(alpha), rtol=1e-12)
            grad = jax.grad(lambda a: log_p(a).sum())(alpha)
            fd = (log_p(alpha + 1e-6).sum() - log_p(alpha - 1e-6).sum()) / 2e-6
            np.testing.assert_allclose(grad, fd, rtol=1e-5)


def test_learned_alpha_is_a_site_with_its_beta_prior():
    """The model samples alpha_1 ~ Beta(a, b) first; its prior draws pass a KS test against
    Beta(a, b) (δ = 1e-3), and λ given α is the StableLike law at that α."""
    net = bm.MLP(in_dim=1, widths=(30,), node_prior=P.StableLike(alpha_prior=(2.0, 5.0)))
    draws = Predictive(bnn_model, num_samples=2000)(
        jax.random.PRNGKey(0), net, np.zeros((2, 1)), None, noise_std=1.0
    )
    alpha = np.asarray(draws["alpha_1"])
    assert stats.kstest(alpha, stats.beta(2, 5).cdf).pvalue > DELTA
    assert draws["lam_1"].shape == (2000, 30)


def test_learned_global_scale_of_the_horseshoe():
    """global_scale_1 ~ HalfCauchy(c) and, given it, sqrt(λ_j) ~ HalfCauchy(s/n): the median of
    n·sqrt(λ_j)/s over draws is 1 (the half-Cauchy's median), checked by a binomial test on
    the indicator n·sqrt(λ)/s < 1 (δ = 1e-3); the prior sampler draws s the same way."""
    n = 20
    net = bm.MLP(in_dim=1, widths=(n,), node_prior=P.Horseshoe(scale_prior=2.0))
    draws = Predictive(bnn_model, num_samples=1000)(
        jax.random.PRNGKey(1), net, np.zeros((2, 1)), None, noise_std=1.0
    )
    s = np.asarray(draws["global_scale_1"])
    assert stats.kstest(s, stats.halfcauchy(scale=2.0).cdf).pvalue > DELTA
    below = np.asarray(n * np.sqrt(draws["lam_1"]) / s[:, None] < 1).ravel()
    assert stats.binomtest(int(below.sum()), below.size, 0.5).pvalue > DELTA


def test_learned_priors_round_trip_and_refuse_the_limit():
    stable = P.StableLike(alpha=0.6, alpha_prior=[1, 3])
    assert stable.alpha_prior == (1.0, 3.0) and stable.learned and hash(stable)
    assert P.make_prior(**json.loads(json.dumps(stable.to_dict()))) == stable
    assert P.Horseshoe(scale_prior=1.0).learned and not P.Horseshoe().learned
    with pytest.raises(ValueError, match=r"alpha_prior must be the pair \(a, b\)"):
        P.StableLike(alpha_prior=2.0)
    with pytest.raises(ValueError, match="alpha_prior b must be in"):
        P.StableLike(alpha_prior=(1.0, -1.0))
    with pytest.raises(ValueError, match="scale_prior must be in"):
        P.Horseshoe(scale_prior=0.0)
    net = bm.MLP(in_dim=1, widths=(5,), node_prior=stable)
    with pytest.raises(ValueError, match="learns a hyper-parameter"):
        bm.theory.MoGP(net)
    assert math.isclose(P.StableLike(alpha=0.6).limit().alpha, stable.limit().alpha)


@pytest.mark.parametrize(
    "prior", [P.StableLike(alpha_prior=(2.0, 2.0)), P.Horseshoe(scale_prior=0.5)], ids=repr
)
def test_prior_sampler_and_model_draw_the_same_network_law(prior):
    """f(x) at one input from the finite prior sampler (hyper-parameter drawn per network by
    ``draw_outgoing``) and from the NumPyro model's prior: two-sample KS, δ = 1e-3."""
    net = bm.MLP(in_dim=1, widths=(10,), node_prior=prior, sigma_b=0.5)
    x = np.array([[0.7]])
    sampled = bm.sample_prior(jax.random.PRNGKey(2), net, x, 3000).functions[:, 0, 0]
    model = Predictive(bnn_model, num_samples=3000)(
        jax.random.PRNGKey(3), net, x, None, noise_std=1.0, X_monitor=x
    )["f_monitor"][:, 0, 0]
    assert stats.ks_2samp(sampled, np.asarray(model)).pvalue > DELTA
