r"""Finite-width posteriors against the MoGP posterior (DESIGN §5, §7, posterior side).

For one network declaration (prior, σ_w, σ_b, activation) and one regression data set, the
network is fitted with NUTS at each width n (collapsed last layer, :func:`bnn_mogp.fit`), and the
infinite-width posterior predictive is computed with the same prior and noise model
(:meth:`bnn_mogp.theory.MoGP.posterior_predictive`, importance sampling of kernel draws, and/or
:func:`bnn_mogp.theory.limit_nuts.sample_limit_posterior`, NUTS on the truncated limit). At the
test inputs x_i (standardised units; f is noise-free), with m, v the predictive mean and variance
of f and sd_∞ = sqrt(v_∞):

- ``mean_error`` = sqrt(mean_i (m_n − m_∞)²) / sqrt(mean_i v_∞): the error of the predictive
  mean in units of the limit's predictive sd;
- ``var_error`` = mean_i |v_n / v_∞ − 1|: the relative error of the predictive variance;
- ``w1`` = mean_i W₁(f_n(x_i), f_∞(x_i)) / sd_∞(x_i): the Wasserstein-1 distance between the
  predictive marginals of f, from the NUTS draws and as many draws of the limit's mixture;
- ``lpd`` and ``lpd_limit``: the mean test log predictive density of each (original units).

The row ``noise floor`` gives the same distances between two independent draws of the limit of
the finite sample's size: the Monte Carlo level below which no width can go. The noise is either
fixed and shared (``noise_std``) or has the same HalfNormal(noise_scale) prior on both sides; the
importance sampler needs a fixed noise, the NUTS limit sampler handles both (one hidden layer).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import jax
import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from bnn_mogp._validation import check_choice, check_integer, check_real, check_width
from bnn_mogp.diagnostics import convergence_gates
from bnn_mogp.evaluation import pointwise_lpd
from bnn_mogp.inference import NutsConfig, fit, noise_draws
from bnn_mogp.theory.limit_nuts import sample_limit_posterior
from bnn_mogp.theory.mogp import MoGP
from bnn_mogp.theory.posterior import LowESSWarning, PosteriorPredictive

__all__ = [
    "compare_posterior",
    "CompareConfig",
    "PosteriorComparison",
    "plot_posterior_comparison",
    "limits_agreement",
    "LIMITS",
]

#: how the limit is computed: ``importance``, ``nuts``, ``both`` (the importance sampler is used
#: where its ESS reaches its floor, NUTS otherwise) or ``auto`` (importance sampling when the
#: noise is fixed and the ESS suffices, else NUTS)
LIMITS = ("auto", "importance", "nuts", "both")


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Settings of :func:`compare_posterior` (and of ``bnn-mogp compare``'s ``[compare]`` table):
    the defaults, once.

    Args:
        widths: hidden widths to fit (every hidden layer gets the width).
        limit: one of :data:`LIMITS`.
        num_warmup, num_samples, num_chains, target_accept: NUTS settings of the finite fits
            (:meth:`fit_config`).
        num_kernel_draws: kernel draws of the importance sampler.
        num_jumps: jumps kept by the NUTS limit sampler (the importance sampler keeps 256).
        limit_warmup, limit_samples: NUTS settings of the limit sampler (2 chains).
    """

    widths: tuple[int, ...] = (8, 32, 128, 512)
    limit: str = "auto"
    num_warmup: int = 300
    num_samples: int = 300
    num_chains: int = 2
    target_accept: float = 0.8
    num_kernel_draws: int = 4000
    num_jumps: int = 16
    limit_warmup: int = 300
    limit_samples: int = 300

    def __post_init__(self):
        widths = self.widths
        if isinstance(widths, int):
            widths = (widths,)
        if not isinstance(widths, tuple | list) or not widths:
            raise ValueError(f"widths must be a non-empty list of integers >= 1, got {widths!r}")
        set_ = object.__setattr__
        set_(self, "widths", tuple(sorted({check_width(n, "widths") for n in widths})))
        set_(self, "limit", check_choice("limit", self.limit, LIMITS))
        self.fit_config()  # checks the fits' NUTS settings
        for name in ("num_kernel_draws", "num_jumps", "limit_samples"):
            set_(self, name, check_integer(name, getattr(self, name), 1))
        set_(self, "limit_warmup", check_integer("limit_warmup", self.limit_warmup, 0))

    def fit_config(self) -> NutsConfig:
        """The NUTS settings of the finite-width fits."""
        return NutsConfig(
            num_warmup=self.num_warmup,
            num_samples=self.num_samples,
            num_chains=self.num_chains,
            target_accept=self.target_accept,
        )


