"""Node-variance priors: finite laws, their Lévy limits, and that the two agree.

Monte Carlo checks use fixed keys; each assertion's tolerance is derived from a stated
false-failure probability DELTA (KS / chi-square p-values, Hoeffding bounds), plus, where the
finite-width value differs from the limit, the exactly computed finite-width bias.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bnn_mogp import priors as P
from tests import reference_laws as ref
from tests.helpers import hoeffding_eps

DELTA = 1e-3  # false-failure probability of each statistical assertion

PRIORS = {
    "deterministic": P.Deterministic(c=1.5),
    "inverse_gamma": P.InverseGamma(shape=3.0, c=1.2),
    "inverse_gamma_heavy": P.InverseGamma(shape=1.5, c=0.8),
    "horseshoe": P.Horseshoe(scale=0.7),
    "stable": P.StableLike(alpha=0.4, eta=1.3),
    "stable_tempered": P.StableLike(alpha=0.6, eta=0.8, beta=2.0),
    "gaussian_mixture": P.GaussianMixture(spike=0.5, slab=2.0, rate=3.0),
    "beta": P.Beta(eta=1.5),
    "gamma": P.Gamma(c=2.0, rate=1.5),
}
CONTINUOUS = [
    "inverse_gamma",
    "inverse_gamma_heavy",
    "horseshoe",
    "stable",
    "stable_tempered",
    "beta",
    "gamma",
]
WITH_JUMPS = ["horseshoe", "stable", "stable_tempered", "gaussian_mixture", "beta", "gamma"]
CONTINUOUS_TAIL = ["horseshoe", "stable", "stable_tempered", "beta", "gamma"]


def key(i: int):
    return jax.random.PRNGKey(i)


def row_sums_and_max(prior, n, rows, seed, chunk=500):
    dist = prior.at_width(n)
    draw = jax.jit(lambda k: (lambda lam: (lam.sum(-1), lam.max(-1)))(dist.sample(k, (chunk, n))))
    keys = jax.random.split(key(seed), -(-rows // chunk))
    out = [draw(k) for k in keys]
    sums = np.concatenate([np.asarray(s) for s, _ in out])[:rows]
    maxes = np.concatenate([np.asarray(m) for _, m in out])[:rows]
    return sums, maxes


# ---------------------------------------------------------------------------------------------
# finite laws


@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.statistical
def test_finite_samples_follow_reference_cdf(name):
    """KS test of at_width(n) samples against the independently computed CDF (δ = 1e-3)."""
    prior, n = PRIORS[name], 10
    x = np.asarray(prior.at_width(n).sample(key(1), (3000,)))
    assert np.all(x > 0)
    p = stats.kstest(x, lambda v: ref.finite_cdf(prior, n, v)).pvalue
    assert p > DELTA, f"{name}: KS p-value {p:.2e}"


@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("n", [3, 20])
def test_finite_log_prob_integrates_to_reference_cdf(name, n):
    """∫₀^x exp(log_prob) equals the reference CDF (so log_prob is the normalised density).

    The integral starts at e^{−700} (normal floats); the neglected mass is < 1e-11 at n ≤ 20.
    """
    from scipy import integrate

    prior = PRIORS[name]
    dist = prior.at_width(n)
    for x in np.quantile(np.asarray(dist.sample(key(2), (4001,))), [0.05, 0.5, 0.95]):

        def dens(u):
            return math.exp(float(dist.log_prob(jnp.asarray(math.exp(u)))) + u)

        mass = integrate.quad(dens, -700, math.log(x), epsabs=1e-13, epsrel=1e-10, limit=400)[0]
        assert mass == pytest.approx(float(ref.finite_cdf(prior, n, x)), abs=1e-7, rel=1e-7)


def test_horseshoe_log_prob_matches_half_cauchy_change_of_variables():
    prior, n = P.Horseshoe(scale=2.0), 7
    x = np.logspace(-6, 3, 20)
    y = np.sqrt(x)
    expected = stats.halfcauchy(scale=2.0 / n).logpdf(y) - np.log(2 * y)
    np.testing.assert_allclose(
        np.asarray(prior.at_width(n).log_prob(jnp.asarray(x))), expected, rtol=1e-12
    )


def test_two_point_laws():
    gm = PRIORS["gaussian_mixture"]
    n = 40
    dist = gm.at_width(n)
    lp = np.asarray(dist.log_prob(jnp.asarray([gm.spike / n, gm.slab, 0.3])))
    np.testing.assert_allclose(lp[:2], [math.log1p(-gm.rate / n), math.log(gm.rate / n)])
    assert lp[2] == -np.inf
    x = np.asarray(dist.sample(key(3), (20000,)))
    assert set(np.unique(x)) <= {gm.spike / n, gm.slab}
    freq = np.mean(x == gm.slab)
    assert abs(freq - gm.rate / n) <= hoeffding_eps(x.size, DELTA)
    det = P.Deterministic(c=1.5).at_width(6).sample(key(4), (10,))
    np.testing.assert_array_equal(np.asarray(det), 0.25)


@pytest.mark.parametrize("name", ["stable", "beta", "gamma"])
def test_samplers_stay_finite_at_large_width(name):
    """Log-space samplers: no NaN or inf at width 10⁶ (λ below the smallest float becomes 0)."""
    x = np.asarray(PRIORS[name].at_width(10**6).sample(key(5), (1000,)))
    assert np.all(np.isfinite(x)) and np.all(x >= 0)


# ---------------------------------------------------------------------------------------------
# limits: formulas against independent quadrature of the Lévy density


@pytest.mark.parametrize("name", list(PRIORS))
def test_laplace_exponent_tail_small_jump_mean_against_quadrature(name):
    prior = PRIORS[name]
    lim = prior.limit()
    for t in (0.01, 0.25, 1.0, 4.0, 100.0):
        assert float(lim.laplace_exponent(t)) == pytest.approx(
            ref.laplace_exponent(prior, t), rel=1e-8
        )
    for x in (0.01, 0.3, 0.9, 1.7, 5.0):
        assert float(lim.tail(x)) == pytest.approx(ref.levy_tail(prior, x), rel=1e-8, abs=1e-12)
        assert float(lim.small_jump_mean(x)) == pytest.approx(
            ref.small_jump_mean(prior, x), rel=1e-8, abs=1e-12
        )


@pytest.mark.parametrize("name", list(PRIORS))
def test_mean_total_mass_and_flags(name):
    prior = PRIORS[name]
    lim = prior.limit()
    drift, rho, atoms = ref.levy_density(prior)
    assert lim.drift == pytest.approx(drift)
    jump_mean = ref.small_jump_mean(prior, math.inf)
    if isinstance(prior, (P.Horseshoe,)) or (isinstance(prior, P.StableLike) and prior.beta == 0):
        assert lim.mean() == math.inf
    else:
        assert lim.mean() == pytest.approx(drift + jump_mean, rel=1e-7)
    assert prior.gaussian_limit == (rho is None and not atoms)
    if rho is None:
        assert lim.total_mass() == sum(m for _, m in atoms)
    else:
        assert lim.total_mass() == math.inf


def test_capability_flags():
    assert P.Horseshoe().tail_index == 0.5 and P.Horseshoe().sparsity_index == 0.5
    s = P.StableLike(alpha=0.3)
    assert s.tail_index == 0.3 and s.sparsity_index == 0.3
    t = P.StableLike(alpha=0.3, beta=1.0)
    assert t.tail_index == math.inf and t.sparsity_index == 0.3
    for prior in (P.Deterministic(), P.InverseGamma(), P.GaussianMixture(), P.Beta(), P.Gamma()):
        assert prior.tail_index == math.inf and prior.sparsity_index == 0.0
    assert P.Deterministic().gaussian_limit and P.InverseGamma(shape=1.2).gaussian_limit
    assert not P.GaussianMixture().gaussian_limit


def test_horseshoe_and_stable_half_share_a_limit():
    hs = P.Horseshoe(scale=1.3).limit()
    st = P.StableLike(alpha=0.5, eta=2 * 1.3 / math.sqrt(math.pi)).limit()
    t = jnp.asarray([0.1, 1.0, 10.0])
    np.testing.assert_allclose(hs.laplace_exponent(t), st.laplace_exponent(t), rtol=1e-14)
    # W ~ Lévy(0, 2s²/π): E e^{−tW} = exp(−sqrt(2 c t)) with c = 2s²/π
    np.testing.assert_allclose(hs.laplace_exponent(t), np.sqrt(2 * (2 * 1.3**2 / math.pi) * t))


@pytest.mark.parametrize("name", CONTINUOUS_TAIL)
def test_tail_inverse_inverts_tail(name):
    lim = PRIORS[name].limit()
    hi = 0.999 if name == "beta" else 50.0
    x = jnp.asarray(np.logspace(-6, math.log10(hi), 40))
    np.testing.assert_allclose(lim.tail_inverse(lim.tail(x)), x, rtol=1e-9)


def test_discrete_tail_inverse():
    gm = PRIORS["gaussian_mixture"].limit()
    np.testing.assert_array_equal(
        gm.tail_inverse(jnp.asarray([0.1, 2.99, 3.0, 7.0])), [2.0, 2.0, 0.0, 0.0]
    )
    np.testing.assert_array_equal(P.Deterministic().limit().sample_jumps(key(0), 5), 0.0)


@pytest.mark.parametrize("name", WITH_JUMPS)
@pytest.mark.statistical
def test_number_of_jumps_above_x_is_poisson(name):
    """#{m : θ_m > x} ~ Poisson(ρ̄(x)): chi-square goodness of fit, δ = 1e-3."""
    prior = PRIORS[name]
    lim = prior.limit()
    x = 1.0 if name == "gaussian_mixture" else float(lim.tail_inverse(2.0))
    mu = ref.levy_tail(prior, x)
    jumps = np.asarray(jax.vmap(lambda k: lim.sample_jumps(k, 40))(jax.random.split(key(7), 4000)))
    assert np.all(np.diff(jumps, axis=1) <= 0), "jumps must be in decreasing order"
    counts = (jumps > x).sum(1)
    top = int(stats.poisson(mu).ppf(1 - 5 / counts.size))  # pool the tail: expected ≥ 5
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    expected = stats.poisson(mu).pmf(np.arange(top + 1)) * counts.size
    expected[-1] = stats.poisson(mu).sf(top - 1) * counts.size
    p = stats.chisquare(observed, expected).pvalue
    assert p > DELTA, f"{name}: chi-square p-value {p:.2e} (mean {counts.mean():.3f} vs {mu:.3f})"


