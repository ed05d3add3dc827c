"""``fit``: NUTS or SVI on the NumPyro model of a network, returned as ``arviz.InferenceData``.

Groups: posterior, sample_stats (NUTS: diverging, tree_depth, step_size, energy,
acceptance_rate, n_steps, lp), prior, prior_predictive, posterior_predictive, observed_data,
constant_data (X, X_monitor), log_likelihood (computed here, vectorised over draws in chunks) and,
when test inputs are given, predictions (with predictions_constant_data). Function values at
fixed monitor inputs are stored in the posterior as ``f_monitor`` with dims (monitor, output),
so that convergence can be judged in function space (DESIGN §6.2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO, autoguide
from numpyro.infer import log_likelihood as numpyro_log_likelihood

from bnn_mogp._validation import check_real, check_width
from bnn_mogp.diagnostics import make_inference_data
from bnn_mogp.model import LIKELIHOODS, bnn_model
from bnn_mogp.nn import MLP, check_inputs

__all__ = ["fit", "monitor_inputs", "GUIDES"]

#: SVI guides by name
GUIDES = {
    "normal": autoguide.AutoNormal,
    "lowrank": autoguide.AutoLowRankMultivariateNormal,
    "delta": autoguide.AutoDelta,
}
_LOGLIK_CHUNK = 256


def monitor_inputs(X, X_test=None, num_train: int = 3, num_test: int = 2) -> np.ndarray:
    """Deterministic monitor inputs: training rows at the 0, ½, 1 quantiles of the first
    coordinate, and test rows likewise (DESIGN §6.2)."""

    def pick(A, k):
        A = np.asarray(A)
        order = np.argsort(A[:, 0], kind="stable")
        idx = order[np.unique(np.round(np.linspace(0, len(A) - 1, k)).astype(int))]
        return A[idx]

    parts = [pick(X, num_train)]
    if X_test is not None and len(X_test):
        parts.append(pick(X_test, num_test))
    return np.concatenate(parts)


def _dims(net: MLP, likelihood: str) -> dict:
    dims = {"f_monitor": ["monitor", "output"], "y": ["obs"] if likelihood != "gaussian"
            else ["obs", "output"]}
    sizes = (net.in_dim, *net.widths, net.out_dim)
    names = ["input", *[f"node_{l}" for l in range(1, net.depth + 1)], "output"]
    for l in range(1, len(sizes)):
        dims[f"w_{l}"] = [names[l - 1], names[l]]
        dims[f"b_{l}"] = [names[l]]
    for l in range(1, net.depth + 1):
        for site in ("lam", "scale", "slab_prob"):
            dims[f"{site}_{l}"] = [f"node_{l}"]
    return dims


def _by_chain(samples: dict, num_chains: int) -> dict:
    return {k: np.asarray(v).reshape((num_chains, -1) + np.shape(v)[1:])
            for k, v in samples.items()}


def _pointwise_log_lik(model_kwargs, samples, net, X, y, num_chains):
    flat = {k: jnp.asarray(v) for k, v in samples.items()}
    num = next(iter(flat.values())).shape[0]
    parts = []
    for start in range(0, num, _LOGLIK_CHUNK):
        chunk = {k: v[start : start + _LOGLIK_CHUNK] for k, v in flat.items()}
        parts.append(np.asarray(numpyro_log_likelihood(bnn_model, chunk, net, X, y,
                                                       **model_kwargs)["y"]))
    ll = np.concatenate(parts)
    if ll.ndim == 3:  # gaussian: (draws, N, K) → sum over outputs
        ll = ll.sum(-1)
    return {"y": ll.reshape((num_chains, -1) + ll.shape[1:])}


def fit(
    net: MLP,
    X,
    y,
    *,
    likelihood: str = "gaussian",
    method: str = "nuts",
    rng_key=None,
    X_test=None,
    X_monitor=None,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 2,
    chain_method: str = "sequential",
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    dense_mass: bool = False,
    guide: str = "normal",
    learning_rate: float = 1e-2,
    num_steps: int = 5000,
    num_particles: int = 1,
    num_prior_draws: int = 200,
    progress: bool = False,
):
    """Fit ``net`` to (X, y) and return an ``arviz.InferenceData`` (see the module docstring).

    Args:
        net, X, y, likelihood, noise_std, noise_scale: as in :func:`bnn_mogp.model.bnn_model`.
        method: ``"nuts"`` or ``"svi"``.
        rng_key: a JAX PRNG key (default PRNGKey(0)).
        X_test: test inputs for the ``predictions`` group.
        X_monitor: monitor inputs (default :func:`monitor_inputs`).
        num_warmup, num_samples, num_chains, chain_method, target_accept, max_tree_depth,
            dense_mass: NUTS settings.
        guide, learning_rate, num_steps, num_particles: SVI settings (guide: a key of
            ``GUIDES``; Adam with the step size decaying from ``learning_rate`` tenfold over
            the run; ``num_particles`` Monte Carlo samples per ELBO gradient);
            ``num_samples`` × ``num_chains`` draws are taken from the fitted guide.
        num_prior_draws: draws for the prior and prior_predictive groups.
        progress: show progress bars.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
    if method not in ("nuts", "svi"):
        raise ValueError(f"method must be 'nuts' or 'svi', got {method!r}")
    if method == "svi" and guide not in GUIDES:
        raise ValueError(f"guide must be one of {', '.join(GUIDES)}, got {guide!r}")
    for name, value in (("num_warmup", num_warmup + 1), ("num_samples", num_samples),
                        ("num_chains", num_chains), ("max_tree_depth", max_tree_depth),
                        ("num_steps", num_steps), ("num_particles", num_particles),
                        ("num_prior_draws", num_prior_draws)):
        check_width(value, name)
    check_real("target_accept", target_accept, low=0.0, high=1.0)
    check_real("learning_rate", learning_rate, low=0.0)
    rng_key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    X = np.asarray(check_inputs(net, X), dtype=float)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} rows but X has {X.shape[0]}")
    X_test = None if X_test is None else np.asarray(check_inputs(net, X_test), dtype=float)
    X_monitor = (monitor_inputs(X, X_test) if X_monitor is None
                 else np.asarray(check_inputs(net, X_monitor), dtype=float))
    kwargs = dict(likelihood=likelihood, noise_std=noise_std, noise_scale=noise_scale)
    k_fit, k_post, k_prior, k_pred = jax.random.split(rng_key, 4)

    if method == "nuts":
        kernel = NUTS(bnn_model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                      dense_mass=dense_mass)
        mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                    chain_method=chain_method, progress_bar=progress)
        mcmc.run(k_fit, net, X, y, X_monitor=X_monitor,
                 extra_fields=("diverging", "num_steps", "accept_prob", "energy",
                               "adapt_state.step_size", "potential_energy"), **kwargs)
        latent = mcmc.get_samples()
        extra = mcmc.get_extra_fields(group_by_chain=True)
        steps = np.asarray(extra["num_steps"])
        sample_stats = {
            "diverging": np.asarray(extra["diverging"]),
            "n_steps": steps,
            "tree_depth": np.ceil(np.log2(steps + 1)).astype(int),
            "acceptance_rate": np.asarray(extra["accept_prob"]),
            "energy": np.asarray(extra["energy"]),
            "step_size": np.asarray(extra["adapt_state.step_size"]),
            "lp": -np.asarray(extra["potential_energy"]),
        }
    else:
        svi_guide = GUIDES[guide](bnn_model)
        # Adam with the step size decaying tenfold over the run, so that the final iterate sits
        # close to the optimum rather than in the stochastic-gradient noise around it
        schedule = lambda i: learning_rate * 0.1 ** (i / num_steps)  # noqa: E731
        svi = SVI(bnn_model, svi_guide, numpyro.optim.Adam(schedule),
                  Trace_ELBO(num_particles=num_particles))
        result = svi.run(k_fit, num_steps, net, X, y, X_monitor=X_monitor, progress_bar=progress,
                         **kwargs)
        draws = Predictive(svi_guide, params=result.params,
                           num_samples=num_samples * num_chains)(k_post, net, X, y, **kwargs)
        latent = {k: v for k, v in draws.items() if k != "y"}
        sample_stats = {"elbo_loss": np.asarray(result.losses)[None, -num_samples:]
                        if len(result.losses) >= num_samples else None}
        sample_stats = {k: v for k, v in sample_stats.items() if v is not None}

    # deterministic sites (λ, f_monitor, slab probabilities) for every draw
    posterior = Predictive(bnn_model, posterior_samples=latent, return_sites=None)(
        k_post, net, X, None, X_monitor=X_monitor, **kwargs)
    post_pred = {"y": posterior.pop("y")}
    posterior = {**latent, **posterior}
    prior = Predictive(bnn_model, num_samples=num_prior_draws)(k_prior, net, X, None,
                                                               X_monitor=X_monitor, **kwargs)
    prior_pred = {"y": prior.pop("y")}
    groups = dict(
        posterior=_by_chain(posterior, num_chains),
        posterior_predictive=_by_chain(post_pred, num_chains),
        log_likelihood=_pointwise_log_lik(dict(X_monitor=X_monitor, **kwargs), latent, net, X, y,
                                          num_chains),
        sample_stats=sample_stats or None,
        prior=_by_chain(prior, 1),
        prior_predictive=_by_chain(prior_pred, 1),
        observed_data={"y": y if likelihood != "gaussian" or y.ndim == 2 else y[:, None]},
        constant_data={"X": X, "X_monitor": X_monitor},
    )
    if X_test is not None:
        pred = Predictive(bnn_model, posterior_samples=latent)(k_pred, net, X_test, None,
                                                               **kwargs)
        groups["predictions"] = _by_chain({"y": pred["y"]}, num_chains)
        groups["predictions_constant_data"] = {"X_test": X_test}
    dims = _dims(net, likelihood)
    dims.update(X=["obs", "input"], X_monitor=["monitor", "input"], X_test=["test", "input"])
    pred_dims = {"y": ["test", "output"] if likelihood == "gaussian" else ["test"]}
    return make_inference_data(**groups, dims=dims, pred_dims=pred_dims,
                               attrs={"method": method, "likelihood": likelihood,
                                      "network": repr(net)})

