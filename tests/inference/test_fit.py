"""``fit``: complete InferenceData from NUTS and SVI; SVI on conjugate linear regression."""

from __future__ import annotations

import math
import warnings

import jax
import numpy as np
import pytest
from scipy import stats

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.inference import (
    Checkpoint,
    CheckpointError,
    fingerprint,
    fit,
    monitor_inputs,
    run_nuts,
    run_svi,
)
from bnn_mogp.model import bnn_model

DELTA = 1e-3
GROUPS = {
    "posterior",
    "posterior_predictive",
    "predictions",
    "log_likelihood",
    "sample_stats",
    "prior",
    "prior_predictive",
    "observed_data",
    "constant_data",
    "predictions_constant_data",
}


@pytest.mark.slow
def test_nuts_inference_data_is_complete_and_round_trips(tmp_path):
    import arviz as az

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (40, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=40)
    net = bm.MLP(in_dim=1, widths=(8,), node_prior=P.Horseshoe(), sigma_b=1.0)
    X_test = np.linspace(-3, 3, 5)[:, None]
    idata = fit(
        net,
        X,
        y,
        rng_key=jax.random.PRNGKey(1),
        num_warmup=150,
        num_samples=100,
        num_chains=2,
        X_test=X_test,
    )
    assert GROUPS <= set(idata.groups())
    post = idata.posterior
    assert post["lam_1"].dims == ("chain", "draw", "node_1")
    assert post["f_monitor"].dims == ("chain", "draw", "monitor", "output")
    assert post["f_monitor"].shape == (2, 100, 5, 1)
    assert idata.log_likelihood["y"].shape == (2, 100, 40)
    for stat in ("diverging", "tree_depth", "step_size", "energy", "acceptance_rate"):
        assert stat in idata.sample_stats
    assert idata.predictions["y"].shape == (2, 100, 5, 1)
    np.testing.assert_allclose(idata.constant_data["X_monitor"], monitor_inputs(X, X_test))
    path = tmp_path / "idata.nc"
    idata.to_netcdf(path)
    again = az.from_netcdf(path)
    assert GROUPS <= set(again.groups())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(again, pointwise=True)
    assert np.isfinite(loo.elpd_loo) and loo.pareto_k.shape == (40,)


