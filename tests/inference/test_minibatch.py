"""Mini-batch inference (SGLD, SGHMC, MAP, mini-batch SVI) on conjugate linear regression, where
the exact posterior — and, with full-data gradients, the exact stationary law of the discretised
SG-MCMC chain — is known in closed form; unbiased mini-batch gradients; exact resume.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from numpyro.infer import Predictive
from scipy import linalg, stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.inference import Checkpoint, fingerprint, fit
from bnn_mogp.inference.config import SghmcConfig, SgldConfig
from bnn_mogp.inference.minibatch import epoch_batches, log_density_terms, run_minibatch
from bnn_mogp.inference.sgmcmc import kernel_of
from bnn_mogp.model import bnn_model
from bnn_mogp.priors.stable import StableLikeWidth

DELTA = 1e-3  # false-failure rate of each statistical test (Bonferroni'd inside)
SIGMA = 0.5  # the known noise scale


def linear_problem(n=200, d=2, seed=0):
    """Bayesian linear regression as a network without hidden layers: f = σ_w/√d x·w + σ_b b,
    raw (w, b) ~ N(0, I), y ~ N(f, σ²). Returns X, y, the net, and the posterior of the raw
    parameters r = (w, b): its precision A and mean m.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.3 + SIGMA * rng.normal(size=n)
    net = bm.MLP(in_dim=d, widths=(), sigma_w=1.0, sigma_b=1.0)
    F = np.column_stack([X * net.weight_scale(0), np.full(n, net.sigma_b)])
    A = np.eye(d + 1) + F.T @ F / SIGMA**2
    m = np.linalg.solve(A, F.T @ y / SIGMA**2)
    return X, y, net, A, m


def raw_draws(idata):
    post = idata.posterior
    w = np.asarray(post["w_1"])
    w = w.reshape(w.shape[0], w.shape[1], -1)
    b = np.asarray(post["b_1"]).reshape(w.shape[0], w.shape[1], 1)
    return np.concatenate([w, b], -1)  # (chain, draw, d + 1)


def var1_law(M, Q, observed):
    """Stationary covariance Σ of s' = M s + noise (cov Q), and for the coordinates
    ``observed`` the long-run covariance Ω of their sample mean (Var ≈ Ω / n) and the long-run
    variance of their squared deviations (Var of the sample variance ≈ V / n)."""
    Sigma = linalg.solve_discrete_lyapunov(M, Q)
    I = np.eye(len(M))
    inv = np.linalg.inv(I - M)
    Omega = inv @ Sigma + Sigma @ inv.T - Sigma
    gamma = [np.diag(Sigma)[observed]]
    Mk = M.copy()
    while True:  # autocovariances of each observed coordinate, summed until they vanish
        g = np.diag(Mk @ Sigma)[observed]
        gamma.append(g)
        if np.all(np.abs(g) < 1e-12 * gamma[0]):
            break
        Mk = Mk @ M
    gamma = np.array(gamma)
    V = 2 * (gamma[0] ** 2 + 2 * np.sum(gamma[1:] ** 2, 0))
    return Sigma[np.ix_(observed, observed)], Omega[np.ix_(observed, observed)], V


def check_stationary_law(draws, m, Sigma, Omega, V, tests):
    """Sample mean within z·sqrt(Ω_ii / n) of m and sample variance (about m) within z·sqrt(V/n)
    of Σ_ii, δ Bonferroni'd over ``tests`` comparisons."""
    n = draws.shape[0]
    z = stats.norm.isf(DELTA / 2 / tests)
    mean_err = np.abs(draws.mean(0) - m)
    assert np.all(mean_err <= z * np.sqrt(np.diag(Omega) / n)), (mean_err, np.diag(Omega) / n)
    var = ((draws - m) ** 2).mean(0)
    assert np.all(np.abs(var - np.diag(Sigma)) <= z * np.sqrt(V / n)), (var, np.diag(Sigma))


RUN = dict(noise_std=SIGMA, num_prior_draws=10, schedule="constant", thinning=1)


