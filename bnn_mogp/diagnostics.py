"""Diagnostics: convergence gates, PSIS-LOO and the figures of a run (ArviZ, matplotlib: lazily).

Convergence is judged where it means something (DESIGN §6.2): per-weight R-hat is meaningless
because node permutations make weight space multimodal, so the monitored quantities are the noise
scale ``sigma``, the node variances of every layer **sorted** per draw (``lam_l_sorted``, largest
first; for spike-and-slab layers E[λ_j | weights], a monotone function of the slab probability;
constant ones are left out) and the function values ``f_monitor`` at fixed inputs.

Gates (NUTS; after Vehtari et al. 2021, "Rank-normalization, folding, and localization"):

- R-hat (rank-normalised, split) ≤ 1.01 for every monitored quantity;
- bulk and tail ESS ≥ 100 per chain for every monitored quantity;
- no divergent transitions after warmup;
- E-BFMI ≥ 0.3 in every chain;
- at most 1 % of transitions at the maximum tree depth (an *efficiency* gate: trajectories cut
  short make NUTS slow and its draws more correlated, which the ESS gates already weigh; the
  others are *validity* gates).

SVI draws are independent draws from the fitted guide, SG-MCMC draws (SGHMC, SGLD) are biased
by the step size and the gradient noise, and MAP is one point, so these gates do not apply to them
(:func:`gates_do_not_apply` says why, and the report prints that instead of a verdict).

Also here: PSIS-LOO with Pareto-k diagnostics (:func:`loo_summary`, from the package-computed
``log_likelihood`` group), and the figures of a run report, each returning a matplotlib Figure:
:func:`plot_trace`, :func:`plot_rank`, :func:`plot_energy`, :func:`plot_pairs` (divergences
marked), :func:`plot_svi_loss`, :func:`plot_training` (mini-batch runs),
:func:`plot_hyperparameters` (learned prior hyper-parameters), :func:`plot_khat`,
:func:`plot_node_variances` (sorted posterior λ against the prior's order statistics and the
limit's largest jumps, DESIGN §4.5) and
:func:`plot_predictive` (bands for 1-D regression, PIT calibration otherwise, reliability
diagram for classification).
"""

from __future__ import annotations

import logging
import warnings

import jax
import numpy as np
import pandas as pd
from scipy import stats as st

from bnn_mogp._deprecation import moved_names
from bnn_mogp.evaluation import (
    class_probabilities,
    pit_values,
    predictive_interval,
    reliability_table,
)
from bnn_mogp.inference.config import make_config
from bnn_mogp.inference.results import fit_settings, network_of

__all__ = [
    "warmup_hints",
    "monitored_quantities",
    "convergence_summary",
    "convergence_gates",
    "GATES",
    "GATE_KEYS",
    "loo_summary",
    "LOO_MIN_DRAWS",
    "plot_trace",
    "plot_rank",
    "plot_energy",
    "plot_pairs",
    "plot_svi_loss",
    "plot_training",
    "plot_hyperparameters",
    "gates_do_not_apply",
    "HYPERPARAMETER_SITES",
    "plot_khat",
    "plot_node_variances",
    "plot_predictive",
]

__getattr__ = moved_names(__name__, {"make_inference_data": "bnn_mogp.inference"})

#: why the convergence gates do not apply to a method's draws
_NO_GATES = {
    "svi": "SVI fit: draws come from the fitted guide, so there are no convergence gates; "
    "check that the ELBO loss levelled off.",
    **{
        method: f"{method.upper()} draws: a stochastic-gradient chain is biased by its step size "
        "and gradient noise, so R-hat, ESS and divergence gates would vouch for nothing; judge it "
        "by the training curves (the loss should be flat after the burn-in) and the held-out "
        "metrics."
        for method in ("sghmc", "sgld")
    },
    "map": "MAP: one point estimate per chain, not draws from the posterior, so there are no "
    "convergence gates and the predictive intervals hold the noise only; check that the loss "
    "levelled off.",
}
#: sites of learned prior hyper-parameters (per hidden layer l: ``{site}_{l}``)
HYPERPARAMETER_SITES = ("alpha", "global_scale")

