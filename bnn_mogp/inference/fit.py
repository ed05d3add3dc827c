"""``fit``: NUTS, SVI, SG-MCMC or MAP on the NumPyro model of a network, as ``arviz.InferenceData``.

Groups: posterior, sample_stats (NUTS: diverging, tree_depth, step_size, energy,
acceptance_rate, n_steps, lp), prior, prior_predictive, posterior_predictive, observed_data,
constant_data (X, X_monitor), log_likelihood (computed here, vectorised over draws in chunks) and,
when test inputs are given, predictions (``y``: replicated targets; ``f``: the noise-free
function, dims (test, output); with predictions_constant_data); SVI runs add the group
``svi_losses`` (the ELBO loss of every step), mini-batch runs (SGHMC, SGLD, MAP) the group
``training`` (loss per data point, batch accuracy or squared error, learning rate; per chain and
epoch) and no sample_stats. Function values at fixed monitor inputs are stored
in the posterior as ``f_monitor`` with dims (monitor, output), so that convergence can be judged
in function space (DESIGN §6.2). The attribute ``draws`` says what the draws are
(:data:`DRAW_KINDS`: MCMC, guide draws, stochastic-gradient MCMC, point estimates).

With ``collapsed=True`` NUTS samples the model with the output layer integrated out; every
posterior draw is then completed with output weights drawn from their exact Gaussian conditional
(:func:`bnn_mogp.model.bnn_model`, ``draw_output``), so that all groups are those of the explicit
model.

The posterior predictive, the log-likelihood and the predictions are evaluated over draws and rows
in chunks (:func:`bnn_mogp._chunks.map_row_chunks`), so their memory does not grow with N.
"""

from __future__ import annotations

import json

import jax
import numpy as np
from numpyro.infer import Predictive
from numpyro.infer import log_likelihood as numpyro_log_likelihood

from bnn_mogp._chunks import map_draw_chunks, map_row_chunks
from bnn_mogp._memory import check_memory, release_compiled_programs
from bnn_mogp._precision import float64
from bnn_mogp._validation import check_width
from bnn_mogp.inference.checkpoint import Checkpoint, fingerprint, raw_key
from bnn_mogp.inference.config import MINIBATCH_METHODS, make_config
from bnn_mogp.inference.minibatch import run_minibatch, schedule
from bnn_mogp.inference.nuts import run_nuts
from bnn_mogp.inference.results import make_inference_data
from bnn_mogp.inference.sgmcmc import kernel_of
from bnn_mogp.inference.svi import run_svi
from bnn_mogp.likelihoods import DEFAULT_DF, LIKELIHOODS, check_df, is_regression
from bnn_mogp.model import bnn_model, collapse_blocker, latent_sites
from bnn_mogp.nn import MLP, check_inputs

__all__ = ["fit", "monitor_inputs", "default_collapsed"]


def monitor_inputs(X, X_test=None, num_train: int = 3, num_test: int = 2) -> np.ndarray:
    """Deterministic monitor inputs: training rows at the 0, ½, 1 quantiles of the first
    coordinate, and test rows likewise (DESIGN §6.2).
    """

    def pick(A, k):
        A = np.asarray(A)
        order = np.argsort(A[:, 0], kind="stable")
        idx = order[np.unique(np.round(np.linspace(0, len(A) - 1, k)).astype(int))]
        return A[idx]

    parts = [pick(X, num_train)]
    if X_test is not None and len(X_test):
        parts.append(pick(X_test, num_test))
    return np.concatenate(parts)


#: what the posterior draws of each method are (the InferenceData attribute ``draws``)
DRAW_KINDS = {
    "nuts": "MCMC (NUTS)",
    "svi": "independent draws from a variational guide",
    "sghmc": "stochastic-gradient MCMC (SGHMC): approximate, step-size biased",
    "sgld": "stochastic-gradient MCMC (SGLD): approximate, step-size biased",
    "map": "point estimates (MAP), one per chain",
}


def _dims(net: MLP, likelihood: str) -> dict:
    dims = {
        "f_monitor": ["monitor", "output"],
        "y": ["obs", "output"] if is_regression(likelihood) else ["obs"],
    }
    sizes = (net.in_dim, *net.widths, net.out_dim)
    names = ["input", *[f"node_{l}" for l in range(1, net.depth + 1)], "output"]
    for l in range(1, len(sizes)):
        dims[f"w_{l}"] = [names[l - 1], names[l]]
        dims[f"b_{l}"] = [names[l]]
    for l in range(1, net.depth + 1):
        per_weight = net.placements[l - 1] == "weight"
        for site in ("lam", "scale", "slab_prob", "angle"):
            dims[f"{site}_{l}"] = [names[l], names[l + 1]] if per_weight else [names[l]]
        for site in ("bias_angle", "bias_var"):
            dims[f"{site}_{l + 1}"] = [names[l + 1]]
    return dims