def test_full_batch_sgld_has_the_exact_discretised_stationary_law():
    """SGLD with full-data gradients is the AR(1) chain r' = (I − hA) r + hA m + √(2h) ε,
    h = η/N: its stationary law is N(m, Σ_h), Σ_h = A⁻¹(I − hA/2)⁻¹ (the posterior's
    covariance A⁻¹ inflated by at most 1/(1 − hλ_max/2)). 3000 draws after a burn-in of 1000
    steps (ρ_max^1000 < 1e-40)."""
    X, y, net, A, m = linear_problem()
    N = X.shape[0]
    h = 0.1 / np.linalg.eigvalsh(A).max()
    idata = fit(
        net, X, y, method="sgld", batch_size=N, epochs=4000, burn_in=1000,
        learning_rate=h * N, rng_key=jax.random.PRNGKey(1), **RUN,
    )  # fmt: skip
    draws = raw_draws(idata)[0]
    assert draws.shape == (3000, 3)
    M = np.eye(3) - h * A
    Sigma, Omega, V = var1_law(M, 2 * h * np.eye(3), np.arange(3))
    np.testing.assert_allclose(Sigma, np.linalg.inv(A - h * A @ A / 2), rtol=1e-8)
    check_stationary_law(draws, m, Sigma, Omega, V, tests=6)
    # the discretised law is the posterior up to the stated bias: Σ_h ≤ A⁻¹ / (1 − hλ_max/2)
    posterior_var = np.diag(np.linalg.inv(A))
    assert np.all(np.diag(Sigma) / posterior_var - 1 <= 0.05 / (1 - 0.05))


def test_full_batch_sghmc_has_the_exact_discretised_stationary_law():
    """SGHMC with full-data gradients, state s = (r − m, p):
    r' = r + h p, p' = (1 − αh) p − hA(r − m) + √(2αh) ε, h = sqrt(η/N), α = a/h. Its
    stationary covariance (discrete Lyapunov equation) and long-run variances are exact; the
    draws of r match them (6 comparisons, δ = 1e-3)."""
    X, y, net, A, m = linear_problem()
    N = X.shape[0]
    h = 0.05 / math.sqrt(np.linalg.eigvalsh(A).max())
    a = 0.2
    idata = fit(
        net, X, y, method="sghmc", batch_size=N, epochs=4000, burn_in=1000, friction=a,
        learning_rate=h**2 * N, rng_key=jax.random.PRNGKey(2), **RUN,
    )  # fmt: skip
    draws = raw_draws(idata)[0]
    alpha = a / h
    I = np.eye(3)
    M = np.block([[I, h * I], [-h * A, (1 - alpha * h) * I]])
    Q = np.block([[0 * I, 0 * I], [0 * I, 2 * alpha * h * I]])
    Sigma, Omega, V = var1_law(M, Q, np.arange(3))
    check_stationary_law(draws, m, Sigma, Omega, V, tests=6)


@pytest.mark.parametrize("method", ["sgld", "sghmc"])
def test_minibatch_sg_mcmc_recovers_the_posterior_mean(method):
    """Mini-batches of 20 out of 200 rows, small steps (hλ_max = 0.02 for SGLD): the draws' mean
    is within z·MCSE (ArviZ's ESS) of the exact posterior mean plus the discretisation bias
    budget hλ_max/2 of a posterior sd."""
    import arviz as az

    X, y, net, A, m = linear_problem()
    N = X.shape[0]
    lam_max = np.linalg.eigvalsh(A).max()
    h = 0.02 / lam_max if method == "sgld" else 0.02 / math.sqrt(lam_max)
    settings = dict(friction=0.2) if method == "sghmc" else {}
    idata = fit(
        net, X, y, method=method, batch_size=20, epochs=400, burn_in=50,
        learning_rate=h * N if method == "sgld" else h**2 * N, rng_key=jax.random.PRNGKey(3),
        **settings, **RUN,
    )  # fmt: skip
    draws = raw_draws(idata)
    sd = np.sqrt(np.diag(np.linalg.inv(A)))
    ess = np.array([az.ess(draws[..., i]) for i in range(3)])
    mcse = draws.reshape(-1, 3).std(0) / np.sqrt(ess)
    z = stats.norm.isf(DELTA / 2 / 3)
    err = np.abs(draws.reshape(-1, 3).mean(0) - m)
    assert np.all(err <= z * mcse + 0.01 * sd), (err, mcse, sd)


