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
from bnn_mogp.inference import fit, monitor_inputs

DELTA = 1e-3
GROUPS = {"posterior", "posterior_predictive", "predictions", "log_likelihood", "sample_stats",
          "prior", "prior_predictive", "observed_data", "constant_data",
          "predictions_constant_data"}


def test_nuts_inference_data_is_complete_and_round_trips(tmp_path):
    import arviz as az

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (40, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=40)
    net = bm.MLP(in_dim=1, widths=(8,), node_prior=P.Horseshoe(), sigma_b=1.0)
    X_test = np.linspace(-3, 3, 5)[:, None]
    idata = fit(net, X, y, rng_key=jax.random.PRNGKey(1), num_warmup=150, num_samples=100,
                num_chains=2, X_test=X_test)
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
    idata = fit(net, X, y, method="svi", rng_key=jax.random.PRNGKey(2), noise_std=0.3,
                num_steps=8000, learning_rate=0.05, num_particles=16, num_samples=4000,
                num_chains=1)
    post = idata.posterior
    coef = np.column_stack([np.asarray(post["b_1"]).reshape(-1),
                            1.5 / math.sqrt(3) * np.asarray(post["w_1"]).reshape(-1, 3)])
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
    with pytest.raises(ValueError, match="y has 4 rows but X has 5"):
        fit(net, X, y[:4])