def _by_chain(samples: dict, num_chains: int) -> dict:
    return {
        k: np.asarray(v).reshape((num_chains, -1) + np.shape(v)[1:]) for k, v in samples.items()
    }


def _flat(samples: dict) -> dict:
    return {k: np.asarray(v).reshape((-1,) + np.shape(v)[2:]) for k, v in samples.items()}


def _raw_key(rng_key):
    """A raw uint32 PRNG key (typed keys converted), as stored in sampler states."""
    return jax.random.PRNGKey(0) if rng_key is None else raw_key(rng_key)


def _draws_per_chain(config, num_data: int) -> int:
    """Draws a run of ``config`` keeps per chain."""
    if config.method == "map":
        return 1
    if config.method in MINIBATCH_METHODS:
        steps = num_data // min(config.batch_size, num_data)
        thinning = config.thinning or steps
        return (config.epochs - config.burn_in_epochs) * steps // thinning
    return config.num_samples


def _complete(net: MLP, latent: dict, X, X_monitor, rng_key, kwargs: dict) -> tuple[dict, dict]:
    """Every draw of the latent sites completed with the model's deterministic sites (λ,
    ``f_monitor``, slab probabilities) and a replicated y at X, over draws and rows in chunks:
    (latent and deterministic sites, {"y": replicated y}).
    """
    sites = map_row_chunks(
        lambda d, Xc, i: Predictive(bnn_model, posterior_samples=d, return_sites=None)(
            jax.random.fold_in(rng_key, i), net, Xc, None, X_monitor=X_monitor, **kwargs
        ),
        latent,
        (X,),
        max(net.sizes),
        ("y",),
    )
    replicated = {"y": sites.pop("y")}
    return {**{k: np.asarray(v) for k, v in latent.items()}, **sites}, replicated


def check_targets(net: MLP, y, num_rows: int, likelihood: str) -> np.ndarray:
    """``y`` checked against the likelihood: (N,) or (N, out_dim) finite reals for
    regression; labels in {0, 1} (``"bernoulli"``) or {0..out_dim − 1} (``"categorical"``),
    shape (N,). The messages name the bad rows.
    """
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != num_rows:
        raise ValueError(f"y must have N = {num_rows} rows (one per row of X), got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise ValueError(f"y must be numeric, got dtype {y.dtype}")
    rows = y.reshape(num_rows, -1)
    bad = np.flatnonzero(~np.all(np.isfinite(rows.astype(float)), axis=1))
    if bad.size:
        raise ValueError(
            f"y has NaN or infinite values in {bad.size} row(s) (first: {bad[:5].tolist()}); "
            "remove or impute them before fitting"
        )
    if is_regression(likelihood):
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != net.out_dim):
            raise ValueError(f"y must have shape (N,) or (N, out_dim={net.out_dim}), got {y.shape}")
        return y.astype(float)
    classes = 2 if likelihood == "bernoulli" else net.out_dim
    if y.ndim != 1:
        raise ValueError(f"{likelihood} labels y must have shape (N,), got {y.shape}")
    bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= classes))
    if bad.size:
        raise ValueError(
            f"{likelihood} labels must be integers in 0..{classes - 1}; row {bad[0]} has "
            f"{y[bad[0]].item()!r} ({bad.size} bad row(s))"
        )
    return y


def default_collapsed(net: MLP, likelihood: str) -> bool:
    """``fit``'s default for ``collapsed``: the Gaussian likelihood with hidden layers, the last
    of which has a prior whose outgoing weights are Gaussian given λ (``prior.collapsible``).

    The rule is measured (``benchmarks/nuts_efficiency.py``, ``benchmarks/scaling.py``): one
    gradient of the collapsed likelihood costs O(N m² + m³) for m = n_L + 1 < N against
    O(N n d) for the explicit model — 4 to 6 times the explicit gradient at N = 200, n = 50
    (its floor is the Gram matrix FᵀF itself) — but integrating the output layer out removes
    its funnel, and the bulk ESS per second of the slowest quantity was higher with it on
    horseshoe networks with one hidden layer (tanh on 3-D inputs: 50 against 1.1 ESS/s; ReLU on
    1-D inputs with a gap: 0.69 against 0.20). With two hidden layers neither model converged
    in 2 × 500 draws (collapsed 0.033, explicit 0.053 ESS/s), so the default stays on; pass
    ``collapsed=False`` for very large N at small widths, where the gradient-cost ratio grows.
    """
    return likelihood == "gaussian" and net.depth >= 1 and collapse_blocker(net) is None