@dataclasses.dataclass(frozen=True)
class PosteriorComparison:
    """What :func:`compare_posterior` measured.

    Attributes:
        table: ``pandas.DataFrame``, one row per width and a ``noise floor`` row: width,
            mean_error, var_error, w1, lpd, lpd_limit and the finite fit's diagnostics
            (``converged``: R-hat ≤ 1.01 and no divergences).
        slopes: {metric: log-log slope against width} for mean_error, var_error, w1, fitted
            over the converged widths whose value exceeds 1.5 × the noise floor (NaN when
            fewer than two do: the finite posteriors are then within Monte Carlo error of the
            limit from the smallest width on).
        limit: the limit's :class:`~bnn_mogp.theory.PosteriorPredictive` used for the table.
        limits: every limit computed, by method (``importance``, ``nuts``).
        limit_used: the method of ``limit``, and why.
        finite: {width: (f draws (S, T, K), σ draws (S,))} of each fit at the test inputs.
        noise: ``"fixed σ = …"`` or ``"HalfNormal(…) prior"``: the shared noise model.
        timings: seconds per width and for the limit.
    """

    table: pd.DataFrame
    slopes: dict[str, float]
    limit: PosteriorPredictive
    limits: dict[str, PosteriorPredictive]
    limit_used: str
    finite: dict[int, tuple[np.ndarray, np.ndarray]]
    noise: str
    timings: dict[str, float]


def _limit_samples(pp, num, key):
    """``num`` draws of f(x_i) from the limit's mixture, marginally per test point: (num, T, K)."""
    k_pick, k_eps = jax.random.split(key)
    comps = np.asarray(jax.random.choice(k_pick, len(pp.weights), (num,), p=pp.weights))
    eps = np.asarray(jax.random.normal(k_eps, (num,) + pp.component_means.shape[1:]))
    sd = np.sqrt(pp.component_variances[comps])[:, :, None]
    return pp.component_means[comps] + sd * eps


def _distances(f, ref, v_lim, m_lim):
    m, v = f.mean(0), f.var(0)
    sd = np.sqrt(v_lim)
    w1 = np.mean(
        [
            wasserstein_distance(f[:, i, k], ref[:, i, k]) / sd[i, k]
            for i in range(f.shape[1])
            for k in range(f.shape[2])
        ]
    )
    return {
        "mean_error": float(np.sqrt(np.mean((m - m_lim) ** 2)) / np.sqrt(np.mean(v_lim))),
        "var_error": float(np.mean(np.abs(v / v_lim - 1))),
        "w1": float(w1),
    }


def _slope(widths, values, floor, usable):
    """Least-squares slope of log(value) on log(width) over the widths whose fit converged and
    whose value stands clear of the Monte Carlo noise floor (> 1.5 × floor); NaN with fewer than
    two such widths.
    """
    widths, values = np.asarray(widths, float), np.asarray(values, float)
    keep = np.asarray(usable) & (values > 1.5 * floor)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(widths[keep]), np.log(values[keep]), 1)[0])


