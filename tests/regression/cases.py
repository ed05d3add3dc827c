"""Fixed cases whose numbers must not change when the code is restructured (issue 11).

``make_reference.py`` stored their values, computed by the code before the restructuring, in
``reference.npz``; ``test_regression.py`` recomputes them. Log densities and function values at
fixed parameters must agree to 1e-12 (relative); prior and limit draws bit for bit.
"""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.infer import Predictive
from numpyro.infer.util import log_density

import bnn_mogp as bm
from bnn_mogp.model import bnn_model

P = bm.priors
RNG = np.random.default_rng(20261130)
X5 = RNG.normal(size=(9, 3))
X1 = np.linspace(-2.0, 2.0, 7)[:, None]


def _net(widths, prior, **kw):
    return bm.MLP(in_dim=kw.pop("in_dim", 3), widths=widths, node_prior=prior, **kw)


#: name → (network, X, y, model keyword arguments)
MODEL_CASES = {
    "horseshoe_collapsed": (
        _net((6,), P.Horseshoe(1.0), sigma_b=1.0),
        X5,
        RNG.normal(size=9),
        dict(likelihood="gaussian", collapsed=True),
    ),
    "horseshoe_explicit": (
        _net((6,), P.Horseshoe(0.7), sigma_b=1.0),
        X5,
        RNG.normal(size=9),
        dict(likelihood="gaussian", X_monitor=X5[:2]),
    ),
    "stable_gamma_tanh": (
        _net(
            (5, 4),
            (P.StableLike(0.6), P.Gamma(1.0, 2.0)),
            activation="tanh",
            out_dim=2,
            sigma_w=1.3,
            sigma_b=0.4,
        ),
        X5,
        RNG.normal(size=(9, 2)),
        dict(likelihood="gaussian", noise_std=0.3, X_monitor=X5[3:5]),
    ),
    "spike_slab_bernoulli": (
        _net((6,), P.GaussianMixture(0.5, 1.0, 2.0), sigma_b=1.0),
        X5,
        (RNG.uniform(size=9) < 0.5).astype(int),
        dict(likelihood="bernoulli", X_monitor=X5[:3]),
    ),
    "deterministic_categorical": (
        _net((5,), P.Deterministic(2.0), out_dim=3, sigma_b=0.5),
        X5,
        RNG.integers(0, 3, size=9),
        dict(likelihood="categorical", X_monitor=X5[:2]),
    ),
    "inverse_gamma_beta_collapsed": (
        _net((5, 5), (P.InverseGamma(3.0), P.Beta(1.0)), activation="erf"),
        X5,
        RNG.normal(size=9),
        dict(likelihood="gaussian", collapsed=True, noise_scale=0.5),
    ),
    "linear": (
        _net((), P.Deterministic(), sigma_b=1.0),
        X5,
        RNG.normal(size=9),
        dict(likelihood="gaussian", X_monitor=X5[:2]),
    ),
    "horseshoe_spike_slab": (
        _net((4, 5), (P.Horseshoe(1.0), P.GaussianMixture(1.0, 1.0, 1.5)), sigma_b=1.0),
        X5,
        RNG.normal(size=9),
        dict(likelihood="gaussian", X_monitor=X5[:2]),
    ),
}

#: name → (network, inputs, number of draws)
PRIOR_CASES = {
    "horseshoe_relu": (_net((8, 8), P.Horseshoe(1.0), in_dim=1, out_dim=2), X1, 25),
    "stable_tanh": (
        _net((10,), P.StableLike(0.5, 1.0, 0.3), in_dim=1, activation="tanh", sigma_b=0.5),
        X1,
        25,
    ),
    "spike_slab_gamma": (
        _net((6, 7), (P.GaussianMixture(0.5, 1.0, 2.0), P.Gamma(1.0, 1.0)), in_dim=3, sigma_b=1.0),
        X5,
        25,
    ),
    "beta_inverse_gamma_erf": (
        _net((9, 5), (P.Beta(1.0), P.InverseGamma(2.5)), in_dim=3, activation="erf", out_dim=3),
        X5,
        25,
    ),
}

#: name → (network, inputs, number of draws, number of jumps)
LIMIT_CASES = {
    "horseshoe_relu_2": (_net((1, 1), P.Horseshoe(1.0), in_dim=1, sigma_b=0.3), X1, 20, 32),
    "spike_slab_relu": (_net((3,), P.GaussianMixture(0.5, 1.0, 2.0), in_dim=3), X5, 20, 32),
    "stable_erf": (
        _net((1,), P.StableLike(0.6), in_dim=3, activation="erf", sigma_b=1.0),
        X5,
        20,
        16,
    ),
    "deterministic_relu_2": (_net((1, 1), P.Deterministic(1.5), in_dim=1), X1, 5, 8),
}

#: name → (network, inputs)
KERNEL_CASES = {
    "relu_2": (_net((1, 1), P.Deterministic(), in_dim=3, sigma_b=0.5), X5),
    "erf_1": (_net((1,), P.InverseGamma(3.0, 2.0), in_dim=3, activation="erf"), X5),
    "gelu_3": (_net((1, 1, 1), P.Deterministic(), in_dim=3, activation="gelu", sigma_w=1.4), X5),
}


def _args(case):
    net, X, y, kwargs = case
    return (net, jnp.asarray(X), jnp.asarray(y)), kwargs


def fixed_latents(case) -> dict:
    """One draw of the model's latent sites (y excluded), from the prior with a fixed seed."""
    (net, X, _), kwargs = _args(case)
    trace = numpyro.handlers.trace(numpyro.handlers.seed(bnn_model, 11)).get_trace(
        net, X, None, **kwargs
    )
    return {
        k: s["value"]
        for k, s in trace.items()
        if s["type"] == "sample" and k != "y" and not s["is_observed"]
    }


def model_values(case, latents) -> dict:
    """The joint log density at ``latents`` and the deterministic sites it implies; for a
    collapsed model also the output layer drawn from its conditional (fixed key)."""
    args, kwargs = _args(case)
    latents = {k: jnp.asarray(v) for k, v in latents.items()}
    logp, trace = log_density(bnn_model, args, kwargs, latents)
    out = {"log_density": logp}
    out.update({f"site/{k}": s["value"] for k, s in trace.items() if s["type"] == "deterministic"})
    if kwargs.get("collapsed"):
        net = args[0]
        draws = Predictive(
            bnn_model,
            posterior_samples={k: v[None] for k, v in latents.items()},
            return_sites=[f"w_{net.depth + 1}", f"b_{net.depth + 1}"],
        )(jax.random.PRNGKey(3), *args, draw_output=True, **kwargs)
        out.update({f"output/{k}": v[0] for k, v in draws.items()})
    return out


def prior_draws(case) -> np.ndarray:
    net, X, num = case
    return bm.sample_prior_functions(jax.random.PRNGKey(5), net, X, num)


def limit_draws(case) -> dict:
    net, X, num, jumps = case
    lim = bm.theory.MoGP(net)
    kernels = lim.sample_kernels(jax.random.PRNGKey(6), X, num, jumps, return_truncation=True)
    return {
        "functions": lim.sample_functions(jax.random.PRNGKey(7), X, num, 2, jumps),
        "kernels": kernels.kernels,
        "truncation": kernels.truncation,
    }


def kernel_values(case) -> dict:
    net, X = case
    return {"nngp": bm.theory.nngp_kernel(net, X, X[:4]), "ntk": bm.theory.ntk_kernel(net, X)}