@pytest.mark.slow
def test_svi_autonormal_recovers_the_conjugate_posterior():
    """widths = (), fixed noise: the mean-field Gaussian optimum has the exact posterior means and
    standard deviations 1/sqrt(diag(precision)). SVI is a stochastic optimisation, so the check
    allows the Monte Carlo error of 4000 guide draws (z·se, δ = 1e-3 Bonferroni'd over 4) plus
    an optimisation error of 0.2 posterior sd for the means and 10 % for the sds — the size
    below which the approximation is invisible in a predictive plot."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([0.8, -0.5, 0.3]) + 0.4 + 0.3 * rng.normal(size=40)
    net = bm.MLP(in_dim=3, widths=(), sigma_w=1.5, sigma_b=1.0)
    idata = fit(
        net,
        X,
        y,
        method="svi",
        rng_key=jax.random.PRNGKey(2),
        noise_std=0.3,
        num_steps=8000,
        learning_rate=0.05,
        num_particles=16,
        num_samples=4000,
        num_chains=1,
    )
    post = idata.posterior
    coef = np.column_stack(
        [
            np.asarray(post["b_1"]).reshape(-1),
            1.5 / math.sqrt(3) * np.asarray(post["w_1"]).reshape(-1, 3),
        ]
    )
    A = np.column_stack([np.ones(len(X)), X])
    precision = np.diag([1.0] + [3 / 1.5**2] * 3) + A.T @ A / 0.3**2
    mean = np.linalg.solve(precision, A.T @ y / 0.3**2)
    mf_sd = 1 / np.sqrt(np.diag(precision))
    z = stats.norm.isf(DELTA / 2 / 4)
    se = mf_sd / math.sqrt(len(coef))
    assert np.all(np.abs(coef.mean(0) - mean) <= z * se + 0.2 * mf_sd)
    assert np.all(np.abs(coef.std(0) / mf_sd - 1) <= z * math.sqrt(1 / (2 * len(coef))) + 0.1)


def test_fit_rejects_bad_settings():
    net = bm.MLP(in_dim=1, widths=(4,))
    X, y = np.zeros((5, 1)), np.zeros(5)
    with pytest.raises(ValueError, match="method must be"):
        fit(net, X, y, method="hmc")
    with pytest.raises(ValueError, match="guide must be one of"):
        fit(net, X, y, method="svi", guide="flow")
    with pytest.raises(ValueError, match="target_accept"):
        fit(net, X, y, target_accept=1.5)
    with pytest.raises(ValueError, match=r"y must have N = 5 rows .*got shape \(4,\)"):
        fit(net, X, y[:4])
    with pytest.raises(ValueError, match="num_warmup must be an integer >= 1, got 0"):
        fit(net, X, y, num_warmup=0)
    # issue 12: NaN targets failed inside NumPyro ("Cannot find valid initial parameters")
    bad = y.copy()
    bad[[1, 3]] = np.nan
    with pytest.raises(
        ValueError, match=r"NaN or infinite values in 2 row\(s\) \(first: \[1, 3\]\)"
    ):
        fit(net, X, bad)
    with pytest.raises(ValueError, match="shape \\(N,\\) or \\(N, out_dim=1\\)"):
        fit(net, X, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="labels must be integers in 0..1; row 2 has 2"):
        fit(net, X, np.array([0, 1, 2, 0, 1]), likelihood="bernoulli")
    with pytest.raises(ValueError, match="labels must be integers in 0..2; row 0 has 0.5"):
        fit(bm.MLP(in_dim=1, widths=(4,), out_dim=3), X, np.array([0.5, 1, 2, 0, 1]),
            likelihood="categorical")  # fmt: skip


def small_regression(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 1))
    return X, np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=n)


def test_chunked_nuts_reproduces_numpyro_mcmc():
    """The chunked runner makes NumPyro's own transitions from NumPyro's own initial state, so its
    draws equal MCMC's for the same key, whatever the chunk size.

    Equal up to rounding only: the two compiled loops order floating-point operations
    differently (XLA ≥ 0.10 fuses them differently), and NUTS trajectories amplify a rounding
    difference by roughly 10× per transition (measured: 4e-8 relative after 15 transitions,
    1e-6 after 16, O(1) after 40). A run of 15 transitions with rtol 1e-5 tells NumPyro's
    transitions from any other (those differ by O(1) from the first draw on)."""
    from numpyro.infer import MCMC, NUTS

    X, y = small_regression()
    net = bm.MLP(in_dim=1, widths=(4,), node_prior=P.Horseshoe(), sigma_b=1.0)
    key = jax.random.PRNGKey(3)
    result = run_nuts(
        bnn_model, (net, X, y), {}, rng_key=key, num_warmup=5, num_samples=10, chunk_size=3
    )
    mcmc = MCMC(NUTS(bnn_model), num_warmup=5, num_samples=10, progress_bar=False)
    mcmc.run(jax.random.split(key, 1)[0], net, X, y)
    expected = mcmc.get_samples(group_by_chain=True)
    assert set(result.samples) == {"w_1", "b_1", "scale_1", "w_2", "b_2", "sigma"}
    for site, value in result.samples.items():
        np.testing.assert_allclose(value, expected[site], rtol=1e-5, atol=1e-8)


class _Interrupt(Checkpoint):
    """A checkpoint whose run is 'killed' right after its ``stop_after``-th save."""

    def __init__(self, folder, fp, stop_after):
        super().__init__(folder, fp)
        self.saves, self.stop_after = 0, stop_after

    def save(self, *args):
        super().save(*args)
        self.saves += 1
        if self.saves == self.stop_after:
            raise KeyboardInterrupt


@pytest.mark.slow
@pytest.mark.parametrize("chain_method", ["sequential", "vectorized"])
def test_interrupted_nuts_run_resumes_to_the_same_draws(tmp_path, chain_method):
    X, y = small_regression()
    net = bm.MLP(in_dim=1, widths=(4,), node_prior=P.StableLike(0.7), sigma_b=1.0)
    run = dict(
        rng_key=jax.random.PRNGKey(4),
        num_warmup=40,
        num_samples=50,
        num_chains=2,
        chain_method=chain_method,
        chunk_size=20,
    )
    fp = fingerprint(run=repr(run))
    with pytest.raises(KeyboardInterrupt):  # killed after warmup and one sampling chunk
        run_nuts(bnn_model, (net, X, y), {}, **run, checkpoint=_Interrupt(tmp_path, fp, 3))
    resumed = run_nuts(bnn_model, (net, X, y), {}, **run, checkpoint=Checkpoint(tmp_path, fp))
    straight = run_nuts(bnn_model, (net, X, y), {}, **run)
    assert resumed.samples["lam_1"].shape == (2, 50, 4)
    for site, value in straight.samples.items():
        np.testing.assert_array_equal(resumed.samples[site], value)
    np.testing.assert_array_equal(resumed.stats["diverging"], straight.stats["diverging"])
    again = run_nuts(bnn_model, (net, X, y), {}, **run, checkpoint=Checkpoint(tmp_path, fp))
    np.testing.assert_array_equal(again.samples["lam_1"], straight.samples["lam_1"])
    assert len(list(tmp_path.glob("state_*.npz"))) == 1


@pytest.mark.slow
def test_interrupted_svi_run_resumes_and_foreign_checkpoints_are_refused(tmp_path):
    X, y = small_regression()
    net = bm.MLP(in_dim=1, widths=(4,), sigma_b=1.0)
    run = dict(rng_key=jax.random.PRNGKey(5), num_steps=300, chunk_size=100)
    fp = fingerprint(num_steps=300)
    with pytest.raises(KeyboardInterrupt):
        run_svi(bnn_model, (net, X, y), {}, **run, checkpoint=_Interrupt(tmp_path, fp, 2))
    resumed = run_svi(bnn_model, (net, X, y), {}, **run, checkpoint=Checkpoint(tmp_path, fp))
    straight = run_svi(bnn_model, (net, X, y), {}, **run)
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    for name, value in straight.params.items():
        np.testing.assert_array_equal(resumed.params[name], value)
    with pytest.raises(CheckpointError, match=r"different run \(num_steps: checkpoint 300, now 4"):
        run_svi(
            bnn_model,
            (net, X, y),
            {},
            **run,
            checkpoint=Checkpoint(tmp_path, fingerprint(num_steps=400)),
        )


@pytest.mark.slow
def test_fit_with_checkpoint_dir_equals_a_plain_fit(tmp_path):
    X, y = small_regression()
    net = bm.MLP(in_dim=1, widths=(4,), node_prior=P.Horseshoe(), sigma_b=1.0)
    run = dict(
        rng_key=jax.random.PRNGKey(6),
        num_warmup=30,
        num_samples=20,
        num_chains=1,
        num_prior_draws=10,
    )
    plain = fit(net, X, y, **run)
    checked = fit(net, X, y, **run, checkpoint_dir=tmp_path / "ckpt", chunk_size=15)
    resumed = fit(net, X, y, **run, checkpoint_dir=tmp_path / "ckpt")  # finished: no sampling
    for idata in (checked, resumed):
        np.testing.assert_array_equal(idata.posterior["f_monitor"], plain.posterior["f_monitor"])
    with pytest.raises(CheckpointError, match="num_samples: checkpoint 20, now 25"):
        fit(net, X, y, **{**run, "num_samples": 25}, checkpoint_dir=tmp_path / "ckpt")


def test_output_layer_drawn_from_its_exact_conditional():
    """draw_output: for fixed hidden parameters the raw output weights are N(m, P⁻¹) with
    P = I + FᵀF/σ², m = P⁻¹Fᵀy/σ², F = [σ_b 1, σ_w H diag(√λ)]. 4000 draws: every mean within
    z·sd/√S and every variance within a relative z·√(2/S) (δ = 1e-3 Bonferroni'd)."""
    from numpyro.infer import Predictive

    X, y = small_regression(n=12)
    net = bm.MLP(in_dim=1, widths=(3,), node_prior=P.Horseshoe(), sigma_w=1.3, sigma_b=0.8)
    rng = np.random.default_rng(7)
    hidden = {
        "w_1": rng.normal(size=(1, 3)),
        "b_1": rng.normal(size=3),
        "scale_1": np.array([0.9, 0.05, 0.4]),
    }
    S = 4000
    draws = Predictive(
        bnn_model,
        posterior_samples={k: np.repeat(v[None], S, 0) for k, v in hidden.items()},
        return_sites=["w_2", "b_2"],
    )(jax.random.PRNGKey(0), net, X, y, collapsed=True, draw_output=True, noise_std=0.3)
    raw = np.column_stack([np.asarray(draws["b_2"])[:, 0], np.asarray(draws["w_2"])[:, :, 0]])
    H = np.maximum(X @ (1.3 * hidden["w_1"]) + 0.8 * hidden["b_1"], 0)
    F = np.column_stack([np.full(12, 0.8), 1.3 * H * hidden["scale_1"]])
    P_ = np.eye(4) + F.T @ F / 0.3**2
    cov = np.linalg.inv(P_)
    mean = cov @ F.T @ y / 0.3**2
    z = stats.norm.isf(DELTA / 2 / 8)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(raw.mean(0) - mean) <= z * sd / math.sqrt(S))
    assert np.all(np.abs(raw.var(0) / sd**2 - 1) <= z * math.sqrt(2 / S))