#: the thresholds of the gates
GATES = {"r_hat": 1.01, "ess_per_chain": 100, "bfmi": 0.3, "tree_depth_fraction": 0.01}
#: gate label → stable key (the index of :func:`convergence_gates`)
GATE_KEYS = {
    "R-hat": "r_hat",
    "bulk ESS": "ess_bulk",
    "tail ESS": "ess_tail",
    "divergences": "divergences",
    "E-BFMI": "bfmi",
    "max tree depth": "tree_depth",
}


def monitored_quantities(idata):
    """An ``xarray.Dataset`` (chain, draw, …) of the monitored quantities (module docstring)."""
    import xarray as xr

    post = idata.posterior
    out = {}
    if "sigma" in post:
        out["sigma"] = post["sigma"]
    layer = 1
    while f"node_{layer}" in post.dims:
        name = f"lam_{layer}"
        values = np.asarray(post[name]) if name in post else None
        if values is not None and np.ptp(values) > 0:  # a fixed λ has nothing to converge
            values = values.reshape(*values.shape[:2], -1)  # placed per weight: all weights
            ranked = -np.sort(-values, axis=-1)
            out[f"{name}_sorted"] = xr.DataArray(ranked, dims=("chain", "draw", f"rank_{layer}"))
        layer += 1
    if "f_monitor" in post:
        out["f_monitor"] = post["f_monitor"]
    return xr.Dataset(out)


def convergence_summary(idata, hdi_prob: float = 0.9):
    """``pandas.DataFrame``: mean, sd, HDI, MCSE, bulk/tail ESS and R-hat of every monitored
    quantity (rows such as ``sigma``, ``lam_1_sorted[0]``, ``f_monitor[2, 0]``).
    """
    import arviz as az
    import xarray as xr

    with warnings.catch_warnings():
        # a quantity constant over the draws (e.g. a λ underflowed to 0 in every draw) has an
        # undefined R-hat: ArviZ divides 0 by 0, warns, and reports NaN, which is the answer
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        quantities = monitored_quantities(idata)
        one_chain = quantities.sizes.get("chain") == 1
        # one chain: ArviZ logs "Shape validation failed" for its R-hat, replaced below. Its
        # logger is a bare logging.Logger("arviz"), not reachable through logging.getLogger
        quiet = getattr(az, "_log", None) if one_chain else None
        level = quiet.level if quiet is not None else logging.NOTSET
        if quiet is not None:
            quiet.setLevel(logging.ERROR)
        try:
            summary = az.summary(quantities, hdi_prob=hdi_prob, round_to="none")
        finally:
            if quiet is not None:
                quiet.setLevel(level)
        half = quantities.sizes.get("draw", 0) // 2
        if one_chain and half >= 2:
            # ArviZ gives no R-hat for one chain; split R-hat of its two halves still detects a
            # chain that drifts (not chains stuck in different modes: that needs ≥ 2 chains)
            one = quantities.isel(chain=0)
            first, second = one.isel(draw=slice(0, half)), one.isel(draw=slice(half, 2 * half))
            halves = xr.concat(
                [first, second.assign_coords(draw=first["draw"])], dim="chain"
            ).transpose("chain", "draw", ...)
            summary["r_hat"] = az.summary(halves, kind="diagnostics", round_to="none")["r_hat"]
        return summary


