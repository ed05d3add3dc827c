"""Each prior places itself: a new family is one class in one file, and the whole package (spec
names, the NumPyro model, fit, the limit) takes it with the default, non-centred placement."""

import dataclasses
import math

import jax
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import log_density

import bnn_mogp as bm
from bnn_mogp.model import bnn_model
from bnn_mogp.priors import FAMILIES, NodePrior, make_prior
from bnn_mogp.priors.levy import NoJumps


@pytest.fixture
def lognormal_family():
    """λ = e^{−log n − s²/2 + s Z}: mean 1/n, a GP limit with drift 1. Defined here, in one
    place, as a user would in a file of their own; unregistered afterwards."""

    @dataclasses.dataclass(frozen=True)
    class LogNormalNodes(NodePrior):
        family = "test_lognormal"
        s: float = 0.5

        def at_width(self, n: int):
            return dist.LogNormal(-math.log(n) - self.s**2 / 2, self.s)

        def limit(self):
            return NoJumps(drift=1.0)

    yield LogNormalNodes
    del FAMILIES["test_lognormal"]


def test_a_new_family_registers_and_places_itself(lognormal_family):
    prior = make_prior("test_lognormal", s=0.3)
    assert isinstance(prior, lognormal_family) and FAMILIES["test_lognormal"] is lognormal_family
    assert prior.to_dict() == {"family": "test_lognormal", "s": 0.3}
    net = bm.MLP(in_dim=2, widths=(5,), node_prior=prior, sigma_b=1.0)
    assert bm.MLP.from_dict(net.to_dict()) == net
    X = np.random.default_rng(0).normal(size=(6, 2))
    y = np.random.default_rng(1).normal(size=6)
    with jax.enable_x64(True):
        trace = jax.tree.map(
            np.asarray,
            log_density(
                bnn_model,
                (net, X, y),
                {},
                {
                    "w_1": np.zeros((2, 5)),
                    "b_1": np.zeros(5),
                    "lam_1": np.full(5, 0.2),
                    "w_2": np.ones((5, 1)),
                    "b_2": np.zeros(1),
                    "sigma": np.array(0.5),
                },
            )[1],
        )
    # the default placement: λ iid with the law at width n, raw N(0, 1) outgoing weights
    lam_site = trace["lam_1"]
    expected = dist.LogNormal(-math.log(5) - 0.3**2 / 2, 0.3).log_prob(0.2)
    assert np.allclose(lam_site["fn"].log_prob(lam_site["value"]), 5 * expected)
    assert float(trace["w_2"]["fn"].base_dist.base_dist.scale) == 1.0
    assert prior.collapsible and bm.inference.default_collapsed(net, "gaussian")
    f = bm.theory.MoGP(net).sample_functions(jax.random.PRNGKey(0), X, 3)
    assert f.shape == (3, 6, 1) and np.all(np.isfinite(f))


def test_a_family_name_is_registered_once(lognormal_family):
    with pytest.raises(TypeError, match="already registered"):

        class Again(NodePrior):
            family = "test_lognormal"
