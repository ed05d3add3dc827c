"""NUTS on a network whose prior is placed per weight (DESIGN §15)."""

import jax
import numpy as np
import pytest

import bnn_mogp as bm
from bnn_mogp.diagnostics import convergence_gates


@pytest.mark.slow
def test_per_weight_horseshoe_nuts_fit_passes_the_gates():
    """A per-weight horseshoe ReLU network on a small regression (the data of
    tests/test_diagnostics.py): NUTS (non-centred, half-Cauchy scales in log space, collapsed
    output layer; 2 × 500 draws) passes the validity gates — R-hat, bulk and tail ESS, BFMI —
    with divergent transitions at most 0.5 % (DESIGN §11; on this machine 0, but a single run's
    divergence count depends on the CPU's floating-point code, as for the per-node test), and its
    λ have one value per weight."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (30, 1))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.normal(size=30)
    net = bm.MLP(1, (8,), 1, "relu", bm.priors.Horseshoe(), sigma_b=1.0, placement="weight")
    idata = bm.fit(net, X, y, rng_key=jax.random.PRNGKey(1), num_warmup=500, num_samples=500,
                   num_chains=2, target_accept=0.9, progress=False)  # fmt: skip
    assert idata.posterior["lam_1"].dims == ("chain", "draw", "node_1", "output")
    gates = convergence_gates(idata)
    validity = gates[(gates["kind"] == "validity") & (gates.index != "divergences")]
    assert validity["passed"].all(), gates
    assert gates.loc["divergences", "value"] <= 0.005 * 2 * 500