def convergence_gates(idata, summary=None):
    """``pandas.DataFrame`` with one row per gate (module docstring): ``gate``, ``kind``
    (``validity`` or ``efficiency``), ``value``, ``threshold``, ``passed`` and a one-line
    ``reason`` naming the worst quantity, indexed by the gate's stable ``key`` (one of
    :data:`GATE_KEYS`; look gates up by key, the labels are for people). Empty for SVI fits
    (their draws are independent).
    """
    import arviz as az

    if idata.attrs.get("method") != "nuts" or "sample_stats" not in idata.groups():
        return pd.DataFrame(
            columns=["gate", "kind", "value", "threshold", "passed", "reason"],
            index=pd.Index([], name="key"),
        )
    summary = convergence_summary(idata) if summary is None else summary
    stats = idata.sample_stats
    chains = stats.sizes["chain"]
    rows = []

    def add(gate, value, threshold, passed, reason):
        key = GATE_KEYS[gate]
        kind = "efficiency" if key == "tree_depth" else "validity"
        rows.append(
            dict(
                key=key,
                gate=gate,
                kind=kind,
                value=value,
                threshold=threshold,
                passed=bool(passed),
                reason=reason,
            )
        )

    r_hat = summary["r_hat"].dropna()
    if len(r_hat):
        worst = r_hat.idxmax()
        add(
            "R-hat",
            r_hat.max(),
            GATES["r_hat"],
            r_hat.max() <= GATES["r_hat"],
            f"largest R-hat {r_hat.max():.3f} at {worst}"
            + (
                " (one chain: split R-hat of its two halves; run 2 or more chains to detect "
                "chains stuck in different modes)"
                if chains == 1
                else ""
            ),
        )
    need = GATES["ess_per_chain"] * chains
    for column, gate in (("ess_bulk", "bulk ESS"), ("ess_tail", "tail ESS")):
        ess = summary[column].dropna()
        if len(ess):
            add(
                gate,
                ess.min(),
                need,
                ess.min() >= need,
                f"smallest {gate} {ess.min():.0f} at {ess.idxmin()} (need {need} = 100 per chain)",
            )
    diverging = np.asarray(stats["diverging"])
    n_div = int(diverging.sum())
    add(
        "divergences",
        n_div,
        0,
        n_div == 0,
        f"{n_div} of {diverging.size} transitions after warmup diverged "
        f"({100 * n_div / diverging.size:.1f} %)",
    )
    bfmi = np.asarray(az.bfmi(idata))
    add(
        "E-BFMI",
        float(bfmi.min()),
        GATES["bfmi"],
        bfmi.min() >= GATES["bfmi"],
        f"smallest E-BFMI {bfmi.min():.2f} (chain {int(bfmi.argmin())})",
    )
    max_depth = fit_settings(idata).get("max_tree_depth")
    if max_depth is not None and "tree_depth" in stats:
        hits = float(np.mean(np.asarray(stats["tree_depth"]) >= int(max_depth)))
        add(
            "max tree depth",
            hits,
            GATES["tree_depth_fraction"],
            hits <= GATES["tree_depth_fraction"],
            f"{100 * hits:.1f} % of transitions hit the maximum tree depth {max_depth}",
        )
    return pd.DataFrame(rows).set_index("key")


# -- PSIS-LOO -----------------------------------------------------------------------------------

#: Pareto-k thresholds of PSIS-LOO (Vehtari et al. 2024, "Pareto smoothed importance sampling"):
#: k ≤ 0.7 reliable; above it the LOO estimate of that point is not to be trusted
PARETO_K_GOOD = 0.7


#: fewest posterior draws for PSIS-LOO (its Pareto fit uses the largest min(S/5, 3√S) weights)
LOO_MIN_DRAWS = 20


def loo_summary(idata) -> dict:
    """PSIS-LOO from the package-computed ``log_likelihood`` group (``arviz.loo``): expected
    log pointwise predictive density ``elpd_loo`` with its standard error ``se``, the effective
    number of parameters ``p_loo``, the Pareto-k diagnostics (``max_k``, counts of k ≤ 0.7,
    0.7 < k ≤ 1 and k > 1) and the pointwise ``pareto_k`` array. For regression the densities
    are those of the standardised target. A MAP fit (point estimates) or one with fewer than
    :data:`LOO_MIN_DRAWS` draws gets ``{"skipped": reason}`` instead.
    """
    import arviz as az

    post = idata.posterior
    num_draws = post.sizes["chain"] * post.sizes["draw"]
    if idata.attrs.get("method") == "map":
        return {"skipped": "MAP gives point estimates, not posterior draws to weigh"}
    if num_draws < LOO_MIN_DRAWS:
        return {
            "skipped": f"PSIS-LOO needs at least {LOO_MIN_DRAWS} posterior draws, this fit "
            f"has {num_draws}"
        }

    with warnings.catch_warnings():  # ArviZ warns on high k; the counts below say it
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(idata, pointwise=True)
    k = np.asarray(loo.pareto_k)
    return {
        "elpd_loo": float(loo.elpd_loo),
        "se": float(loo.se),
        "p_loo": float(loo.p_loo),
        "num_points": int(k.size),
        "max_k": float(k.max()),
        "k_good": int(np.sum(k <= PARETO_K_GOOD)),
        "k_bad": int(np.sum((k > PARETO_K_GOOD) & (k <= 1))),
        "k_very_bad": int(np.sum(k > 1)),
        "pareto_k": k,
    }


#: a step size below this (in the sampler's unconstrained space) means strong curvature
TINY_STEP_SIZE = 1e-3


