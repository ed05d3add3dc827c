r"""Prior-predictive check: function draws of a network prior at several widths.

This is the engine of ``bnn-mogp prior``.

Inputs are a 1-D grid t_1 < … < t_N of ``num_inputs`` equally spaced points in [x_min, x_max],
mapped to

.. math:: x = t\,(1, \dots, 1) \in \mathbb{R}^d, \qquad \text{so that } |x|^2/d = t^2

and the first-layer variance is Σ^(1)(x, x) = σ_b² + σ_w² t², whatever the input dimension d.
Marginal statistics are taken at the **reference input x0 = x_max·(1, …, 1)** (t0 = x_max).

For each width n every hidden layer gets width n and the network gets max(2, K) outputs: outputs
are exchangeable, so the law of f_1 is unchanged, and f_2 is used only for the correlation of
squares corr(f_1(x0)², f_2(x0)²) (0 for a Gaussian process, positive for a mixture of GPs) and
its robust rank version (the Pearson one is erratic when f² has infinite variance).

Per width the summary holds: the distance of the finite-width law to the infinite-width limit
(MoGP, NNGP, or for priors placed per weight iid units) — KS distance of the marginals f_1(x_i)
(mean and max over inputs) and energy distance of the joint law over inputs (see
:mod:`bnn_mogp.studies.prior`); quantiles of f_1(x0); Hill's tail-index estimate of |f_1(x0)| and
its k; the limit's output tail index (2τ_L for priors placed per node, τ_L the Lévy tail index of
the last hidden layer's prior, inf when light, exact for one hidden layer, DESIGN §4.5, heavier
still when earlier layers are heavy; placed per weight the unit recursion of DESIGN §15); the
correlations of squares (the Pearson one flagged where a tail index ≤ 4 leaves it undefined) and
whether the outputs are dependent (a MoGP) or not; and per hidden layer l the median over draws
of max_j λ_{l,j} next to the limit's median ρ̄_l^{-1}(log 2) (because P(max_j λ_{l,j} ≤ x) →
exp(−ρ̄_l(x)); it is 0 for Gaussian limits).
A last row, ``limit``, holds the same statistics for draws of the limit; its distances compare
two independent limit samples, the Monte Carlo noise floor that a converged width reaches.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import textwrap
import time
import types
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import numpy as np

from bnn_mogp._io import atomic_open, atomic_path
from bnn_mogp._validation import check_width
from bnn_mogp.cli.common import (
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_spec_argument,
    int_at_least,
    log,
    open_spec,
    show_progress,
    width_list,
)
from bnn_mogp.cli.spec import MIN_DRAWS, Spec, network_label
from bnn_mogp.nn import MLP, PriorSample
from bnn_mogp.studies.prior import (
    QUANTILE_PROBS,
    draw_prior_comparison,
    prior_comparison_table,
    quantile_column,
)

__all__ = [
    "PriorCheckResult",
    "run_prior_check",
    "format_summary",
    "plot_functions",
    "plot_marginals",
    "prior_check_inputs",
    "QUANTILE_PROBS",
    "NUM_FUNCTIONS_PLOTTED",
]

#: function draws shown per width in functions.png
NUM_FUNCTIONS_PLOTTED = 20

SUMMARY_FILE = "prior_summary.csv"
FUNCTIONS_FILE = "functions.png"
MARGINALS_FILE = "marginals.png"


@dataclasses.dataclass(frozen=True)
class PriorCheckResult:
    """What :func:`run_prior_check` computed and wrote.

    Attributes:
        spec: the specification.
        widths: the widths compared.
        num_draws: draws per width.
        t: (N,) the input grid; the inputs are x = t·(1, …, 1).
        t0: the reference input t0 = x_max.
        columns: the CSV columns, in order.
        rows: one dict per width (column → value), as in ``prior_summary.csv``.
        samples: width → :class:`~bnn_mogp.nn.PriorSample` (functions (S, N, max(2, K)),
            max_lambda (S, L)).
        limit_functions: (S, N, max(2, K)) draws of the infinite-width limit.
        truncation_error: per hidden layer, the limit sampler's relative truncation error.
        output_tail_index: 2τ_L, the limit's tail index of the outputs (inf when light).
        paths: ``"summary"``, ``"functions"``, ``"marginals"`` → the files written.
    """

    spec: Spec
    widths: tuple[int, ...]
    num_draws: int
    t: np.ndarray
    t0: float
    columns: tuple[str, ...]
    rows: tuple[dict, ...]
    samples: Mapping[int, PriorSample] = dataclasses.field(repr=False)
    limit_functions: np.ndarray = dataclasses.field(repr=False)
    truncation_error: tuple[float, ...]
    output_tail_index: float
    paths: Mapping[str, Path]


def prior_check_inputs(net: MLP, x_min: float, x_max: float, num_inputs: int):
    """The grid t (N,) in [x_min, x_max] and the inputs X = t·(1, …, 1) of shape (N, d)."""
    t = np.linspace(x_min, x_max, num_inputs)
    t[-1] = x_max  # exactly, so that t0 = t[-1]
    X = np.repeat(t[:, None], net.in_dim, axis=1)
    return t, X


def run_prior_check(
    spec: Spec,
    widths: Sequence[int] | None = None,
    num_draws: int | None = None,
    rng_key=None,
    out_dir=None,
    progress: bool = True,
) -> PriorCheckResult:
    """Draw prior functions at each width, summarise them, and write the CSV and the figures:
    :func:`bnn_mogp.studies.compare_prior` on the spec's input grid, written out.

    Args:
        spec: a :class:`~bnn_mogp.cli.spec.Spec`; its ``prior_check`` settings give the input
            grid and the defaults below.
        widths: widths to compare (default ``spec.prior_check.widths``); every hidden layer gets
            the same width.
        num_draws: prior draws per width (default ``spec.prior_check.num_draws``; ≥ 10).
        rng_key: a JAX PRNG key, or an integer seed (default ``spec.prior_check.seed``). Width n
            uses ``fold_in(rng_key, n)``, so its draws do not depend on the other widths.
        out_dir: folder for ``prior_summary.csv``, ``functions.png`` and ``marginals.png``
            (created if needed; each file is written atomically). Default
            ``runs/<spec.name>/prior``.
        progress: show tqdm progress bars (on stderr).

    Returns:
        A :class:`PriorCheckResult`.
    """
    settings = spec.prior_check
    widths = tuple(settings.widths if widths is None else widths)
    num_draws = check_width(settings.num_draws if num_draws is None else num_draws, "num_draws")
    if num_draws < MIN_DRAWS:
        raise ValueError(f"num_draws must be an integer >= {MIN_DRAWS}, got {num_draws}")
    if rng_key is None:
        rng_key = settings.seed
    if isinstance(rng_key, int | np.integer) and not isinstance(rng_key, bool):
        rng_key = jax.random.PRNGKey(int(rng_key))
    out_dir = Path(out_dir) if out_dir is not None else Path("runs") / spec.name / "prior"
    t, X = prior_check_inputs(spec.net, settings.x_min, settings.x_max, settings.num_inputs)
    t0 = float(t[-1])
    draws = draw_prior_comparison(rng_key, spec.net, X, widths, num_draws, progress=progress)
    table = prior_comparison_table(draws)
    columns = [
        "width",
        "num_draws",
        "t0",
        "ks_mean",
        "ks_max",
        "energy",
        *(quantile_column(p) for p in QUANTILE_PROBS),
        "hill",
        "hill_k",
        "output_tail_index_limit",
        "corr_sq",
        "corr_sq_defined",
        "rank_corr_sq",
        "dependent",
        *(c for c in table.columns if c.startswith("max_lambda_median")),
        "nonfinite",
        "seconds",
    ]
    rows = []
    for record in table.to_dict("records"):
        finite = record["kind"] == "finite"
        record.update(
            width=int(record["width"]) if finite else "limit",
            num_draws=num_draws,
            t0=t0,
            output_tail_index_limit=draws.output_tail_index,
            seconds=round(record["seconds"], 3),
        )
        rows.append({c: record[c] for c in columns})

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": out_dir / SUMMARY_FILE,
        "functions": out_dir / FUNCTIONS_FILE,
        "marginals": out_dir / MARGINALS_FILE,
    }
    _write_csv(paths["summary"], columns, rows)
    result = PriorCheckResult(
        spec=spec,
        widths=draws.widths,
        num_draws=num_draws,
        t=t,
        t0=t0,
        columns=tuple(columns),
        rows=tuple(rows),
        samples=draws.samples,
        limit_functions=draws.limit,
        truncation_error=draws.truncation_error,
        output_tail_index=draws.output_tail_index,
        paths=paths,
    )
    plot_functions(result, paths["functions"])
    plot_marginals(result, paths["marginals"])
    return result


def _write_csv(path: Path, columns, rows) -> None:
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _csv_value(row[c]) for c in columns})


def _csv_value(value):
    # draws are float32: 9 significant digits keep every bit without printing float64 noise
    return format(value, ".9g") if isinstance(value, float) else value


# --------------------------------------------------------------------------------------------------
# figures


def _titles(result: PriorCheckResult, fig_width_in: float) -> str:
    spec = result.spec
    widths = ", ".join(str(n) for n in result.widths)
    chars = max(60, int(11 * fig_width_in))  # ~11 characters per inch at fontsize 10
    lines = [
        f"{spec.name}: {network_label(spec.net)}",
        f"widths {widths}; {result.num_draws} draws per width; x = t·(1,…,1), t0 = {result.t0:g}",
    ]
    return "\n".join(textwrap.fill(line, chars) for line in lines)


def _robust_limits(values: np.ndarray, lo_p: float, hi_p: float, pad: float = 0.1):
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 1.0
    lo, hi = np.quantile(values, [lo_p, hi_p])
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    span = hi - lo
    return float(lo - pad * span), float(hi + pad * span)


def _pyplot_free():
    """matplotlib without pyplot: Agg-backed figures that leave the global backend alone."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def new_figure(**kwargs):
        fig = Figure(**kwargs)
        FigureCanvasAgg(fig)
        return fig

    return types.SimpleNamespace(new_figure=new_figure, colormaps=matplotlib.colormaps)