@float64
def fit(
    net: MLP,
    X,
    y,
    *,
    likelihood: str = "gaussian",
    method: str = "nuts",
    config=None,
    rng_key=None,
    X_test=None,
    X_monitor=None,
    collapsed: bool | None = None,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    df: float | None = None,
    num_prior_draws: int = 200,
    checkpoint_dir=None,
    chunk_size: int | None = None,
    progress: bool = False,
    metadata: dict | None = None,
    extend: bool = False,
    **settings,
):
    """Fit ``net`` to (X, y) and return an ``arviz.InferenceData`` (see the module docstring).

    Sampling and every derived quantity run in float64 (64-bit mode is switched on inside).

    Args:
        net, X, y, likelihood, noise_std, noise_scale: as in :func:`bnn_mogp.model.bnn_model`
            (likelihoods: :mod:`bnn_mogp.likelihoods`).
        df: degrees of freedom ν of the ``"student_t"`` likelihood (default
            :data:`~bnn_mogp.likelihoods.DEFAULT_DF`); an error with any other likelihood.
        method: ``"nuts"``, ``"svi"`` or a mini-batch method: ``"sghmc"``, ``"sgld"``,
            ``"map"`` (:mod:`bnn_mogp.inference.sgmcmc`; the explicit model, the
            log-likelihood of each batch scaled by N / B). SG-MCMC draws are approximate (no
            R-hat or divergence checks apply); MAP gives one point per chain.
        config: the method's settings, its class in :data:`~bnn_mogp.inference.CONFIGS`
            (:class:`~bnn_mogp.inference.NutsConfig`, ``SviConfig``, ``SghmcConfig``,
            ``SgldConfig``, ``MapConfig``; default: that class's defaults).
        **settings: fields of the method's config to replace (e.g. ``num_samples=1000``,
            ``guide="lowrank"``); a field the method does not have is an error. NUTS:
            num_warmup, num_samples, num_chains, chain_method, target_accept, max_tree_depth,
            dense_mass. SVI: guide, learning_rate, num_steps, num_particles, num_samples,
            num_chains, batch_size. SGHMC / SGLD: batch_size, epochs, learning_rate, schedule,
            final_learning_rate, burn_in, thinning, temperature, num_chains (SGHMC:
            friction). MAP: batch_size, epochs, learning_rate, schedule, final_learning_rate,
            optimizer, prior_weight, num_chains. SVI's ``"delta"`` maximises the joint density
            in the model's own parametrisation (no Jacobian term): the horseshoe's half-Cauchy
            scale density peaks at 0, so unused nodes are switched off (λ → 0); it is a point
            estimate of the sampled sites (with ``collapsed``, the output layer is still drawn
            from its conditional).
        rng_key: a JAX PRNG key (default PRNGKey(0)).
        X_test: test inputs for the ``predictions`` group.
        X_monitor: monitor inputs (default :func:`monitor_inputs`).
        collapsed: integrate the output layer out while sampling (Gaussian likelihood; NUTS or
            SVI), then draw it from its conditional for every posterior draw. Default (None):
            :func:`default_collapsed` (on for the Gaussian likelihood with hidden layers, unless
            the last hidden layer's prior is not ``collapsible``, e.g. spike-and-slab). It
            removes the output-layer funnel (no divergences from it, far fewer leapfrog steps
            per draw; DESIGN §6.1), but each gradient costs O(N n_L²) (a Cholesky of size
            n_L + 1) instead of O(N n_L): for wide last layers the explicit model can give more
            effective draws per second once it mixes at all.
        num_prior_draws: draws for the prior and prior_predictive groups.
        checkpoint_dir: a folder where the sampler checkpoints after every chunk (mini-batch
            methods: every epoch); a run whose
            checkpoint is there (same network, data and settings) continues from it and ends
            with exactly the draws of an uninterrupted run.
        chunk_size: transitions (NUTS, default 50) or steps (SVI, default 500) per chunk.
        progress: show progress bars.
        metadata: JSON-able data stored with the result (``bnn_mogp.inference.metadata``), e.g.
            the data set's source and standardisation.
        extend: a NUTS checkpoint in ``checkpoint_dir`` with fewer ``num_samples`` is continued
            to ``num_samples`` (:func:`bnn_mogp.sample_until_converged`); otherwise any
            difference of settings refuses it.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
    if df is not None and likelihood != "student_t":
        raise ValueError(f"df applies to the student_t likelihood only, got {likelihood!r}")
    config = make_config(method, config, **settings)
    minibatch = method in MINIBATCH_METHODS or getattr(config, "batch_size", None) is not None
    if collapsed is None:
        collapsed = default_collapsed(net, likelihood) and not minibatch
    if collapsed and minibatch:
        raise ValueError(
            f"collapsed=True is not available with mini-batches (method {method!r}): the "
            "collapsed likelihood is not a sum over rows"
        )
    if collapsed and likelihood != "gaussian":
        raise ValueError(f"collapsed=True needs the gaussian likelihood, got {likelihood!r}")
    chunk_size = chunk_size if chunk_size is not None else (50 if method == "nuts" else 500)
    check_width(num_prior_draws, "num_prior_draws")
    check_width(chunk_size, "chunk_size")
    rng_key = _raw_key(rng_key)
    release_compiled_programs()
    X = np.asarray(check_inputs(net, X), dtype=float)
    y = check_targets(net, y, X.shape[0], likelihood)
    kept = _draws_per_chain(config, X.shape[0])
    if not kept:
        raise ValueError(
            f"{method} would keep no draws: {config.epochs} epochs, burn-in "
            f"{config.burn_in_epochs}, thinning {config.thinning} steps (an epoch has "
            f"{X.shape[0] // config.batch_size}); use more epochs or a smaller thinning"
        )
    rows = min(getattr(config, "batch_size", None) or X.shape[0], X.shape[0])
    check_memory(
        config.num_chains * kept * net.num_params
        + 4 * rows * sum(net.sizes),  # activations of a gradient (forward and backward)
        f"fitting a network with widths {list(net.widths)} ({net.num_params} parameters, "
        f"{config.num_chains} × {kept} draws kept)",
        "use smaller widths or fewer draws",
    )
    X_test = None if X_test is None else np.asarray(check_inputs(net, X_test), dtype=float)
    X_monitor = (
        monitor_inputs(X, X_test)
        if X_monitor is None
        else np.asarray(check_inputs(net, X_monitor), dtype=float)
    )
    kwargs = dict(likelihood=likelihood, noise_std=noise_std, noise_scale=noise_scale)
    if likelihood == "student_t":
        kwargs["df"] = check_df(DEFAULT_DF if df is None else df)
    fit_kwargs = dict(kwargs, collapsed=collapsed)
    k_fit, k_post, k_prior, k_pred = jax.random.split(rng_key, 4)
    settings = {k: v for k, v in config.as_dict().items() if k != "method"}
    num_chains = config.num_chains
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = Checkpoint(
            checkpoint_dir,
            fingerprint(
                method=method, network=net, X=X, y=y, rng_key=rng_key, **fit_kwargs, **settings
            ),
            extendable=("num_samples",) if extend and method == "nuts" else (),
        )

    extra_groups: dict[str, dict] = {}
    runner_kwargs = dict(
        rng_key=k_fit, chunk_size=chunk_size, checkpoint=checkpoint, progress=progress
    )
    if method in MINIBATCH_METHODS:
        steps = X.shape[0] // min(config.batch_size, X.shape[0])
        run = run_minibatch(
            bnn_model,
            net,
            X,
            y,
            kwargs,
            kernel_of(config, X.shape[0]),
            rng_key=k_fit,
            batch_size=config.batch_size,
            epochs=config.epochs,
            learning_rate=schedule(config, config.epochs * steps),
            num_chains=num_chains,
            burn_in=getattr(config, "burn_in_epochs", 0),
            thinning=getattr(config, "thinning", None),
            keep="last" if method == "map" else "draws",
            checkpoint=checkpoint,
            progress=progress,
            desc=method.upper(),
        )
        latent = _flat(run.samples)
        sample_stats = None
        extra_groups["training"] = {k: (("chain", "epoch"), v) for k, v in run.history.items()}
        elapsed = run.elapsed
    elif method == "nuts":
        nuts = run_nuts(bnn_model, (net, X, y), fit_kwargs, **settings, **runner_kwargs)
        latent = _flat(nuts.samples)
        steps = nuts.stats["n_steps"]
        sample_stats = {**nuts.stats, "tree_depth": np.ceil(np.log2(steps + 1)).astype(int)}
        elapsed = nuts.elapsed
    else:
        runner = {k: v for k, v in settings.items() if k not in ("num_samples", "num_chains")}
        svi = run_svi(bnn_model, (net, X, y), fit_kwargs, **runner, **runner_kwargs)
        draws = Predictive(
            svi.guide, params=svi.params, num_samples=config.num_samples * num_chains
        )(k_post, net, X, y, **fit_kwargs)
        sites = latent_sites(net, X, **fit_kwargs)  # not the guide's own (e.g. _auto_latent)
        latent = {k: np.asarray(v) for k, v in draws.items() if k in sites}
        sample_stats = None
        extra_groups["svi_losses"] = {"elbo_loss": ("step", svi.losses)}
        elapsed = svi.elapsed

    if collapsed:  # complete every draw with output weights from their conditional given y
        output_sites = [f"w_{net.depth + 1}"] + ([f"b_{net.depth + 1}"] if net.sigma_b else [])
        latent.update(
            map_draw_chunks(
                lambda d: Predictive(bnn_model, posterior_samples=d, return_sites=output_sites)(
                    k_post, net, X, y, draw_output=True, **fit_kwargs
                ),
                latent,
            )
        )

    # deterministic sites (λ, f_monitor, slab probabilities) and replicated y for every draw
    posterior, post_pred = _complete(net, latent, X, X_monitor, k_post, kwargs)
    log_lik = map_row_chunks(
        lambda d, Xc, yc, i: numpyro_log_likelihood(bnn_model, d, net, Xc, yc, **kwargs),
        latent,
        (X, y),
        max(net.sizes),
        ("y",),
    )["y"]
    if log_lik.ndim == 3:  # gaussian: (draws, N, K) → sum over outputs
        log_lik = log_lik.sum(-1)
    k_prior_params, k_prior_y = jax.random.split(k_prior)
    prior_params = jax.jit(  # compiled as one program (op by op, every primitive compiles alone)
        lambda k: Predictive(
            bnn_model, num_samples=num_prior_draws, return_sites=latent_sites(net, X, **kwargs)
        )(k, net, X[:1], None, **kwargs)  # the parameters' law does not depend on the rows
    )(k_prior_params)
    prior, prior_pred = _complete(net, prior_params, X, X_monitor, k_prior_y, kwargs)
    groups = dict(
        posterior=_by_chain(posterior, num_chains),
        posterior_predictive=_by_chain(post_pred, num_chains),
        log_likelihood=_by_chain({"y": log_lik}, num_chains),
        sample_stats=sample_stats,
        prior=_by_chain(prior, 1),
        prior_predictive=_by_chain(prior_pred, 1),
        observed_data={"y": y[:, None] if is_regression(likelihood) and y.ndim == 1 else y},
        constant_data={"X": X, "X_monitor": X_monitor},
    )
    if X_test is not None:
        pred = map_row_chunks(
            lambda d, Xc, i: Predictive(
                bnn_model, posterior_samples=d, return_sites=["y", "f_monitor"]
            )(jax.random.fold_in(k_pred, i), net, Xc, None, X_monitor=Xc, **kwargs),
            latent,
            (X_test,),
            max(net.sizes),
            ("y", "f_monitor"),
        )
        pred["f"] = pred.pop("f_monitor")
        groups["predictions"] = _by_chain(pred, num_chains)
        groups["predictions_constant_data"] = {"X_test": X_test}
    dims = _dims(net, likelihood)
    dims.update(X=["obs", "input"], X_monitor=["monitor", "input"], X_test=["test", "input"])
    pred_dims = {
        "y": ["test", "output"] if is_regression(likelihood) else ["test"],
        "f": ["test", "output"],
    }
    attrs = {
        "method": method,
        "draws": DRAW_KINDS[method],
        "likelihood": likelihood,
        "network": json.dumps(net.to_dict()),
        "collapsed": int(collapsed),
        "sampling_time_s": elapsed,
        "noise_scale": noise_scale,
        **({} if noise_std is None else {"noise_std": noise_std}),
        **({"df": kwargs["df"]} if "df" in kwargs else {}),
        "settings": json.dumps(config.as_dict()),
        "metadata": json.dumps(metadata or {}),
    }
    return make_inference_data(
        **groups, dims=dims, pred_dims=pred_dims, attrs=attrs, extra_groups=extra_groups
    )