def warmup_hints(idata) -> list[str]:
    """Plain hints on sampler pathologies of a NUTS fit (empty when there are none): a tiny
    adapted step size, saturated tree depth, divergences; each says what usually helps.
    """
    if idata.attrs.get("method") != "nuts" or "sample_stats" not in idata.groups():
        return []
    stats, hints = idata.sample_stats, []
    step = float(np.median(np.asarray(stats["step_size"])))
    if step < TINY_STEP_SIZE:
        hints.append(
            f"tiny step size (median {step:.2g}): the posterior has regions of very high "
            "curvature (a funnel of node scales, or ReLU kinks whose locations the data pin "
            "down, typical of low-dimensional inputs); try more warmup, target_accept 0.95, a "
            "tanh, erf or gelu activation, or the collapsed model ([likelihood] collapsed = true)"
        )
    max_depth = fit_settings(idata).get("max_tree_depth")
    if max_depth is not None and "tree_depth" in stats:
        hits = float(np.mean(np.asarray(stats["tree_depth"]) >= int(max_depth)))
        if hits > GATES["tree_depth_fraction"]:
            hints.append(
                f"{100 * hits:.0f} % of the transitions hit the maximum tree depth {max_depth}: "
                "long, slow trajectories; raise max_tree_depth or simplify the posterior "
                "(a narrower prior, fewer nodes)"
            )
    n_div = int(np.asarray(stats["diverging"]).sum())
    if n_div:
        hints.append(
            f"{n_div} divergent transitions: the sampler cannot follow the posterior's "
            "geometry there (often a funnel between node scales and weights); raise "
            "target_accept (e.g. 0.95) and, for a Gaussian likelihood, use the collapsed model"
        )
    return hints


# -- figures ------------------------------------------------------------------------------------
# Each returns a matplotlib Figure; matplotlib and ArviZ's plotting are imported lazily.


def _hyper_dataset(idata, max_ranks: int = 3, max_monitor: int = 3):
    """The monitored quantities a trace / rank / pair plot can show: ``sigma``, log of the
    ``max_ranks`` largest node variances of each layer, and ``max_monitor`` function values.
    """
    import xarray as xr

    mon = monitored_quantities(idata)
    out = {}
    if "sigma" in mon:
        out["sigma"] = mon["sigma"]
    for name in mon.data_vars:
        if name.startswith("lam_"):
            rank = mon[name].dims[-1]
            top = mon[name].isel({rank: slice(0, max_ranks)})
            out[f"log_{name}"] = np.log(top.clip(min=np.finfo(float).tiny))
    if "f_monitor" in mon:
        f = mon["f_monitor"].isel(output=0, drop=True)
        out["f_monitor"] = f.isel(monitor=slice(0, max_monitor))
    return xr.Dataset(out)


def _figure_of(axes):
    return np.atleast_1d(axes).ravel()[0].figure


def plot_trace(idata):
    """Trace plots (density per chain and draws) of the hyper-parameters and monitored
    function values (:func:`monitored_quantities`; log λ of the 3 largest nodes per layer).
    """
    import arviz as az

    ds = _hyper_dataset(idata)
    return _figure_of(
        az.plot_trace(ds, compact=True, combined=False, backend_kwargs={"layout": "constrained"})
    )