def test_full_batch_map_reaches_the_posterior_mode():
    """MAP with full-data gradients (Adam, cosine decay) on a Gaussian posterior: the mode m,
    to an optimiser's residual of 1e-3 posterior sd (deterministic given the seed)."""
    X, y, net, A, m = linear_problem()
    idata = fit(
        net, X, y, method="map", batch_size=X.shape[0], epochs=600, learning_rate=0.1,
        noise_std=SIGMA, num_prior_draws=10, rng_key=jax.random.PRNGKey(4),
    )  # fmt: skip
    r = raw_draws(idata)
    assert r.shape == (1, 1, 3)
    sd = np.sqrt(np.diag(np.linalg.inv(A)))
    np.testing.assert_array_less(np.abs(r[0, 0] - m), 1e-3 * sd)
    assert "training" in idata.groups() and "sample_stats" not in idata.groups()


def test_minibatch_svi_autonormal_recovers_the_posterior_mean():
    """Mini-batch SVI (AutoNormal, 20 of 200 rows per step): for a Gaussian posterior the
    mean-field optimum has the exact mean m. The final iterate of Adam on the one-particle
    ELBO jitters around it by O(learning rate) (measured: at most 0.034 sd over two seeds at
    these settings, 0.18 sd at twice the rate); the budget is a tenth of a posterior sd."""
    X, y, net, A, m = linear_problem()
    idata = fit(
        net, X, y, method="svi", batch_size=20, num_steps=10000, learning_rate=0.005,
        noise_std=SIGMA, num_prior_draws=10, num_samples=2000, rng_key=jax.random.PRNGKey(5),
    )  # fmt: skip
    draws = raw_draws(idata).reshape(-1, 3)
    sd = np.sqrt(np.diag(np.linalg.inv(A)))
    z = stats.norm.isf(DELTA / 2 / 3)
    # guide draws: their mean is the guide's mean up to z·sd_guide/√S (sd_guide ≤ sd)
    bound = 0.1 * sd + z * sd / math.sqrt(draws.shape[0])
    np.testing.assert_array_less(np.abs(draws.mean(0) - m), bound)