def compare_posterior(
    net,
    X,
    y,
    X_test,
    y_test=None,
    *,
    config: CompareConfig | None = None,
    rng_key=None,
    noise_std: float | None = None,
    noise_scale: float = 1.0,
    y_scale: float = 1.0,
    progress: bool = False,
    log=None,
    **settings,
) -> PosteriorComparison:
    """Fit ``net`` at each width with NUTS and compare its posterior predictive at ``X_test``
    with the infinite-width one (module docstring). Regression (Gaussian likelihood) only.

    Args:
        net: the network declaration (its widths are replaced by each of ``widths``).
        X, y: training inputs (N, d) and targets (N,) (standardised, as :func:`bnn_mogp.fit`).
        X_test, y_test: test inputs (T, d) and, for the log predictive densities, targets.
        config: a :class:`CompareConfig` (default: its defaults); ``**settings`` replace its
            fields (``widths``, ``limit``, ``num_warmup``, …).
        rng_key: a JAX PRNG key (default PRNGKey(0)).
        noise_std: fixed noise sd on both sides; None: σ ~ HalfNormal(noise_scale) on both.
        y_scale: the sd that standardised y, to report log densities in original units.
        progress: progress bars; log: where one-line messages go.
    """
    config = dataclasses.replace(config or CompareConfig(), **settings)
    widths, limit, num_jumps = list(config.widths), config.limit, config.num_jumps
    num_kernel_draws, fits = config.num_kernel_draws, config.fit_config()
    log = log or (lambda _line: None)
    if noise_std is not None:
        noise_std = check_real("noise_std", noise_std, low=0.0)
    if noise_std is None and limit == "importance":
        raise ValueError(
            "the importance sampler needs a fixed noise: give noise_std, or use "
            "limit='nuts' (which puts the HalfNormal prior on σ, as the finite fits)"
        )
    if net.depth != 1 and (limit in ("nuts", "both") or noise_std is None):
        raise ValueError(
            f"the NUTS limit sampler handles one hidden layer, this network has "
            f"{net.depth}: use a fixed noise_std and limit='importance'"
        )
    key = jax.random.PRNGKey(0) if rng_key is None else rng_key
    k_fit, k_is, k_nuts, k_ref = jax.random.split(key, 4)
    noise = (
        f"fixed σ = {noise_std:g} (standardised units), shared"
        if noise_std is not None
        else f"HalfNormal({noise_scale:g}) prior on σ on both sides"
    )
    timings = {}

    limits, why = {}, ""
    if noise_std is not None and limit in ("auto", "importance", "both"):
        log(f"limit: importance sampling of {num_kernel_draws} kernel draws")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LowESSWarning)
            limits["importance"] = MoGP(net).posterior_predictive(
                k_is, X, y, X_test, noise_std, num_kernel_draws, progress=progress
            )
        timings["limit importance"] = time.perf_counter() - start
    is_ok = "importance" in limits and limits["importance"].reliable
    need_nuts = limit in ("nuts", "both") or (limit == "auto" and not is_ok and net.depth == 1)
    if need_nuts:
        log(f"limit: NUTS on the truncated limit ({num_jumps} jumps)")
        start = time.perf_counter()
        limits["nuts"] = sample_limit_posterior(
            k_nuts,
            net,
            X,
            y,
            X_test,
            noise_std=noise_std,
            noise_scale=noise_scale,
            num_jumps=num_jumps,
            num_warmup=config.limit_warmup,
            num_samples=config.limit_samples,
            progress=progress,
        )
        timings["limit nuts"] = time.perf_counter() - start
    if is_ok and limit != "nuts":
        used = "importance"
        why = (
            f"importance sampling (ESS {limits['importance'].ess:.0f} ≥ floor "
            f"{limits['importance'].ess_floor:g})"
        )
    elif "nuts" in limits:
        used = "nuts"
        why = "NUTS on the truncated limit" + (
            f" (importance-sampling ESS {limits['importance'].ess:.1f} below its floor "
            f"{limits['importance'].ess_floor:g})"
            if "importance" in limits
            else " (the noise has a prior)"
            if noise_std is None
            else ""
        )
    else:
        used = "importance"
        why = (
            f"importance sampling, UNRELIABLE: ESS {limits['importance'].ess:.1f} below its "
            f"floor {limits['importance'].ess_floor:g}"
        )
    lim = limits[used]
    if used == "nuts" and (not lim.reliable or lim.diagnostics["divergences"]):
        why += (
            f"; UNRELIABLE: ESS {lim.ess:.0f} (floor {lim.ess_floor:g}), "
            f"{lim.diagnostics['divergences']} divergences: run the limit sampler longer"
        )
    log(f"limit used: {why}")
    m_lim = lim.mean
    v_lim = np.maximum(lim.variance, 1e-300)
    y_t = None if y_test is None else np.asarray(y_test, float).reshape(len(X_test), -1)
    num_draws = fits.num_chains * fits.num_samples
    ref = _limit_samples(lim, 4 * num_draws, k_ref)

    rows, finite = [], {}
    for i, n in enumerate(widths):
        net_n = net.with_width(n)
        log(
            f"width {n}: NUTS, {fits.num_chains} × {fits.num_samples} after "
            f"{fits.num_warmup} warmup"
        )
        start = time.perf_counter()
        idata = fit(
            net_n,
            X,
            y,
            likelihood="gaussian",
            method="nuts",
            rng_key=jax.random.fold_in(k_fit, i),
            X_test=X_test,
            noise_std=noise_std,
            noise_scale=noise_scale,
            config=fits,
            progress=progress,
            num_prior_draws=10,
        )
        f = np.asarray(idata.predictions["f"]).reshape((-1,) + idata.predictions["f"].shape[2:])
        sigma = noise_draws(idata)
        finite[n] = (f, sigma)
        gates = convergence_gates(idata)
        row = {"width": n, **_distances(f, ref, v_lim, m_lim)}
        if y_t is not None:
            row["lpd"] = float(
                pointwise_lpd(f, sigma, y_t, likelihood="gaussian", y_scale=y_scale).mean()
            )
        r_hat, divergent = (
            float(gates.loc["r_hat", "value"]),
            int(gates.loc["divergences", "value"]),
        )
        row.update(
            converged=bool(r_hat <= 1.01 and divergent == 0),
            max_r_hat=r_hat,
            divergences=divergent,
            min_ess_bulk=float(gates.loc["ess_bulk", "value"]),
            sampling_s=float(idata.attrs["sampling_time_s"]),
        )
        timings[f"width {n}"] = time.perf_counter() - start
        rows.append(row)
    floor = _limit_samples(lim, num_draws, jax.random.fold_in(k_ref, 1))
    rows.append({"width": "noise floor", **_distances(floor, ref, v_lim, m_lim)})
    table = pd.DataFrame(rows)
    if y_t is not None:
        table["lpd_limit"] = float(
            lim.log_predictive_density(y_t).mean() - y_t.shape[1] * math.log(y_scale)
        )
        for name, other in limits.items():
            if name != used:
                table[f"lpd_limit_{name}"] = float(
                    other.log_predictive_density(y_t).mean() - y_t.shape[1] * math.log(y_scale)
                )
    usable = table["converged"][: len(widths)].astype(bool).to_numpy()
    slopes = {
        m: _slope(widths, table[m][: len(widths)], table[m].iloc[-1], usable)
        for m in ("mean_error", "var_error", "w1")
    }
    return PosteriorComparison(
        table=table,
        slopes=slopes,
        limit=lim,
        limits=limits,
        limit_used=why,
        finite=finite,
        noise=noise,
        timings=timings,
    )


