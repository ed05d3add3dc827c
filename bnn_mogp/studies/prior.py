r"""Finite-width priors against their infinite-width limit (DESIGN §7, prior side).

For a network and inputs X, draws of the finite network at each width are compared with draws of
the MoGP (or NNGP) limit:

- ``ks_mean`` / ``ks_max``: the two-sample Kolmogorov–Smirnov distance between the finite and
  limit laws of f_1(x_i), averaged / maximised over the inputs;
- ``energy``: the energy distance (Székely & Rizzo) between the joint laws of
  (g(f_1(x_1)), …, g(f_1(x_N))) with g(f) = arcsinh(f / m_i), m_i the limit's median of |f_1(x_i)|:
  a bijection that leaves the energy distance finite for heavy-tailed (e.g. Cauchy) outputs,
  sqrt(2E|A − B| − E|A − A'| − E|B − B'|) as in ``scipy.stats.energy_distance`` (V-statistic);
- ``corr_sq`` / ``rank_corr_sq``: Pearson and Spearman correlation of f_1(x_ref)² and f_2(x_ref)²
  across two output units (0 for a GP and for independent units — priors placed per weight,
  DESIGN §15; for a MoGP VarΣ/(3VarΣ + 2(EΣ)²) when finite). ``corr_sq_defined`` is False when
  the limit's outputs have tail index ≤ 4 (E f⁴ = ∞): the Pearson value then estimates nothing.
  ``dependent``: whether ``rank_corr_sq`` leaves the band ±z_{1−δ/2}/sqrt(S − 1) (δ =
  :data:`DEPENDENCE_LEVEL`) that independent outputs stay inside with probability 1 − δ;
- ``hill`` (with ``hill_k``): Hill's estimate of the tail index of |f_1(x_ref)| (the limit's
  output tail index is 2τ for one hidden layer);
- quantiles of f_1(x_ref).

The ``limit`` row compares two independent limit samples: its ``ks_*`` and ``energy`` are the
Monte Carlo noise floor that a converged width reaches.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp

from bnn_mogp._progress import progress_bar
from bnn_mogp._validation import check_width
from bnn_mogp.nn import MLP, check_inputs, sample_prior
from bnn_mogp.stats import corr_of_squares, hill_tail_index, quantiles, rank_corr_of_squares
from bnn_mogp.theory.mogp import NUM_JUMPS
from bnn_mogp.theory.stable import unit_tail_indices
from bnn_mogp.theory.weight_limit import limit_of

__all__ = [
    "compare_prior",
    "draw_prior_comparison",
    "prior_comparison_table",
    "PriorDraws",
    "finite_vs_limit",
    "marginal_stats",
    "plot_prior_comparison",
    "QUANTILE_PROBS",
    "DEPENDENCE_LEVEL",
    "output_tail_index_limit",
]

QUANTILE_PROBS = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)
#: false-alarm rate of the ``dependent`` verdict for independent outputs
DEPENDENCE_LEVEL = 1e-3
#: draws per side used for the (quadratic-cost) energy distance
ENERGY_SAMPLES = 1000


def quantile_column(p: float) -> str:
    return f"q{round(100 * p):02d}"


def _energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    # V-statistic (all pairs, i = j included): non-negative, so a noise floor is visible
    square = 2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean()
    return math.sqrt(max(square, 0.0))


def marginal_stats(f: np.ndarray, ref: int = -1) -> dict:
    """Statistics of one sample (S, N, ≥ 2) at the reference input: quantiles of f_1, Hill
    estimate, correlations of squares of f_1 and f_2, over the draws that are finite at every
    input; ``nonfinite`` counts the others.
    """
    keep = np.all(np.isfinite(f[..., :2]), axis=(1, 2))  # the draws that finite_vs_limit uses
    f1, f2 = f[keep, ref, 0].astype(np.float64), f[keep, ref, 1].astype(np.float64)
    qs = quantiles(f1, QUANTILE_PROBS)
    row = {quantile_column(p): float(q) for p, q in zip(QUANTILE_PROBS, qs, strict=True)}
    row["hill"], row["hill_k"] = hill_tail_index(f1)
    row["corr_sq"] = corr_of_squares(f1, f2)
    row["rank_corr_sq"] = rank_corr_of_squares(f1, f2)
    band = stats.norm.isf(DEPENDENCE_LEVEL / 2) / math.sqrt(max(f1.size - 1, 1))
    row["dependent"] = bool(abs(row["rank_corr_sq"]) > band)
    row["nonfinite"] = int(np.sum(~keep))
    return row


def finite_vs_limit(sample: np.ndarray, limit: np.ndarray, ref: int = -1) -> dict:
    """Distances between a sample (S, N, ≥ 1) and a limit sample (S', N, ≥ 1) of f_1 at the
    inputs (``ks_mean``, ``ks_max``, ``energy``; see the module docstring), over the draws that
    are finite at every input (:func:`marginal_stats` counts the others).
    """
    a = sample[:, :, 0].astype(np.float64)
    b = limit[:, :, 0].astype(np.float64)
    a, b = a[np.all(np.isfinite(a), axis=1)], b[np.all(np.isfinite(b), axis=1)]
    ks = np.array([ks_2samp(a[:, i], b[:, i]).statistic for i in range(a.shape[1])])
    scale = np.median(np.abs(b), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    m = min(ENERGY_SAMPLES, len(a), len(b))
    energy = _energy_distance(np.arcsinh(a[:m] / scale), np.arcsinh(b[:m] / scale))
    return {"ks_mean": float(ks.mean()), "ks_max": float(ks.max()), "energy": energy}


class PriorDraws(NamedTuple):
    """The draws behind :func:`compare_prior` (:func:`draw_prior_comparison`).

    Attributes:
        widths: the widths compared.
        samples: width → :class:`~bnn_mogp.nn.PriorSample` (functions (S, N, max(2, K)) and
            the largest node variance per layer (S, L)).
        limit: (S, N, max(2, K)) draws of the infinite-width limit.
        replicate: an independent limit sample of the same size (for the noise floor).
        seconds: width → seconds to draw it, and ``"limit"``.
        truncation_error: per hidden layer, the limit sampler's relative truncation error.
        output_tail_index: 2τ of the last hidden layer's prior (inf when light-tailed).
        limit_max_lambda: per hidden layer, the limit's median largest node variance
            ρ̄⁻¹(log 2) (P(max λ ≤ x) → e^{−ρ̄(x)}, DESIGN §4.5).
    """

    widths: tuple[int, ...]
    samples: dict
    limit: np.ndarray
    replicate: np.ndarray
    seconds: dict
    truncation_error: tuple[float, ...]
    output_tail_index: float
    limit_max_lambda: tuple[float, ...]


def draw_prior_comparison(
    rng_key,
    net: MLP,
    X,
    widths: Sequence[int],
    num_draws: int,
    *,
    num_jumps: int = NUM_JUMPS,
    progress: bool = False,
) -> PriorDraws:
    """Prior draws of ``net`` at each width and two independent samples of its limit.

    Every hidden layer gets width n; the networks get max(2, out_dim) outputs (outputs are
    exchangeable; the second one is used for the correlation of squares). Width n uses
    ``fold_in(rng_key, n)``, so its draws do not depend on the other widths; the limit samples
    use ``fold_in(rng_key, 0)``. ``num_jumps``: jumps per layer of the limit sampler (see
    ``MoGP.sample_kernels``).
    """
    widths = tuple(check_width(n, "width") for n in widths)
    if not widths:
        raise ValueError("widths must contain at least one width")
    if len(set(widths)) != len(widths):
        raise ValueError(f"widths must be distinct, got {list(widths)}")
    num_draws = check_width(num_draws, "num_draws")
    net = dataclasses.replace(net, out_dim=max(2, net.out_dim))
    with jax.enable_x64(True):  # keep float64 inputs float64: the limit sampler works in float64
        X = np.asarray(check_inputs(net, X))
    nets = {}
    for n in widths:  # a width the prior forbids fails here, before any work
        try:
            nets[n] = net.with_width(n)
        except ValueError as e:
            raise ValueError(f"width {n} is not allowed for this network: {e}") from None
    lim = limit_of(net)
    k_lim, k_rep = jax.random.split(jax.random.fold_in(rng_key, 0))
    start = time.perf_counter()
    limit = lim.sample_functions(k_lim, X, num_draws, num_jumps=num_jumps, progress=progress)
    seconds: dict[str | int, float] = {"limit": time.perf_counter() - start}
    rep = lim.sample_functions(k_rep, X, num_draws, num_jumps=num_jumps, progress=progress)
    samples = {}
    bar = progress_bar(len(widths), "widths", unit="width") if progress else None
    for n in widths:
        start = time.perf_counter()
        samples[n] = sample_prior(
            jax.random.fold_in(rng_key, n), nets[n], X, num_draws, progress=progress
        )
        seconds[n] = time.perf_counter() - start
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    priors = net.node_priors
    return PriorDraws(
        widths=widths,
        samples=samples,
        limit=limit,
        replicate=rep,
        seconds=seconds,
        truncation_error=tuple(lim.truncation_error(rng_key, 200, num_jumps).tolist()),
        output_tail_index=output_tail_index_limit(net),
        limit_max_lambda=tuple(float(p.limit().tail_inverse(math.log(2.0))) for p in priors),
    )


def output_tail_index_limit(net: MLP) -> float:
    """The tail index of the limit's outputs: 2τ of the last hidden layer's prior placed per
    node (exact for one hidden layer, DESIGN §4.5); placed per weight, the tail index of the
    units of :func:`~bnn_mogp.theory.stable.unit_tail_indices`, which also carries heavy tails
    of earlier layers through φ.
    """
    if "weight" in net.placements:
        return unit_tail_indices(net)[-1]
    return 2.0 * net.node_priors[-1].tail_index


def prior_comparison_table(draws: PriorDraws, ref: int = -1):
    """The table of :func:`compare_prior` from its draws. The ``limit`` row describes the
    replicate limit sample: its distances to the other limit sample are the Monte Carlo noise
    floor, and its statistics (quantiles, Hill, correlations) those of a limit sample that no
    row was measured against.
    """
    rows = []
    for n in draws.widths:
        sample = draws.samples[n]
        max_lambda = np.median(np.asarray(sample.max_lambda, dtype=np.float64), axis=0)
        rows.append(
            {
                "kind": "finite",
                "width": float(n),
                **finite_vs_limit(sample.functions, draws.limit, ref),
                **marginal_stats(sample.functions, ref),
                **_max_lambda_columns(max_lambda, draws.limit_max_lambda),
                "seconds": draws.seconds[n],
            }
        )
    rows.append(
        {
            "kind": "limit",
            "width": math.inf,
            **finite_vs_limit(draws.replicate, draws.limit, ref),
            **marginal_stats(draws.replicate, ref),
            **_max_lambda_columns(draws.limit_max_lambda, draws.limit_max_lambda),
            "seconds": draws.seconds["limit"],
        }
    )
    table = pd.DataFrame(rows)
    table["corr_sq_defined"] = draws.output_tail_index > 4
    table.attrs["output_tail_index"] = draws.output_tail_index
    table.attrs["truncation_error"] = list(draws.truncation_error)
    return table


def _max_lambda_columns(finite, limit) -> dict:
    out = {}
    for l, (fin, lim) in enumerate(zip(finite, limit, strict=True), start=1):
        out[f"max_lambda_median_l{l}"] = float(fin)
        out[f"max_lambda_median_limit_l{l}"] = lim
    return out


def compare_prior(
    rng_key,
    net: MLP,
    X,
    widths: Sequence[int],
    num_draws: int,
    *,
    num_jumps: int = NUM_JUMPS,
    ref: int = -1,
    progress: bool = False,
):
    """Compare the finite-width prior of ``net`` at each width with its infinite-width limit.

    Every hidden layer gets width n; the networks get max(2, out_dim) outputs (outputs are
    exchangeable; the second one is used for the correlation of squares).

    Args:
        rng_key: a JAX PRNG key (width n uses ``fold_in(rng_key, n)``).
        net: the network (its widths are replaced).
        X: inputs (N, in_dim); ``ref`` indexes the input used for marginal statistics.
        widths: the widths to compare.
        num_draws: draws per width and for each of the two limit samples.
        num_jumps: jumps per layer of the limit sampler (see ``MoGP.sample_kernels``).
        progress: show progress bars.

    Returns:
        A ``pandas.DataFrame`` with one row per width and a final ``limit`` row (width = inf),
        columns ``kind, width, ks_mean, ks_max, energy, corr_sq, rank_corr_sq, hill, hill_k,
        q01 … q99, nonfinite``, per hidden layer l the median of the largest node variance
        ``max_lambda_median_l{l}`` and its limit ``max_lambda_median_limit_l{l}``, and
        ``seconds``. ``attrs["output_tail_index"]`` holds 2τ of the last hidden layer's prior
        and ``attrs["truncation_error"]`` the limit sampler's relative truncation error per
        layer.
    """
    draws = draw_prior_comparison(
        rng_key, net, X, widths, num_draws, num_jumps=num_jumps, progress=progress
    )
    return prior_comparison_table(draws, ref)


def plot_prior_comparison(table, fig=None):
    """Distances and statistics of :func:`compare_prior` against width (log axis), with the
    limit's values (noise floor for distances) as dashed lines. Returns a matplotlib Figure.
    """
    if fig is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 7.5))
        FigureCanvasAgg(fig)
    finite = table[table["kind"] == "finite"]
    limit = table[table["kind"] == "limit"].iloc[0]
    axes = fig.subplots(2, 2)
    panels = [
        (axes[0, 0], ["ks_mean", "ks_max"], "KS distance to the limit (marginals)", True),
        (axes[0, 1], ["energy"], "energy distance to the limit (joint, arcsinh scale)", True),
        (
            axes[1, 0],
            ["corr_sq", "rank_corr_sq"],
            "correlation of f_1², f_2² across outputs",
            False,
        ),
        (axes[1, 1], ["hill"], "Hill tail index of |f_1(x_ref)|", False),
    ]
    for ax, cols, title, is_distance in panels:
        reference = "limit vs limit: noise floor" if is_distance else "limit"
        for col, color in zip(cols, ("C0", "C1"), strict=False):
            ax.plot(finite["width"], finite[col], "o-", color=color, label=f"{col} (finite)")
            ax.axhline(limit[col], color=color, ls="--", lw=1, label=f"{col} ({reference})")
        ax.set_xscale("log")
        ax.set_xlabel("width n")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    tail = table.attrs.get("output_tail_index", math.inf)
    if math.isfinite(tail):
        axes[1, 1].axhline(tail, color="k", ls=":", lw=1, label=f"2τ = {tail:g} (theory)")
    for ax in axes.ravel():
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