@pytest.mark.parametrize("name", list(PRIORS))
@pytest.mark.statistical
def test_row_sum_laplace_transform_and_largest_node(name):
    """Row sums of n = 2000 nodes against the exact law at width n, which is itself within 0.01
    of the limit: E e^{−tS} = L_n(t)^n ≈ e^{−ψ(t)}, P(max λ ≤ x) = F_n(x)^n ≈ e^{−ρ̄(x)}.

    The Monte Carlo means are compared with the exact finite-width values (reference laws), within
    Hoeffding's ε at δ = 1e-3 (Bonferroni over the 4 checks); the exact finite-width values are
    compared with the limit's ψ and ρ̄ without sampling.
    """
    prior, n, rows = PRIORS[name], 2000, 4000
    sums, maxes = row_sums_and_max(prior, n, rows, seed=11)
    eps = hoeffding_eps(rows, DELTA / 4)
    lim = prior.limit()
    for t in (0.25, 1.0, 4.0):
        exact = math.exp(ref.finite_log_laplace(prior, n, t))
        limit_value = math.exp(-float(lim.laplace_exponent(t)))
        assert abs(exact - limit_value) < 0.01, f"t={t}: n = 2000 should be close to the limit"
        mc = float(np.mean(np.exp(-t * sums)))
        assert abs(mc - exact) <= eps, f"t={t}: {mc:.4f} vs {exact:.4f} (limit {limit_value:.4f})"
    if prior.gaussian_limit:
        return
    x = 1.0 if name == "gaussian_mixture" else float(lim.tail_inverse(math.log(2)))  # median
    exact = math.exp(n * math.log1p(-ref.finite_sf(prior, n, x)))  # F_n(x)^n
    limit_value = math.exp(-float(lim.tail(x)))
    assert abs(exact - limit_value) < 0.01, f"P(max ≤ {x:.3g}): n = 2000 should be close"
    mc = float(np.mean(maxes <= x))
    assert abs(mc - exact) <= eps, f"P(max ≤ {x:.3g}): {mc:.4f} vs {exact:.4f}"