def _function_ylim(f: np.ndarray, pad: float = 0.15):
    """y-range of function plots: the widest 5 %–95 % range over inputs, padded by 15 %.

    Per-input quantiles keep light-tailed draws inside the frame; stopping at 5 %–95 % keeps a few
    enormous heavy-tailed draws from squashing all the others.
    """
    f = np.where(np.isfinite(f), f, np.nan).astype(np.float64)  # (S, N)
    with np.errstate(all="ignore"):
        lo, hi = np.nanquantile(f, [0.05, 0.95], axis=0)
    lo, hi = np.nanmin(lo, initial=np.inf), np.nanmax(hi, initial=-np.inf)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return _robust_limits(f.ravel(), 0.0, 1.0)
    span = hi - lo
    return float(lo - pad * span), float(hi + pad * span)


def _limit_label(result: PriorCheckResult) -> str:
    net = result.spec.net
    if all(p.gaussian_limit for p in net.node_priors):
        return "limit (NNGP)"
    return "limit (iid units)" if net.placements[-1] == "weight" else "limit (MoGP)"


def _panels(result: PriorCheckResult) -> list[tuple[str, np.ndarray]]:
    """(title, functions (S, N, K)) for every width, then the infinite-width limit."""
    panels = [(f"width n = {n}", result.samples[n].functions) for n in result.widths]
    return panels + [(_limit_label(result), result.limit_functions)]


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def plot_functions(result: PriorCheckResult, path) -> Path:
    """``functions.png``: ~20 prior draws of f_1 against t, one panel per width and one for the
    infinite-width limit.

    The y-range (shared by the panels) is the widest per-input 5 %–95 % range of all draws, padded
    by 15 %, so that a few huge heavy-tailed draws do not squash the others; the number of shown
    draws that leave the frame is written in each panel.
    """
    plt = _pyplot_free()
    path = Path(path)
    panels = _panels(result)
    ncols = min(len(panels), 4)
    nrows = math.ceil(len(panels) / ncols)
    fig = plt.new_figure(figsize=(max(6.5, 4.6 * ncols), 3.8 * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    ylo, yhi = _function_ylim(np.concatenate([f[..., 0] for _, f in panels]))
    colors = plt.colormaps["tab20"](np.arange(NUM_FUNCTIONS_PLOTTED) % 20)
    for ax, (title, functions) in zip(axes.ravel(), panels, strict=False):
        f = functions[:NUM_FUNCTIONS_PLOTTED, :, 0]
        for i, fi in enumerate(f):
            ax.plot(result.t, fi, color=colors[i], lw=1.1, alpha=0.85)
        ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
        ax.set_ylim(ylo, yhi)
        ax.set_xlim(result.t[0], result.t[-1])
        ax.set_title(title)
        ax.set_xlabel("t  (x = t·(1,…,1))")
        outside = int(np.sum(np.any((f < ylo) | (f > yhi) | ~np.isfinite(f), axis=1)))
        if outside:
            ax.text(
                0.02,
                0.02,
                f"{outside} of {len(f)} draws leave the frame",
                transform=ax.transAxes,
                fontsize=8,
                color="0.3",
                va="bottom",
            )
        ax.grid(alpha=0.25)
    for ax in axes[:, 0]:
        ax.set_ylabel("f_1(x)")
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(_titles(result, fig.get_figwidth()), fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return path


def plot_marginals(result: PriorCheckResult, path) -> Path:
    """``marginals.png``: the law of f_1(x0) at each width and in the limit (black), overlaid.

    Left: a density histogram on a robust range (median ± 4 interquartile ranges of all widths'
    draws pooled, or their 1 %–99 % range when the IQR is 0). Right: the survival function
    P(|f_1(x0)| > z) on log-log axes, with a reference line of slope −2τ_L (the limit's output
    tail index) when it is finite.
    """
    plt = _pyplot_free()
    path = Path(path)
    keys: list[int | str] = [*result.widths, "limit"]
    rows = {row["width"]: row for row in result.rows}
    names = {n: f"n = {n}" for n in result.widths} | {"limit": _limit_label(result)}
    f1 = {}
    for n, (_, functions) in zip(keys, _panels(result), strict=True):
        v = functions[:, -1, 0].astype(np.float64)
        f1[n] = v[np.isfinite(v)]
    pooled = np.concatenate(list(f1.values()))

    fig = plt.new_figure(figsize=(12, 4.9))
    ax_h, ax_s = fig.subplots(1, 2)
    colors = [*plt.colormaps["viridis"](np.linspace(0.0, 0.85, len(result.widths))), "black"]

    # left: densities on a robust range
    if pooled.size:
        q25, q50, q75 = np.quantile(pooled, [0.25, 0.5, 0.75])
        iqr = q75 - q25
        lo, hi = (q50 - 4 * iqr, q50 + 4 * iqr) if iqr > 0 else _robust_limits(pooled, 0.01, 0.99)
    else:
        lo, hi = -1.0, 1.0
    bins = np.linspace(lo, hi, 61)
    for color, n in zip(colors, keys, strict=True):
        v = f1[n]
        out = float(np.mean((v < lo) | (v > hi))) if v.size else 0.0
        ax_h.hist(
            v,
            bins=bins,
            density=True,
            histtype="step",
            lw=1.6,
            color=color,
            label=f"{names[n]}  ({100 * out:.1f}% outside)",
        )
    ax_h.set_xlim(lo, hi)
    ax_h.set_xlabel(f"f_1(x0),  t0 = {result.t0:g}")
    ax_h.set_ylabel("density")
    ax_h.set_title("marginal density at x0 (robust range)")
    ax_h.legend(fontsize=8, loc="upper right")
    ax_h.grid(alpha=0.25)

    # right: survival function on log-log axes
    ref_anchor = None
    for color, n in zip(colors, keys, strict=True):
        z = np.sort(np.abs(f1[n]))
        if not z.size:
            continue
        surv = 1.0 - np.arange(z.size) / z.size  # P(|f| >= z_(i))
        keep = z > 0
        row = rows[n]
        label = f"{names[n]}  (Hill {row['hill']:.2f}, k = {row['hill_k']})"
        ax_s.step(z[keep], surv[keep], where="post", color=color, lw=1.4, label=label)
        if z.size >= 10:
            ref_anchor = (float(np.quantile(z, 0.9)), 0.1, z.size)
    tail = result.output_tail_index
    caveat = "" if result.spec.net.depth == 1 else ", last layer; exact for 1 hidden layer"
    if math.isfinite(tail) and ref_anchor is not None:
        z_a, s_a, size = ref_anchor
        if z_a > 0:
            z_end = z_a * (s_a * size) ** (1.0 / tail)  # where the line reaches 1/size
            zz = np.geomspace(z_a, z_end, 50)
            ax_s.plot(
                zz,
                s_a * (zz / z_a) ** (-tail),
                "k--",
                lw=1.2,
                label=f"slope −{tail:g} (limit output tail index 2τ{caveat})",
            )
    else:
        ax_s.text(
            0.97,
            0.95,
            f"limit output tails are light (2τ = ∞{caveat})",
            transform=ax_s.transAxes,
            fontsize=8,
            color="0.3",
            ha="right",
            va="top",
        )
    ax_s.set_xscale("log")
    ax_s.set_yscale("log")
    positive = np.abs(pooled[pooled != 0])
    if positive.size:  # start where the survival function starts to fall
        ax_s.set_xlim(left=float(np.quantile(positive, 0.01)))
    ax_s.set_xlabel("z")
    ax_s.set_ylabel("P(|f_1(x0)| > z)")
    ax_s.set_title("survival function of |f_1(x0)| (log-log)")
    ax_s.legend(fontsize=8, loc="lower left")
    ax_s.grid(alpha=0.25, which="both")

    fig.suptitle(_titles(result, fig.get_figwidth()), fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return path


def format_summary(result: PriorCheckResult) -> str:
    """A short fixed-width table of the summary (for the terminal)."""
    depth = len(result.spec.net.node_priors)
    header = [
        "width",
        "KS mean",
        "KS max",
        "energy",
        "q05",
        "median",
        "q95",
        "Hill (k)",
        "2τ limit",
        "corr(f1²,f2²)",
        "rank corr",
        "outputs",
    ]
    header += [f"med max λ_{l} (limit)" for l in range(1, depth + 1)]
    header += ["seconds"]
    dropped = any(row["nonfinite"] for row in result.rows)
    if dropped:
        header += ["non-finite draws dropped"]
    lines = []
    for row in result.rows:
        cells = [
            str(row["width"]),
            f"{row['ks_mean']:.3f}",
            f"{row['ks_max']:.3f}",
            f"{row['energy']:.3f}",
            f"{row['q05']:.3g}",
            f"{row['q50']:.3g}",
            f"{row['q95']:.3g}",
            f"{row['hill']:.2f} ({row['hill_k']})",
            f"{row['output_tail_index_limit']:g}",
            f"{row['corr_sq']:.3f}" if row["corr_sq_defined"] else "n/a (tail)",
            f"{row['rank_corr_sq']:.3f}",
            "dependent" if row["dependent"] else "independent",
        ]
        for l in range(1, depth + 1):
            fin = row[f"max_lambda_median_l{l}"]
            lim = row[f"max_lambda_median_limit_l{l}"]
            cells.append(f"{fin:.3g} ({lim:.3g})" if math.isfinite(fin) else f"n/a ({lim:.3g})")
        cells.append(f"{row['seconds']:.1f}")
        if dropped:
            cells.append(str(row["nonfinite"]))
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    for cells in lines:
        out.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(out)


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "prior",
        help="prior-predictive check: function draws at several widths vs the infinite-width limit",
        description=(
            "Draw functions from the network prior of SPEC at several widths (every hidden layer "
            "gets the same width) and from its infinite-width (MoGP, NNGP or iid-unit) limit on "
            "the grid "
            "x = t·(1,…,1), t in [x_min, x_max]; report the distance of each width to the limit "
            "(KS of the marginals, energy of the joint), and at t0 = x_max quantiles, Hill tail "
            "index, correlation of squares of two outputs, largest node variance vs its limit; "
            "write prior_summary.csv, functions.png and marginals.png."
        ),
    )
    add_spec_argument(p)
    p.add_argument(
        "--widths",
        type=width_list,
        metavar="N1,N2,...",
        help="comma-separated hidden widths (default: [prior_check] widths of the spec)",
    )
    p.add_argument(
        "--num-draws",
        type=int_at_least(MIN_DRAWS),
        metavar="N",
        help=f"prior draws per width, >= {MIN_DRAWS} (default: [prior_check] num_draws)",
    )
    add_out_option(p, "prior")
    add_seed_option(p, "[prior_check] seed")
    add_progress_option(p)
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    spec, out = open_spec(args, "prior")
    settings = spec.prior_check
    seed = settings.seed if args.seed is None else args.seed
    progress = show_progress(args)
    log(f"{network_label(spec.net)}; seed {seed}")
    start = time.perf_counter()
    result = run_prior_check(
        spec,
        widths=args.widths,
        num_draws=args.num_draws,
        rng_key=seed,
        out_dir=out,
        progress=progress,
    )
    elapsed = time.perf_counter() - start
    exact = spec.net.depth == 1 or "weight" in spec.net.placements  # per weight: the recursion
    caveat = "" if exact else " from the last hidden layer, exact for one layer"
    print(
        f"f_1 at t0 = {result.t0:g}, {result.num_draws} draws per width "
        f"(limit: output tail index 2τ = {result.output_tail_index:g}{caveat}; "
        "median of max λ per layer in parentheses):"
    )
    print(format_summary(result))
    if not result.rows[0]["corr_sq_defined"]:
        print(
            f"corr(f1²,f2²) n/a: outputs with tail index {result.output_tail_index:g} ≤ 4 have "
            "E f⁴ = ∞, so the Pearson correlation of squares estimates nothing (its value is in "
            "the CSV); the rank correlation is defined for every law"
        )
    print(
        "outputs: 'dependent' when the rank correlation of squares leaves the band that "
        "independent outputs (a GP, or priors placed per weight) stay inside with probability "
        "0.999; a MoGP (priors placed per node) makes them dependent"
    )
    trunc = ", ".join(f"{e:.2e}" for e in result.truncation_error)
    print(
        f"limit sampler: relative truncation error per layer {trunc}; the 'limit' row compares "
        "two independent limit samples (the Monte Carlo noise floor of KS and energy)"
    )
    print(f"wrote ({elapsed:.1f} s):")
    for path in result.paths.values():
        print(f"  {path}")
    return 0