def plot_rank(idata):
    """Rank plots (Vehtari et al. 2021): per chain, the histogram of the ranks of its draws among
    all chains; flat bars mean the chains mix.
    """
    import arviz as az

    ds = _hyper_dataset(idata, max_monitor=2)
    num = sum(int(np.prod([ds[v].sizes[d] for d in ds[v].dims[2:]])) for v in ds.data_vars)
    cols = min(4, num)
    rows = -(-num // cols)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.4 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[num:]:
        ax.set_visible(False)
    az.plot_rank(ds, kind="bars", ax=axes.ravel()[:num])
    return fig


def plot_energy(idata):
    """The NUTS energy plot: the marginal energy distribution against the energy transition
    distribution; E-BFMI per chain in the legend. A transition law much narrower than the
    marginal means the sampler explores the energy slowly.
    """
    import arviz as az

    return _figure_of(az.plot_energy(idata, figsize=(6, 4)))


def plot_pairs(idata):
    """Pair plot of σ, log λ of the largest node per layer and two monitored function values,
    with the divergent transitions marked (NUTS).
    """
    import arviz as az

    ds = _hyper_dataset(idata, max_ranks=1, max_monitor=2)
    divergences = "sample_stats" in idata.groups() and "diverging" in idata.sample_stats
    if divergences:
        data = az.InferenceData(posterior=ds, sample_stats=idata.sample_stats)
    else:
        data = ds
    return _figure_of(
        az.plot_pair(
            data,
            kind="scatter",
            divergences=divergences,
            marginals=True,
            scatter_kwargs={"alpha": 0.3, "s": 4},
            figsize=(9, 9),
        )
    )


def gates_do_not_apply(idata) -> str | None:
    """Why a fit has no convergence gates (a sentence for people), or None for NUTS. For an
    SG-MCMC fit that learns prior hyper-parameters, a warning that their draws are not mixed.
    """
    method = idata.attrs.get("method", "nuts")
    if method == "nuts":
        return None
    why = _NO_GATES.get(method, f"{method} fit: no gates")
    learned = _hyperparameter_names(idata.posterior)
    if learned and method in ("sghmc", "sgld"):
        why += (
            f" The learned hyper-parameters ({', '.join(learned)}) are not mixed: given the n "
            "variances drawn from its law each is pinned to within O(1/√n), and the chain moves "
            "it only as fast as all n of them move together, so its draws stay near the start "
            "(the prior median; on digits at width 1000, started at 0.13 and at 0.5, α stayed "
            "within 0.03 of its start over 100 epochs). Read them as a local fit, not a "
            "posterior; NUTS samples them (on smaller problems)."
        )
    return why


def _hyperparameter_names(posterior) -> list[str]:
    """The learned hyper-parameter sites (:data:`HYPERPARAMETER_SITES`) among the variables."""
    return [v for v in posterior.data_vars if v.rsplit("_", 1)[0] in HYPERPARAMETER_SITES]


def plot_training(idata):
    """A mini-batch run per epoch: the negative log-likelihood per data point of the batches
    and their accuracy or squared error, one line per chain, with the burn-in shaded (SG-MCMC)
    and the learning rate on a second axis.
    """
    import matplotlib.pyplot as plt

    training = idata["training"]
    loss, metric = np.asarray(training["nll"]), np.asarray(training["metric"])
    rate = np.asarray(training["learning_rate"])
    settings = fit_settings(idata)
    classifies = idata.attrs.get("likelihood") in ("bernoulli", "categorical")
    epochs = np.arange(1, loss.shape[1] + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
    for chain in range(loss.shape[0]):
        axes[0].plot(epochs, loss[chain], lw=1, label=f"chain {chain + 1}")
        axes[1].plot(epochs, metric[chain], lw=1)
    if settings.get("method") in ("sghmc", "sgld"):
        burn_in = make_config(**settings).burn_in_epochs
        for ax in axes:
            ax.axvspan(0.5, burn_in + 0.5, color="0.9", zorder=0, label="burn-in")
    lo, hi = np.nanquantile(loss[:, len(epochs) // 10 :], [0.0, 1.0])
    axes[0].set(
        xlabel="epoch",
        ylabel="negative log-likelihood per point",
        title=f"{settings.get('method', '').upper()}: fit per epoch",
        ylim=(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12)),
    )
    axes[1].set(
        xlabel="epoch",
        ylabel="batch accuracy" if classifies else "batch squared error",
        title="batches",
    )
    twin = axes[0].twinx()
    twin.plot(epochs, rate[0], color="grey", ls=":", lw=1)
    twin.set_ylabel("learning rate (dotted)")
    axes[0].legend(fontsize=8, loc="upper right")
    return fig


def plot_hyperparameters(idata):
    """Posterior (and prior) histograms of the learned hyper-parameters of the node priors
    (:data:`HYPERPARAMETER_SITES`, e.g. ``alpha_1`` of a ``StableLike`` with ``alpha_prior``),
    one panel per site; None when nothing was learned.
    """
    import matplotlib.pyplot as plt

    post = idata.posterior
    names = _hyperparameter_names(post)
    if not names:
        return None
    fig, axes = plt.subplots(
        1, len(names), figsize=(4 * len(names), 3.2), layout="constrained", squeeze=False
    )
    for ax, name in zip(axes[0], names, strict=True):
        draws = np.asarray(post[name]).ravel()
        prior = np.asarray(idata.prior[name]).ravel() if "prior" in idata.groups() else None
        lo, hi = np.quantile(
            np.concatenate([draws, prior if prior is not None else draws]), [0.0, 0.99]
        )
        bins = np.linspace(lo, hi, 40)
        if prior is not None:
            ax.hist(prior, bins=bins, density=True, color="0.8", label="prior")
        ax.hist(draws, bins=bins, density=True, alpha=0.8, label="posterior")
        q = np.quantile(draws, [0.05, 0.5, 0.95])
        ax.set(
            xlabel=name,
            title=f"{name}: median {q[1]:.3g} (90 %: {q[0]:.3g}–{q[2]:.3g})",
        )
        ax.legend(fontsize=8)
    return fig


def plot_svi_loss(idata):
    """The ELBO loss of an SVI run against the step (log-scaled steps after the first 1 %)."""
    import matplotlib.pyplot as plt

    loss = np.asarray(idata["svi_losses"]["elbo_loss"])
    fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    steps = np.arange(1, loss.size + 1)
    ax.plot(steps, loss, lw=0.6)
    start = max(1, loss.size // 100)
    lo, hi = np.quantile(loss[start:], [0.0, 0.99])
    ax.set(
        xlabel="step",
        ylabel="ELBO loss (−ELBO)",
        title="SVI optimisation",
        ylim=(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)),
    )
    return fig


def plot_khat(loo: dict):
    """Pareto k of every training point's PSIS-LOO weights (:func:`loo_summary`), with the
    0.7 and 1 thresholds.
    """
    import matplotlib.pyplot as plt

    k = loo["pareto_k"]
    fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    ax.scatter(
        np.arange(k.size), k, s=8, c=np.where(k > 1, "C3", np.where(k > PARETO_K_GOOD, "C1", "C0"))
    )
    for level, style in ((PARETO_K_GOOD, "--"), (1.0, ":")):
        ax.axhline(level, color="grey", ls=style, lw=1)
    ax.set(
        xlabel="training point",
        ylabel="Pareto k",
        title=f"PSIS-LOO: elpd {loo['elpd_loo']:.1f} ± {loo['se']:.1f}, "
        f"{loo['k_bad'] + loo['k_very_bad']} of {loo['num_points']} points with k > 0.7",
    )
    return fig


def plot_pointwise_lpd(lpd, extrapolated=None, *, worst: int = 5):
    """The log predictive density of every test point (:func:`bnn_mogp.evaluation.pointwise_lpd`)
    against its index, extrapolated points (a boolean mask) in red, the ``worst`` lowest ones
    named by index: a mean lpd ruined by a few points shows here.
    """
    import matplotlib.pyplot as plt

    lpd = np.asarray(lpd)
    out = np.zeros(lpd.size, bool) if extrapolated is None else np.asarray(extrapolated)
    fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    index = np.arange(lpd.size)
    ax.scatter(index[~out], lpd[~out], s=8, color="C0", label="inside the training inputs")
    if out.any():
        ax.scatter(index[out], lpd[out], s=18, color="C3", label="extrapolated")
    for i in np.argsort(lpd)[:worst]:
        ax.annotate(f" {i}", (i, lpd[i]), fontsize=8, color="C3" if out[i] else "black")
    ax.axhline(lpd.mean(), color="grey", ls="--", lw=1, label=f"mean {lpd.mean():.3g}")
    ax.set(
        xlabel="test point",
        ylabel="log predictive density",
        title=f"per-point log predictive density; the {worst} worst named",
    )
    ax.legend(fontsize=8)
    return fig


def plot_node_variances(idata, net=None, *, num_prior: int = 4000, rng_key=None):
    """Sorted posterior node variances of every hidden layer against the prior.

    Per layer, the k-th largest λ (k = 1..n, log scale): posterior median and 90 % interval
    (dots and bars); the same order statistic under the prior at width n (grey band: 90 %,
    line: median, by Monte Carlo); and, when the limit has jumps, the median of the k-th
    largest jump of the infinite-width limit, ρ̄⁻¹ evaluated at the median of Γ_k ~ Gamma(k, 1)
    (Ferguson–Klass; for k = 1 this is the largest-node law P(max λ ≤ x) → e^{−ρ̄(x)} of
    DESIGN §4.5). Spike-and-slab layers show E[λ_j | weights]; constant λ are drawn as they are.
    A layer placed per weight shows the λ of the n weights into the next layer's first unit
    (iid with the law at width n, so the same prior band and limit apply).
    """
    import matplotlib.pyplot as plt

    net = network_of(idata) if net is None else net
    post = idata.posterior
    layers = [l for l in range(1, net.depth + 1) if f"lam_{l}" in post]
    fig, axes = plt.subplots(
        1,
        max(1, len(layers)),
        figsize=(6 * max(1, len(layers)), 4),
        squeeze=False,
        layout="constrained",
    )
    key = jax.random.PRNGKey(1) if rng_key is None else rng_key
    for ax, l in zip(axes[0], layers, strict=False):
        lam = np.asarray(post[f"lam_{l}"])
        per_weight = lam.ndim == 4  # (chain, draw, node, next unit)
        lam = lam[..., 0] if per_weight else lam
        lam = -np.sort(-lam.reshape(-1, lam.shape[-1]), axis=-1)
        n = lam.shape[-1]
        k = np.arange(1, n + 1)
        prior = net.node_priors[l - 1]
        with jax.enable_x64(True):
            key, sub = jax.random.split(key)
            draws = np.asarray(prior.at_width(n).sample(sub, (num_prior, n)))
            prior_sorted = -np.sort(-draws, axis=-1)
            levy = prior.limit()
            if not levy.gaussian:
                jumps = np.asarray(levy.tail_inverse(st.gamma.median(k)))
        lo, mid, hi = np.quantile(prior_sorted, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(k, lo, hi, color="grey", alpha=0.25, lw=0, label="prior at width n, 90 %")
        ax.plot(k, mid, color="grey", lw=1, label="prior median")
        if not levy.gaussian and np.any(jumps > 0):
            keep = jumps > 0
            ax.plot(k[keep], jumps[keep], "k--", lw=1, label="limit: median of k-th largest jump")
        q05, q50, q95 = np.quantile(lam, [0.05, 0.5, 0.95], axis=0)
        ax.errorbar(
            k,
            q50,
            yerr=[q50 - q05, q95 - q50],
            fmt="o",
            color="C0",
            ms=4,
            capsize=2,
            label="posterior median, 90 %",
        )
        positive = np.concatenate([q05, lo])
        positive = positive[positive > 0]
        ax.set(
            yscale="log",
            xlabel=f"{'weight' if per_weight else 'node'} rank k (largest first)",
            ylabel="λ_(k)",
            title=f"layer {l}: {type(prior).__name__}, n = {n}"
            + (", per weight (into unit 1)" if per_weight else ""),
        )
        if positive.size:
            ax.set_ylim(bottom=max(positive.min() / 2, ax.get_ylim()[0]))
        ax.legend(fontsize=8)
    if not layers:
        axes[0, 0].text(0.5, 0.5, "no hidden layer", ha="center", va="center")
        axes[0, 0].set_axis_off()
    return fig


def plot_predictive(f, sigma, dataset, *, grid=None, f_grid=None, sigma_grid=None, df=None):
    """Posterior predictive against held-out data, in original units.

    - 1-D regression (``grid`` and ``f_grid`` (S, G, 1) given): 90 % bands of f and of new
      observations over the grid, the posterior mean, training and test points;
    - other regression: test targets against the predictive mean with 90 % intervals, and the
      PIT (probability integral transform u_i = (1/S) Σ_s F_ε((y_i − f_s(x_i))/σ_s), F_ε the
      noise CDF of the likelihood, Φ for the Gaussian) as the ECDF
      of u minus the uniform CDF, with the 95 % simultaneous band of the DKW inequality
      (±sqrt(log(2/0.05) / (2T))): a calibrated predictive stays inside it;
    - classification: reliability diagram (accuracy against confidence in ten bins, with 90 %
      Wilson intervals and the expected calibration error) and the histogram of confidences.

    Args:
        f: (S, T, K) posterior function draws at the test inputs (standardised units).
        sigma: (S,) noise scale per draw (regression) or None.
        dataset: the :class:`~bnn_mogp.data.Dataset`.
        df: ν of the ``"student_t"`` likelihood.
    """
    import matplotlib.pyplot as plt

    f = np.asarray(f)
    if dataset.is_regression:
        noise = dict(likelihood=dataset.likelihood, df=df)
        if grid is not None and f_grid is not None:
            sd = sigma if sigma_grid is None else sigma_grid
            return _plot_bands(f_grid, sd, dataset, grid, noise)
        y = dataset.raw_y_test()
        mean = dataset.unscale_y(f[..., 0].mean(0))
        lo, hi = predictive_interval(f[..., :1], sigma[:, None, None], 0.9, **noise)
        lo, hi = dataset.unscale_y(lo[:, 0]), dataset.unscale_y(hi[:, 0])
        pit = np.sort(pit_values(f[..., :1], sigma, dataset.y_test, **noise)[:, 0])
        T = pit.size
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
        ax = axes[0]
        ax.errorbar(mean, y, xerr=[mean - lo, hi - mean], fmt="o", ms=3, alpha=0.6, elinewidth=0.7)
        span = [min(y.min(), lo.min()), max(y.max(), hi.max())]
        ax.plot(span, span, "k--", lw=1)
        inside = np.mean((y >= lo) & (y <= hi))
        ax.set(
            xlabel=f"predictive mean of {dataset.target_name}",
            ylabel=f"observed {dataset.target_name}",
            title=f"test targets vs predictions (90 % intervals cover {100 * inside:.0f} %)",
        )
        ax = axes[1]
        ecdf = np.arange(1, T + 1) / T
        band = np.sqrt(np.log(2 / 0.05) / (2 * T))
        ax.fill_between(
            [0, 1],
            [-band, -band],
            [band, band],
            color="grey",
            alpha=0.25,
            label="95 % simultaneous band (DKW)",
        )
        ax.step(pit, ecdf - pit, where="post", label="ECDF(PIT) − uniform")
        ax.axhline(0, color="k", lw=0.8)
        ax.set(
            xlabel="PIT value u",
            ylabel="ECDF − u",
            xlim=(0, 1),
            title="PIT calibration of the test targets",
        )
        ax.legend(fontsize=8)
        return fig
    probs = class_probabilities(f, dataset.likelihood)
    table, ece = reliability_table(probs, dataset.y_test)
    confidence = probs.max(-1)
    accuracy = np.mean(probs.argmax(-1) == dataset.y_test)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
    ax = axes[0]
    ax.errorbar(
        table["confidence"],
        table["accuracy"],
        yerr=np.clip([table["accuracy"] - table["lo"], table["hi"] - table["accuracy"]], 0, None),
        fmt="none",
        color="C0",
        capsize=2,
    )
    ax.scatter(
        table["confidence"],
        table["accuracy"],
        color="C0",
        s=12 + 200 * table["count"] / confidence.size,
    )
    edges = np.linspace(1 / probs.shape[-1], 1, 11)
    ax.plot([edges[0], 1], [edges[0], 1], "k--", lw=1, label="perfect calibration")
    ax.set(
        xlabel="confidence (mean predicted probability of the predicted class)",
        ylabel="accuracy",
        title=f"reliability diagram (ECE {ece:.3f}, accuracy "
        f"{accuracy:.3f}, {confidence.size} test points)",
    )
    ax.legend(fontsize=8)
    axes[1].hist(confidence, bins=edges, color="C0", alpha=0.7)
    axes[1].set(xlabel="confidence", ylabel="test points", title="confidence histogram")
    return fig


def _plot_bands(f_grid, sigma, dataset, grid, noise):
    import matplotlib.pyplot as plt

    fs = f_grid[..., 0]
    x = dataset.unscale_X(np.asarray(grid))[:, 0]
    fig, ax = plt.subplots(figsize=(9, 4.4), layout="constrained")
    new_y = predictive_interval(f_grid[..., :1], sigma[:, None, None], 0.9, **noise)
    bands = (
        ([v[:, 0] for v in new_y], "C0", "90 % predictive (new y)"),
        (np.quantile(fs, [0.05, 0.95], axis=0), "C1", "90 % f"),
    )
    for (lo, hi), color, label in bands:
        ax.fill_between(
            x,
            dataset.unscale_y(lo),
            dataset.unscale_y(hi),
            color=color,
            alpha=0.25,
            lw=0,
            label=label,
        )
    ax.plot(x, dataset.unscale_y(fs.mean(0)), color="C1", lw=1.5, label="posterior mean")
    ax.plot(dataset.raw_X_train()[:, 0], dataset.raw_y_train(), "k.", ms=4, label="train")
    ax.plot(dataset.raw_X_test()[:, 0], dataset.raw_y_test(), "x", color="C3", ms=4, label="test")
    ax.set(
        xlabel=dataset.feature_names[0], ylabel=dataset.target_name, title="posterior predictive"
    )
    ax.legend(fontsize=8)
    return fig