def test_minibatch_gradients_average_to_the_full_gradient():
    """On a fixed one-hidden-layer horseshoe network (N = 12, B = 4): the gradients of
    log p(z) + (N/B) log p(y_batch | z) over the three batches of one epoch average to the
    gradient of the full-data log posterior, to rounding."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    net = bm.MLP(in_dim=2, widths=(5,), node_prior=P.Horseshoe(), sigma_b=1.0)
    z = {
        "w_1": rng.normal(size=(2, 5)),
        "b_1": rng.normal(size=5),
        "scale_1": rng.normal(size=5),  # unconstrained: log of the half-Cauchy scale
        "w_2": rng.normal(size=(5, 1)),
        "b_2": rng.normal(size=1),
        "sigma": np.array(-0.5),
    }
    kw = dict(likelihood="gaussian")

    def grad(Xb, yb, num_data=None):
        def log_post(z):
            t = log_density_terms(bnn_model, (net, Xb, yb), dict(kw, num_data=num_data), z)
            return t.log_prior + t.log_lik

        return jax.jit(jax.grad(log_post))(z)

    batches = epoch_batches(jax.random.PRNGKey(0), 0, 12, 4)
    assert sorted(batches.ravel()) == list(range(12))
    per_batch = [grad(X[b], y[b], num_data=12) for b in batches]
    full = grad(X, y)
    for name in z:
        mean = np.mean([g[name] for g in per_batch], 0)
        np.testing.assert_allclose(mean, full[name], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["sghmc", "map"])
def test_interrupted_minibatch_run_resumes_to_the_same_draws(tmp_path, method):
    """Killed after the second epoch's checkpoint, the run continues to exactly the draws (and
    the history) of an uninterrupted run, across two chains."""
    from bnn_mogp.inference.config import MapConfig

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 3, size=40)
    net = bm.MLP(in_dim=2, widths=(6,), out_dim=3, node_prior=P.StableLike(0.6))
    config = {"sghmc": SghmcConfig, "map": MapConfig}[method](
        batch_size=10, epochs=3, learning_rate=0.1, num_chains=2, **(
            {"burn_in": 1, "thinning": 2} if method == "sghmc" else {}
        )
    )  # fmt: skip
    run = dict(
        rng_key=jax.random.PRNGKey(6), batch_size=10, epochs=3, num_chains=2,
        learning_rate=lambda t: 0.1, burn_in=1 if method == "sghmc" else 0,
        thinning=2 if method == "sghmc" else None, keep="draws" if method == "sghmc" else "last",
    )  # fmt: skip
    args = (bnn_model, net, X, y, {"likelihood": "categorical"}, kernel_of(config, 40))
    fp = fingerprint(method=method)

    class Interrupt(Checkpoint):
        saves = 0

        def save(self, *a):
            super().save(*a)
            Interrupt.saves += 1
            if Interrupt.saves == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_minibatch(*args, **run, checkpoint=Interrupt(tmp_path, fp))
    resumed = run_minibatch(*args, **run, checkpoint=Checkpoint(tmp_path, fp))
    straight = run_minibatch(*args, **run)
    for name, value in straight.samples.items():
        np.testing.assert_array_equal(resumed.samples[name], value)
    for name, value in straight.history.items():
        if name != "seconds":  # wall times
            np.testing.assert_array_equal(resumed.history[name], value)
    draws = 4 if method == "sghmc" else 1  # 2 epochs × 4 steps / thinning 2; MAP: the end
    assert straight.samples["lam_1"].shape == (2, draws, 6)


def test_minibatch_settings_are_checked():
    X, y, net, _, _ = linear_problem(n=30)
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, N = 30\], got 31"):
        fit(net, X, y, method="sgld", batch_size=31, epochs=2, noise_std=SIGMA)
    with pytest.raises(ValueError, match="collapsed=True is not available with mini-batches"):
        fit(net, X, y, method="sghmc", collapsed=True)
    with pytest.raises(ValueError, match=r"burn_in must be"):
        SgldConfig(epochs=5, burn_in=5)
    with pytest.raises(ValueError, match="friction"):
        SghmcConfig(friction=1.5)


@pytest.mark.slow
@pytest.mark.statistical
def test_learned_alpha_covers_the_alpha_of_prior_predictive_data():
    """Calibration: α_true ~ Beta(2, 2) (its prior, fixed seed), the network's other parameters
    from the prior at width 16 given it, y = f(X) + N(0, 0.1²) at 80 inputs. Under exact
    posterior sampling α_true lies outside the central 99 % posterior interval of α with
    probability 1 % (the test's false-failure rate); NUTS on the model with a learned α
    (StableLike ``alpha_prior``) must therefore cover it, and the interval must be narrower
    than the prior's (the data inform α)."""
    prior = P.StableLike(alpha=0.5, alpha_prior=(2.0, 2.0))
    net = bm.MLP(in_dim=1, widths=(16,), node_prior=prior, sigma_b=1.0)
    X = np.linspace(-3, 3, 80)[:, None]
    joint = Predictive(bnn_model, num_samples=1)(
        jax.random.PRNGKey(12), net, X, None, noise_std=0.1
    )  # one prior-predictive draw: α_1, the network given it, and y
    alpha_true = float(joint["alpha_1"][0])
    y = np.asarray(joint["y"][0, :, 0])
    idata = fit(
        net, X, y, noise_std=0.1, num_warmup=400, num_samples=400, num_chains=2,
        rng_key=jax.random.PRNGKey(13), num_prior_draws=10, collapsed=False,
    )  # fmt: skip
    alpha = np.asarray(idata.posterior["alpha_1"]).ravel()
    lo, hi = np.quantile(alpha, [0.005, 0.995])
    assert lo <= alpha_true <= hi, (alpha_true, lo, hi)
    prior_lo, prior_hi = stats.beta(2, 2).ppf([0.005, 0.995])
    assert hi - lo < prior_hi - prior_lo


@pytest.mark.slow
@pytest.mark.statistical
def test_learned_alpha_is_at_equilibrium_with_its_conditional_under_sghmc():
    """α enters the likelihood only through λ, so under the posterior α | λ has the exact law
    p(α | λ) ∝ Beta(α) Π_j p(λ_j | α), computed here on a grid for each kept draw. SGHMC on
    digits at width 500 (the paper's step sizes): the probability integral transform of every
    draw's α under its conditional lies in [δ/2k, 1 − δ/2k] (k draws, δ = 1e-3). Before
    hyper-parameters were moved in √n-scaled coordinates, one step size for every coordinate
    threw α 7 to 92 conditional sds away from its conditional mean.
    """
    width = 500
    digits = bm.load_data("builtin:digits", seed=0)
    prior = P.StableLike(alpha=0.5, alpha_prior=(1.0, 1.0))
    net = bm.MLP(64, (width,), 10, "relu", prior, sigma_b=1.0)
    idata = fit(
        net, digits.X_train, digits.y_train, likelihood="categorical", method="sghmc",
        batch_size=100, epochs=6, learning_rate=0.5, friction=0.1, num_prior_draws=2,
        rng_key=jax.random.PRNGKey(0),
    )  # fmt: skip
    alpha = np.asarray(idata.posterior["alpha_1"]).ravel()
    lam = np.asarray(idata.posterior["lam_1"]).reshape(alpha.size, width)
    grid = np.linspace(5e-4, 1 - 5e-4, 1000)
    log_p = jax.jit(
        jax.vmap(lambda a, lam: StableLikeWidth(a, 1.0, 0.0, width).log_prob(lam).sum(), (0, None))
    )
    bound = DELTA / 2 / alpha.size
    for a, draw in zip(alpha, lam, strict=True):
        p = np.exp(np.asarray(log_p(grid, draw)) - np.max(log_p(grid, draw)))
        pit = np.interp(a, grid, np.cumsum(p) / p.sum())
        assert bound <= pit <= 1 - bound, (a, grid[np.argmax(p)], pit)


@pytest.mark.parametrize(
    ("placement", "likelihood", "method"),
    [
        ("node", "student_t", "sghmc"),
        pytest.param("weight", "bernoulli", "map", marks=pytest.mark.slow),
    ],
)
def test_every_prior_family_runs_in_mini_batches(placement, likelihood, method):
    """One network whose hidden layers carry every prior family (a layer each), per node or per
    weight (categorical: the resume test and the CLI's): every draw is finite and the sites have
    their shapes (MAP: one draw; SGHMC: one per epoch after the burn-in)."""
    families = [P.make_prior(name) for name in sorted(P.FAMILIES)]
    rng = np.random.default_rng(2)
    X = rng.normal(size=(48, 2))
    y = rng.integers(0, 2, size=48) if likelihood == "bernoulli" else rng.standard_t(3, size=48)
    net = bm.MLP(
        in_dim=2, widths=(3,) * len(families), out_dim=1,
        activation="tanh", node_prior=tuple(families), sigma_b=1.0, placement=placement,
    )  # fmt: skip
    idata = fit(
        net, X, y, likelihood=likelihood, method=method, batch_size=16, epochs=4,
        learning_rate=0.01, rng_key=jax.random.PRNGKey(7), num_prior_draws=5,
    )  # fmt: skip
    post = idata.posterior
    assert post.sizes["draw"] == (2 if method == "sghmc" else 1)
    for name, value in post.data_vars.items():
        assert np.all(np.isfinite(np.asarray(value))), name
    assert np.asarray(post["lam_1"]).shape[2:] == ((3,) if placement == "node" else (3, 3))