def limits_agreement(a, b) -> dict:
    """Distances between two limit posteriors (e.g. importance sampling and NUTS) in the units
    of :func:`compare_posterior`, with ``a`` as the reference.
    """
    key = jax.random.PRNGKey(7)
    sa = _limit_samples(a, 4000, key)
    sb = _limit_samples(b, 4000, jax.random.fold_in(key, 1))
    return _distances(sb, sa, np.maximum(a.variance, 1e-300), a.mean)


def plot_posterior_comparison(
    result: PosteriorComparison, X_test, *, unscale_x=None, unscale_y=None, title=None
):
    """Two panels: the predictive of every width against the limit's (1-D inputs: 95 % bands
    of f over the test inputs; otherwise finite against limit predictive means), and the
    distances against width on log axes with their fitted slopes (see
    :class:`PosteriorComparison`) and the noise floor.
    """
    import matplotlib.pyplot as plt

    unscale_x = unscale_x or (lambda a: a)
    unscale_y = unscale_y or (lambda a: a)
    table = result.table
    widths = [w for w in table["width"] if w != "noise floor"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), layout="constrained")
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(widths)))
    lim = result.limit
    ax = axes[0]
    X_test = np.asarray(X_test)
    if X_test.shape[1] == 1:
        x = unscale_x(X_test)[:, 0]
        order = np.argsort(x)
        lo, hi = lim.quantiles[0, :, 0], lim.quantiles[-1, :, 0]
        ax.fill_between(
            x[order],
            unscale_y(lo)[order],
            unscale_y(hi)[order],
            color="grey",
            alpha=0.3,
            lw=0,
            label="limit, 95 %",
        )
        ax.plot(x[order], unscale_y(lim.mean[:, 0])[order], color="k", lw=2, label="limit mean")
        for c, n in zip(colors, widths, strict=True):
            f = result.finite[n][0][..., 0]
            q = np.quantile(f, [0.025, 0.975], axis=0)
            ax.plot(x[order], unscale_y(f.mean(0))[order], color=c, lw=1, label=f"n = {n}")
            ax.plot(x[order], unscale_y(q[0])[order], color=c, lw=0.8, ls="--")
            ax.plot(x[order], unscale_y(q[1])[order], color=c, lw=0.8, ls="--")
        ax.set(xlabel="x", ylabel="f(x)", title="posterior predictive of f: widths over the limit")
    else:
        for c, n in zip(colors, widths, strict=True):
            ax.plot(
                unscale_y(lim.mean[:, 0]),
                unscale_y(result.finite[n][0][..., 0].mean(0)),
                "o",
                color=c,
                ms=3,
                label=f"n = {n}",
            )
        span = unscale_y(np.array([lim.mean.min(), lim.mean.max()]))
        ax.plot(span, span, "k--", lw=1)
        ax.set(
            xlabel="limit predictive mean",
            ylabel="finite predictive mean",
            title="predictive means at the test inputs",
        )
    ax.legend(fontsize=8)
    ax = axes[1]
    floor = table[table["width"] == "noise floor"].iloc[0]
    for k, (metric, label) in enumerate(
        (("w1", "W₁ / sd"), ("mean_error", "mean error / sd"), ("var_error", "|v/v∞ − 1|"))
    ):
        values = table[metric][: len(widths)].astype(float).to_numpy()
        ax.loglog(
            widths, values, "-", color=f"C{k}", label=f"{label}: slope {result.slopes[metric]:.2f}"
        )
        ok = table["converged"][: len(widths)].astype(bool).to_numpy()
        ax.plot(np.asarray(widths)[ok], values[ok], "o", color=f"C{k}")
        ax.plot(np.asarray(widths)[~ok], values[~ok], "o", mfc="white", color=f"C{k}")
        ax.axhline(floor[metric], color=f"C{k}", ls=":", lw=1)
    ax.set(
        xlabel="width n",
        ylabel="distance to the limit",
        title="distance to the MoGP posterior\n(dotted: Monte Carlo noise floor; open "
        "markers: the fit failed R-hat or diverged)",
    )
    ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
