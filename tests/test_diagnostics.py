"""NUTS geometry: the package's horseshoe model against the centred model a user would write,
and the convergence gates on a converged and an unconverged run."""

from __future__ import annotations

import json
import re

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from numpyro.infer import MCMC, NUTS

import bnn_mogp as bm
from bnn_mogp import priors as P
from bnn_mogp.diagnostics import GATES, convergence_gates, convergence_summary

WIDTH = 8


def horseshoe_data(n=30, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 1))
    return X, np.sin(2 * X[:, 0]) + noise * rng.normal(size=n)


def centred_model(X, y=None):
    """The same prior, written the obvious way: V_jk ~ N(0, σ_w² s_j²) sampled directly."""
    n = WIDTH
    W = numpyro.sample("W", dist.Normal(0, 1.0).expand([1, n]).to_event(2))
    b = numpyro.sample("b", dist.Normal(0, 1.0).expand([n]).to_event(1))
    s = numpyro.sample("s", dist.HalfCauchy(1.0 / n).expand([n]).to_event(1))
    V = numpyro.sample("V", dist.Normal(0, s).to_event(1))
    c = numpyro.sample("c", dist.Normal(0, 1.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    numpyro.sample("y", dist.Normal(jax.nn.relu(X @ W + b) @ V + c, sigma), obs=y)


@pytest.mark.slow
@pytest.mark.statistical
def test_package_model_converges_where_the_centred_model_shows_the_funnel():
    """Same data, prior, seeds and NUTS settings (500 warmup, target acceptance 0.9). The
    package's model (collapsed last layer; 2 chains × 1000 draws) passes the R-hat gate on σ, the
    sorted λ and f at the monitor inputs, with at most 0.5 % divergent transitions (DESIGN §11:
    < 1 %); the centred model (2 × 500) diverges and mixes its node scales badly (bulk ESS of
    some s_j below the 100-per-chain gate).

    (At 2 × 500 draws the package's largest R-hat over the 27 monitored quantities is 1.012 on
    this machine, before and after the restructuring alike — bit-identical draws — so the gate's
    1.01 is judged on 2 × 1000, where it is 1.003; a single run's trajectory, and so its
    divergence count, depends on the CPU's floating-point code, hence a rate, not zero.)"""
    X, y = horseshoe_data()
    net = bm.MLP(in_dim=1, widths=(WIDTH,), node_prior=P.Horseshoe(), sigma_b=1.0)
    idata = bm.fit(
        net,
        X,
        y,
        collapsed=True,
        target_accept=0.9,
        num_warmup=500,
        num_samples=1000,
        num_chains=2,
        rng_key=jax.random.PRNGKey(1),
        num_prior_draws=10,
    )
    gates = convergence_gates(idata)
    assert gates.loc["r_hat", "value"] <= GATES["r_hat"]
    assert gates.loc["divergences", "value"] <= 0.005 * 2 * 1000

    mcmc = MCMC(
        NUTS(centred_model, target_accept_prob=0.9),
        num_warmup=500,
        num_samples=500,
        num_chains=2,
        chain_method="sequential",
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(1), X, y, extra_fields=("diverging",))
    assert int(np.sum(mcmc.get_extra_fields()["diverging"])) > 0
    scales = mcmc.get_samples(group_by_chain=True)["s"]
    ess = numpyro.diagnostics.effective_sample_size(np.asarray(scales))
    assert ess.min() < GATES["ess_per_chain"] * 2


@pytest.mark.slow
def test_gates_fail_on_an_unconverged_run_and_pass_on_a_converged_one():
    """Bayesian linear regression (widths = ()) with 1000 draws passes every gate; 10 warmup
    transitions and 30 draws fail the ESS gates (and the reasons name the quantity)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([0.5, -1.0]) + 0.3 * rng.normal(size=40)
    net = bm.MLP(in_dim=2, widths=(), sigma_b=1.0)
    good = bm.fit(
        net,
        X,
        y,
        num_warmup=300,
        num_samples=500,
        num_chains=2,
        rng_key=jax.random.PRNGKey(0),
        num_prior_draws=10,
    )
    gates = convergence_gates(good)
    assert gates["passed"].all(), gates
    summary = convergence_summary(good)
    assert list(summary.index[:1]) == ["sigma"] and len(summary) == 1 + 3  # σ, 3 monitor inputs
    # issue 12: with one chain the R-hat gate disappeared; now split R-hat of its two halves
    one = good.isel(chain=[0])
    gates = convergence_gates(one)
    assert gates.loc["r_hat", "passed"] and "one chain" in gates.loc["r_hat", "reason"]
    one.posterior["sigma"] = one.posterior["sigma"] + np.linspace(0, 1, 500)  # a drifting chain
    gates = convergence_gates(one)
    assert not gates.loc["r_hat", "passed"] and "at sigma" in gates.loc["r_hat", "reason"]
    bad = bm.fit(
        net,
        X,
        y,
        num_warmup=10,
        num_samples=30,
        num_chains=2,
        rng_key=jax.random.PRNGKey(0),
        num_prior_draws=10,
    )
    gates = convergence_gates(bad)
    assert not gates.loc["ess_bulk", "passed"]
    assert "smallest bulk ESS" in gates.loc["ess_bulk", "reason"]
    svi = bm.fit(
        net, X, y, method="svi", num_steps=200, num_samples=50, num_chains=1, num_prior_draws=10
    )
    assert convergence_gates(svi).empty


@pytest.mark.slow
def test_sampling_until_converged_continues_the_same_chains(tmp_path):
    """Issue 12: with 2 × 40 draws the ESS gates fail; the sampler continues the same chains
    (no second warmup) 40 draws at a time until every validity gate passes, and the result is
    exactly a straight run of the final length."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([0.5, -1.0]) + 0.3 * rng.normal(size=40)
    net = bm.MLP(in_dim=2, widths=(), sigma_b=1.0)
    settings = dict(num_warmup=200, num_chains=2, rng_key=jax.random.PRNGKey(0), num_prior_draws=10)
    lines = []
    idata = bm.sample_until_converged(
        net, X, y, num_samples=40, max_samples=800, log=lines.append, **settings
    )
    state = json.loads(idata.attrs["until_converged"])
    assert state["status"] == "converged" and state["rounds"] >= 2 and lines
    assert idata.posterior.sizes["draw"] == state["num_samples"] > 40
    assert convergence_gates(idata)["passed"].all()
    straight = bm.fit(net, X, y, num_samples=state["num_samples"], **settings)
    np.testing.assert_array_equal(idata.posterior["sigma"], straight.posterior["sigma"])
    budget = bm.sample_until_converged(net, X, y, num_samples=40, max_samples=40, **settings)
    state = json.loads(budget.attrs["until_converged"])
    assert state["status"] == "budget spent" and "bulk ESS" in state["failed_gates"]


@pytest.mark.slow
def test_divergences_start_afresh_with_a_higher_target_accept(monkeypatch):
    """Issue 12: more draws cannot cure divergences (the count only grows). An explicit
    horseshoe network diverges at target_accept 0.8 and 0.9 (3 of 60 transitions each when the
    test was written; 1 at 0.8 with jax 0.10.2, whose CPU code rounds differently: one run's
    count depends on the floating-point code, so any positive count is the premise); the sampler
    starts afresh at 0.9, then 0.95, where none diverge, and its draws are exactly a straight run
    at 0.95. When only gates that draws cannot cure fail, it stops at once."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=20)
    net = bm.MLP(in_dim=1, widths=(6,), sigma_b=1.0, node_prior=P.Horseshoe())
    settings = dict(
        collapsed=False, num_warmup=60, num_samples=30, num_chains=2,
        rng_key=jax.random.PRNGKey(1), num_prior_draws=5,
    )  # fmt: skip
    lines = []
    idata = bm.sample_until_converged(net, X, y, max_samples=30, log=lines.append, **settings)
    state = json.loads(idata.attrs["until_converged"])
    assert (state["restarts"], state["target_accept"], state["rounds"]) == (2, 0.95, 3)
    assert "divergences" not in state["failed_gates"]
    assert re.match(r"[1-9]\d* of 60 transitions after warmup diverged", lines[0]), lines[0]
    assert lines[0].endswith("starting afresh with target_accept 0.9")
    straight = bm.fit(net, X, y, target_accept=0.95, **settings)
    np.testing.assert_array_equal(idata.posterior["w_1"], straight.posterior["w_1"])

    def only_bfmi_fails(idata):
        gates = convergence_gates(idata)
        gates["passed"] = gates.index != "bfmi"
        return gates

    monkeypatch.setattr(bm.convergence, "convergence_gates", only_bfmi_fails)
    stopped = bm.sample_until_converged(net, X, y, max_samples=300, **settings)
    state = json.loads(stopped.attrs["until_converged"])
    assert state["status"] == "not curable by more draws" and state["rounds"] == 1


def test_one_chain_summary_prints_no_arviz_shape_warning(capfd):
    """ArviZ logs "Shape validation failed" to stderr for the R-hat of one chain, which the
    summary replaces by the split R-hat of the chain's halves (seen under `bnn-mogp fit` of an
    SG-MCMC run); the summary keeps it quiet and still reports that R-hat."""
    import arviz as az

    draws = np.random.default_rng(0).normal(size=(1, 40))
    summary = convergence_summary(az.from_dict(posterior={"sigma": draws}))
    assert np.isfinite(summary.loc["sigma", "r_hat"])
    assert "Shape validation" not in capfd.readouterr().err
