"""Exactly α-stable weights: the CMS sampler, Kanter's augmented density, the family's laws.

Each statistical assertion holds with false-failure probability DELTA (KS critical values,
Hoeffding bounds with a Bonferroni correction over the points checked).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from bnn_mogp import priors as P
from tests.helpers import hoeffding_eps

DELTA = 1e-3


def ks_critical(n: int, delta: float = DELTA) -> float:
    """Asymptotic one-sample KS critical value: P(D_n > c) ≤ delta."""
    return math.sqrt(-0.5 * math.log(delta / 2) / n)


@pytest.mark.statistical
@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.5, 2.0])
def test_cms_sampler_follows_scipy_levy_stable(alpha):
    """SαS(1) in the S1 convention (E e^{iuε} = e^{−|u|^α}): scipy's levy_stable(α, 0); at α = 2
    that law is N(0, 2), not N(0, 1)."""
    n = 2000
    eps = np.asarray(P.sample_symmetric_stable(jax.random.PRNGKey(int(10 * alpha)), alpha, (n,)))
    assert np.all(np.isfinite(eps))
    reference = stats.norm(scale=math.sqrt(2)) if alpha == 2 else stats.levy_stable(alpha, 0.0)
    assert stats.kstest(eps, reference.cdf).statistic < ks_critical(n)
    # characteristic function at several u: cos(uε) ∈ [−1, 1], Hoeffding with Bonferroni
    many = np.asarray(P.sample_symmetric_stable(jax.random.PRNGKey(7), alpha, (40000,)))
    us = np.array([0.2, 0.7, 1.5, 3.0])
    emp = np.cos(us[:, None] * many[None, :]).mean(1)
    np.testing.assert_array_less(
        np.abs(emp - np.exp(-(us**alpha))), hoeffding_eps(many.size, DELTA / us.size, 2.0)
    )


def test_cms_sampler_float32_stays_finite_and_validates_alpha():
    eps = P.sample_symmetric_stable(jax.random.PRNGKey(0), 0.6, (100000,), jnp.float32)
    assert eps.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(eps) | (jnp.abs(eps) == jnp.inf))) and bool(
        jnp.mean(jnp.isfinite(eps)) > 0.999
    )
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 2\], got 2.5"):
        P.sample_symmetric_stable(jax.random.PRNGKey(0), 2.5)


@pytest.mark.parametrize("alpha", [0.3, 0.6, 0.85])
def test_kanter_augmented_density_marginalises_to_the_positive_stable_law(alpha):
    """∫₀^π p(x | u) du/π equals the positive α-stable density (scipy's levy_stable with β = 1
    and scale cos(πα/2)^{1/α}, whose Laplace transform is e^{−t^α}); quadrature, no noise."""
    scale = math.cos(math.pi * alpha / 2) ** (1 / alpha)
    for x in [0.05, 0.4, 1.0, 3.0, 20.0]:

        def joint(u, x=x):
            with jax.enable_x64(True):
                law = P.KanterConditional(alpha, jnp.asarray(u), 1.0)
                return float(jnp.exp(law.log_prob(jnp.asarray(x)))) / math.pi

        marginal, _ = integrate.quad(joint, 0.0, math.pi, limit=200, epsabs=1e-13)
        expected = stats.levy_stable.pdf(x, alpha, 1.0, scale=scale)
        assert marginal == pytest.approx(expected, rel=2e-4, abs=1e-9), (x, marginal, expected)


@pytest.mark.statistical
@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_positive_stable_sampler_laplace_transform(alpha):
    """E e^{−tA} = e^{−t^α}: e^{−tA} ∈ [0, 1], Hoeffding with Bonferroni over the t's."""
    n = 40000
    A = np.asarray(P.PositiveStable(alpha).sample(jax.random.PRNGKey(3), (n,)))
    ts = np.array([0.1, 0.5, 1.0, 4.0])
    emp = np.exp(-ts[:, None] * A[None, :]).mean(1)
    np.testing.assert_array_less(
        np.abs(emp - np.exp(-(ts**alpha))), hoeffding_eps(n, DELTA / ts.size)
    )


@pytest.mark.statistical
def test_symmetric_stable_family_law_at_width_and_limit():
    """λ = 2 n^{−2/α} A: sqrt(λ) G is n^{−1/α} SαS(1) (KS), the row sum is 2A at every width
    (Laplace transform e^{−(2t)^{α/2}} = e^{−ψ(t)} of the limit), and α = 2 is the Gaussian
    network with weight variance 2/n."""
    prior = P.SymmetricStable(alpha=1.5)
    n, num = 50, 4000
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(11), 3)
    lam = np.asarray(prior.at_width(n).sample(k1, (num, n)))
    w = np.sqrt(lam[:, 0]) * np.asarray(jax.random.normal(k2, (num,)))
    ref = stats.levy_stable(1.5, 0.0, scale=n ** (-1 / 1.5))
    assert stats.kstest(w, ref.cdf).statistic < ks_critical(num)
    ts = np.array([0.3, 1.0, 3.0])
    emp = np.exp(-ts[:, None] * lam.sum(1)[None, :]).mean(1)
    exact = np.exp(-np.asarray(prior.limit().laplace_exponent(ts)))
    np.testing.assert_allclose(exact, np.exp(-((2 * ts) ** 0.75)), rtol=1e-12)
    np.testing.assert_array_less(np.abs(emp - exact), hoeffding_eps(num, DELTA / ts.size))
    gaussian = P.SymmetricStable(alpha=2.0)
    assert float(gaussian.at_width(8).sample(k3)) == 0.25 and gaussian.gaussian_limit
    assert prior.tail_index == 0.75 and not prior.gaussian_limit
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 2\], got 0"):
        P.SymmetricStable(alpha=0)


@pytest.mark.statistical
def test_nuts_on_the_kanter_augmented_density_recovers_the_positive_stable_law():
    """NUTS on (angle, A) with the augmented density: E e^{−tA} of the draws within the Monte
    Carlo error of the chain (bulk ESS; Bonferroni over the t's) of e^{−t^α}."""
    import arviz as az
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    alpha = 0.6

    def model():
        angle = numpyro.sample("angle", dist.Uniform(0.0, math.pi))
        numpyro.sample("A", P.KanterConditional(alpha, angle))

    mcmc = MCMC(NUTS(model), num_warmup=1000, num_samples=4000, num_chains=2, progress_bar=False,
                chain_method="sequential")  # fmt: skip
    mcmc.run(jax.random.PRNGKey(0))
    A = np.asarray(mcmc.get_samples(group_by_chain=True)["A"])
    ts = np.array([0.1, 1.0, 5.0])
    z = stats.norm.isf(DELTA / (2 * ts.size))
    for t in ts:
        g = np.exp(-t * A)
        ess = float(az.ess(g, method="bulk"))
        assert ess > 500
        se = g.std() / math.sqrt(ess)
        assert abs(g.mean() - math.exp(-(t**alpha))) < z * se, (t, g.mean(), ess)