@pytest.mark.statistical
@pytest.mark.slow  # the collapsed density is checked exactly in tests/test_model.py
def test_collapsed_and_explicit_fits_give_the_same_posterior_predictive():
    """NUTS on the collapsed and on the explicit model of a small horseshoe regression: the
    posterior mean of f at every monitor input agrees within z·sqrt(se₁² + se₂²) (se = sd/√ESS,
    δ = 1e-3 Bonferroni'd over the inputs), and so do the posterior sds, with the relative se
    of a sample sd sqrt((κ − 1)/(4 ESS₂)): κ the kurtosis of the draws (the horseshoe's
    predictive is far from Gaussian, where κ = 3 gives √(1/(2 ESS))) and ESS₂ that of the
    squared deviations."""
    import arviz as az

    X, y = small_regression(n=30)
    net = bm.MLP(in_dim=1, widths=(6,), node_prior=P.Horseshoe(), sigma_b=1.0)
    X_test = np.array([[-2.5], [0.0], [2.5]])
    run = dict(
        X_test=X_test,
        num_warmup=400,
        num_samples=800,
        num_chains=2,
        num_prior_draws=10,
        target_accept=0.95,
    )
    fits = [
        fit(net, X, y, rng_key=jax.random.PRNGKey(8), collapsed=c, **run) for c in (True, False)
    ]
    moments = []
    for idata in fits:
        f = idata.posterior["f_monitor"].sel(output=0)
        mean = f.mean(("chain", "draw"))
        sq = (f - mean) ** 2
        ess = np.asarray(az.ess(f.to_dataset(name="f"), method="mean")["f"])
        ess_sq = np.asarray(az.ess(sq.to_dataset(name="f"), method="mean")["f"])
        sd = np.asarray(f.std(("chain", "draw")))
        kurtosis = np.asarray((sq**2).mean(("chain", "draw"))) / sd**4
        rel_var_sd = (kurtosis - 1) / (4 * ess_sq)
        moments.append((np.asarray(mean), sd, ess, rel_var_sd))
    (m1, s1, e1, r1), (m2, s2, e2, r2) = moments
    z = stats.norm.isf(DELTA / 2 / len(m1))
    assert np.all(np.abs(m1 - m2) <= z * np.sqrt(s1**2 / e1 + s2**2 / e2))
    assert np.all(np.abs(s1 / s2 - 1) <= z * np.sqrt(r1 + r2))
    assert fits[0].attrs["collapsed"] == 1
    assert set(fits[0].posterior.data_vars) >= {"w_2", "b_2", "scale_1", "lam_1", "sigma"}