@pytest.mark.statistical
def test_gamma_row_sum_is_exactly_gamma():
    prior = P.Gamma(c=2.0, rate=1.5)
    for n in (1, 7, 2000):
        sums, _ = row_sums_and_max(prior, n, 3000, seed=n)
        p = stats.kstest(sums, stats.gamma(2.0, scale=1 / 1.5).cdf).pvalue
        assert p > DELTA, f"n={n}: KS p-value {p:.2e}"


def test_tempered_stable_jumps_thin_the_untempered_ones():
    lim = P.StableLike(alpha=0.6, eta=0.8, beta=2.0).limit()
    jumps = np.asarray(lim.sample_jumps(key(3), 500))
    assert np.all(np.diff(jumps) <= 0) and np.all(jumps > 0)


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: P.Deterministic(c=-1.0), "c"),
        (lambda: P.InverseGamma(shape=1.0), "shape"),
        (lambda: P.InverseGamma(c=0.0), "c"),
        (lambda: P.Horseshoe(scale=-2.0), "scale"),
        (lambda: P.Horseshoe(scale=float("nan")), "scale"),
        (lambda: P.StableLike(alpha=1.0), "alpha"),
        (lambda: P.StableLike(alpha=0.0), "alpha"),
        (lambda: P.StableLike(eta=-1.0), "eta"),
        (lambda: P.StableLike(beta=-0.5), "beta"),
        (lambda: P.GaussianMixture(spike=-1.0), "spike"),
        (lambda: P.GaussianMixture(slab=0.0), "slab"),
        (lambda: P.GaussianMixture(rate=0.0), "rate"),
        (lambda: P.Beta(eta=0.0), "eta"),
        (lambda: P.Gamma(c=0.0), "c"),
        (lambda: P.Gamma(rate="1"), "rate"),
        (lambda: P.Horseshoe().at_width(0), "width"),
        (lambda: P.Horseshoe().at_width(2.5), "width"),
        (lambda: P.GaussianMixture(rate=5.0).at_width(5), "width"),
        (lambda: P.make_prior("horsehoe"), "horsehoe"),
        (lambda: P.make_prior("horseshoe", sclae=1.0), "sclae"),
    ],
)
def test_bad_hyper_parameters_name_the_parameter_and_range(make, param):
    with pytest.raises(ValueError, match=param) as info:
        make()
    msg = str(info.value)
    assert "got" in msg or "allowed" in msg


def test_priors_are_hashable_and_compare_by_value():
    assert hash(P.Horseshoe(1.0)) == hash(P.Horseshoe(1.0))
    assert P.StableLike(0.3) != P.StableLike(0.4)
    assert P.make_prior("stable", alpha=0.3) == P.StableLike(alpha=0.3)