PARALLEL_SCRIPT = """
import jax, numpy as np
import bnn_mogp as bm
from bnn_mogp.model import bnn_model
from bnn_mogp.inference import run_nuts
assert jax.local_device_count() == 2
rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, (30, 1)); y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=30)
net = bm.MLP(in_dim=1, widths=(4,), node_prior=bm.priors.Horseshoe(), sigma_b=1.0)
with jax.enable_x64(True):
    r = {cm: run_nuts(bnn_model, (net, X, y), {}, rng_key=jax.random.PRNGKey(3), num_warmup=0,
                      num_samples=10, num_chains=2, chain_method=cm, chunk_size=4)
         for cm in ("parallel", "sequential", "vectorized")}
for cm in ("parallel", "vectorized"):
    for site, value in r["sequential"].samples.items():
        np.testing.assert_allclose(r[cm].samples[site], value, rtol=1e-9, atol=1e-12)
print("ok")
"""


@pytest.mark.slow
def test_chain_methods_make_the_same_transitions():
    """From the same initial states (no warmup, whose adaptation amplifies rounding
    differences), sequential, vectorized and parallel (pmap over 2 host devices) chains agree."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PARALLEL_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
    with pytest.raises(ValueError, match="'parallel' needs num_chains = 2 devices"):
        X, y = small_regression()
        run_nuts(
            bnn_model,
            (bm.MLP(in_dim=1, widths=(2,)), X, y),
            {},
            rng_key=jax.random.PRNGKey(0),
            num_warmup=1,
            num_samples=1,
            num_chains=2,
            chain_method="parallel",
        )
