"""``bnn-mogp report``: one self-contained HTML page per fitted run.

The page answers four questions, top to bottom: did the run converge (the gates of
:func:`bnn_mogp.diagnostics.convergence_gates`, trace / rank / energy / pair plots, or the ELBO
loss for SVI), how well does it predict (test metrics, PSIS-LOO with Pareto k, the posterior
predictive against the test data), which nodes matter (sorted posterior node variances against
the prior's order statistics and the limit's largest jumps), and how far can the network be pruned
(:mod:`bnn_mogp.pruning`). The specification, data summary and settings close it. Figures are PNG
images embedded as base64 data and the styles are inline, so the file needs no network access and
can be mailed or archived as it is. It is written atomically, beside ``pruning.csv`` (the curve).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import re
import time
import warnings
from pathlib import Path

import numpy as np

import bnn_mogp.diagnostics as dg
import bnn_mogp.pruning as pruning
from bnn_mogp._io import atomic_open
from bnn_mogp.cli.common import log, output_file
from bnn_mogp.evaluation import extrapolation, pointwise_lpd
from bnn_mogp.inference import noise_draws, noise_model, posterior_functions
from bnn_mogp.runs import Run, load_run

__all__ = ["write_report", "render_report", "html_page", "FIGURES"]

#: figure ids in page order (``id="fig-<name>"``); which appear depends on the run
FIGURES = (
    "predictive",
    "pointwise_lpd",
    "loo",
    "trace",
    "rank",
    "energy",
    "pairs",
    "svi_loss",
    "training",
    "hyperparameters",
    "node_variances",
    "pruning",
)

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?|—")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;
background:#f5f6f8;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{border-bottom:2px solid #e3e6ea;padding-bottom:4px;
margin-top:36px}
.sub{color:#5b6570;margin:0 0 18px}
.verdict{padding:12px 16px;border-radius:6px;margin:10px 0;font-weight:600}
.ok{background:#e5f5ea;border-left:6px solid #2e9d4f}.bad{background:#fdeaea;
border-left:6px solid #c9302c}.info{background:#eef3fb;border-left:6px solid #3f72c6}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.9em}
th,td{border:1px solid #dde1e5;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f0f2f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{color:#2e7d32;font-weight:700}td.fail{color:#c62828;font-weight:700}
td.slow{color:#b26a00;font-weight:700}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption{color:#4a545e;font-size:.9em;margin-top:4px}
pre{background:#f6f8fa;padding:10px;overflow-x:auto;font-size:.85em;border:1px solid #e3e6ea}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 200px;border:1px solid #e3e6ea;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:1.35em}.card span{color:#5b6570;font-size:.85em}
details summary{cursor:pointer;color:#3f72c6}
"""


def write_report(run_dir, *, run: Run | None = None, out=None, fractions=None, log=None) -> Path:
    """Render the report of the finished run in ``run_dir`` and write it atomically to ``out``
    (default ``run_dir/report.html``), with the pruning curve in ``run_dir/pruning.csv``.

    Args:
        run_dir: the folder of a ``bnn-mogp fit`` run.
        run: the :class:`~bnn_mogp.runs.Run` when already in memory (else it is loaded).
        out: the HTML file to write.
        fractions: pruning fractions (default :data:`bnn_mogp.pruning.FRACTIONS`).
        log: where one-line progress messages go (None: nowhere).

    Returns the path of the report.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir) if run is None else run
    page, curve = render_report(run, fractions=fractions, log=log)
    out = run_dir / "report.html" if out is None else Path(out)
    if curve is not None:
        with atomic_open(run_dir / "pruning.csv") as fh:
            curve.to_csv(fh, index=False)
    with atomic_open(out, encoding="utf-8") as fh:
        fh.write(page)
    return out


def render_report(run: Run, *, fractions=None, log=None):
    """The report of a :class:`~bnn_mogp.runs.Run` as an HTML string, and its pruning
    curve (a DataFrame; None for a network without hidden layers).
    """
    log = log or (lambda _line: None)
    idata, dataset, net, metrics = run.idata, run.dataset, run.net, run.metrics
    nuts = idata.attrs.get("method") == "nuts"
    figures = {}

    def figure(name, make, caption):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = make()
        figures[name] = (_png(fig), caption)

    log("report: figures")
    # arviz sets each group as an instance attribute at run time; InferenceData declares none
    f_test = _draws(idata.predictions["f"])  # type: ignore[attr-defined]
    sigma = noise_draws(idata)
    noise = noise_model(idata)
    grid_kwargs = {}
    if dataset.is_regression and dataset.in_dim == 1:
        allx = np.concatenate([dataset.X_train[:, 0], dataset.X_test[:, 0]])
        pad = 0.05 * np.ptp(allx)
        grid = np.linspace(allx.min() - pad, allx.max() + pad, 200)[:, None]
        f_grid, _ = posterior_functions(idata, grid)
        grid_kwargs = dict(grid=grid, f_grid=f_grid)
    figure(
        "predictive",
        lambda: dg.plot_predictive(f_test, sigma, dataset, df=noise["df"], **grid_kwargs),
        "Posterior predictive on the held-out test data, in original units. "
        + (
            "Bands: 90 % of f and of new observations; dots: training data; crosses: test data."
            if grid_kwargs
            else "Left: test targets against the predictive mean with 90 % intervals; right: the "
            "PIT of the test targets (a calibrated predictive stays inside the band)."
            if dataset.is_regression
            else "Reliability diagram: accuracy against confidence per bin (marker size: points in "
            "the bin; bars: 90 % Wilson intervals), and the histogram of confidences."
        ),
    )
    y_scale = dataset.y_std if dataset.y_std is not None else 1.0  # None: classification
    lpd = pointwise_lpd(f_test, sigma, dataset.y_test, **noise, y_scale=y_scale)
    extrapolated = extrapolation(dataset.X_train, dataset.X_test)["any"]
    figure(
        "pointwise_lpd",
        lambda: dg.plot_pointwise_lpd(lpd, extrapolated),
        "Log predictive density of every test point"
        + (", original units" if dataset.is_regression else "")
        + "; red: test points outside the training inputs (a feature beyond its training "
        "range, or a Mahalanobis distance beyond the training maximum); the worst five are "
        "named by their index.",
    )
    loo = dg.loo_summary(idata)
    if "skipped" not in loo:
        figure(
            "loo",
            lambda: dg.plot_khat(loo),
            "PSIS-LOO Pareto k of every training point: above 0.7 (dashed) the leave-one-out "
            "estimate of that point is unreliable; the elpd then needs refits or K-fold CV.",
        )
    if nuts:
        figure(
            "trace",
            lambda: dg.plot_trace(idata),
            "Trace plots (right) and per-chain densities (left) of the noise scale σ "
            "(standardised units), log λ of the three largest nodes of every layer and the "
            "function at monitor inputs. Chains should overlap and look like noise.",
        )
        figure(
            "rank",
            lambda: dg.plot_rank(idata),
            "Rank plots: the histogram of each chain's ranks among all draws; flat bars near "
            "the dashed line mean the chains explore the same distribution.",
        )
        figure(
            "energy",
            lambda: dg.plot_energy(idata),
            "Energy plot: marginal energy against energy transitions; a transition "
            "distribution much narrower than the marginal (low E-BFMI) means slow "
            "exploration of heavy tails.",
        )
        figure(
            "pairs",
            lambda: dg.plot_pairs(idata),
            "Pair plot of σ, log λ of the largest node per layer and two monitored function "
            "values; divergent transitions, if any, are marked.",
        )
    elif "svi_losses" in idata.groups():
        figure(
            "svi_loss",
            lambda: dg.plot_svi_loss(idata),
            "SVI: the ELBO loss against the optimisation step; it should level off.",
        )
    elif "training" in idata.groups():
        figure(
            "training",
            lambda: dg.plot_training(idata),
            "Mini-batch training per epoch: the negative log-likelihood per data point and "
            "the accuracy (or squared error) on the batches; grey: the burn-in, whose states "
            "are not kept; dotted: the learning rate.",
        )
    if dg.plot_hyperparameters(idata) is not None:
        figure(
            "hyperparameters",
            lambda: dg.plot_hyperparameters(idata),
            "Learned hyper-parameters of the node priors: posterior (blue) against prior "
            "(grey) per hidden layer.",
        )
    if net.depth:
        figure(
            "node_variances",
            lambda: dg.plot_node_variances(idata),
            "Which nodes matter: the k-th largest posterior node variance λ of every hidden "
            "layer (median and 90 % interval over draws) against the same order statistic "
            "under the prior at this width (grey) and the median of the k-th largest jump of "
            "the infinite-width limit (dashed; for k = 1 the largest-node law P(max λ ≤ x) → "
            "exp(−ρ̄(x)) of DESIGN §4.5).",
        )
    curve = None
    if net.depth:
        log("report: pruning curve")
        curve = pruning.pruning_curve(
            idata,
            dataset.X_test,
            dataset.y_test,
            fractions=fractions or pruning.FRACTIONS,
            y_scale=y_scale,
        )
        label = metrics.get("spec", "run")
        layers = {}
        if net.placements[0] == "node":  # the theory panels are those of per-node λ (§4.5)
            params, _ = pruning.network_draws(idata)
            lam = pruning.node_variances(params, net)[0]
            fan_out = (*net.widths, net.out_dim)[1]
            layers[label] = (net.node_priors[0], net.widths[0], lam, fan_out)
        figure(
            "pruning",
            lambda: pruning.plot_pruning(
                {label: curve}, likelihood=dataset.likelihood, layers=layers
            ),
            "Pruning: the least important nodes of every layer removed per posterior draw, a "
            "fraction at a time: the test RMSE or accuracy (1) and the change of the test log "
            "predictive density from the full network (2); the share of node importance "
            "removed, posterior"
            + (
                " against the prior at this width (3; the dotted diagonal is a network without "
                "compressibility); the node variance removed by a threshold ε against the "
                "infinite-width a + ∫₀^ε w ρ(dw) (4; a drift a > 0 means no compressibility, "
                "otherwise it vanishes like ε^{1−α})."
                if layers
                else " (3; the prior's theory panels are for priors placed per node)."
            ),
        )
    body = [
        _header(run, nuts),
        _convergence(run, nuts, figures),
        _prediction(run, loo, figures),
        _nodes(figures),
        _pruning(curve, figures),
        _specification(run),
    ]
    return html_page(f"bnn-mogp report: {metrics.get('spec', 'run')}", body), curve


def html_page(title: str, body) -> str:
    """A self-contained HTML page: the report's styles and the non-empty parts of ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main></body></html>\n"
    )


# -- sections -----------------------------------------------------------------------------------


def _header(run, nuts) -> str:
    m = run.metrics
    data = m["data"]
    validity = run.gates[run.gates["kind"] == "validity"] if len(run.gates) else run.gates
    failed = [row.gate for row in validity.itertuples() if not row.passed]
    if not nuts:
        verdict = ("info", dg.gates_do_not_apply(run.idata) or "")
    elif failed:
        verdict = (
            "bad",
            f"Not converged: {len(failed)} gate(s) failed ({', '.join(failed)}). "
            "Do not trust the results below yet.",
        )
    else:
        verdict = (
            "ok",
            "Converged: every validity gate passes (R-hat, bulk and tail ESS, "
            "divergences, E-BFMI).",
        )
    test = m["test"]
    cards = []
    if "rmse" in test:
        cover = next(k for k in test if k.startswith("coverage_"))
        cards += [
            (
                f"test RMSE of the posterior {test['point_prediction']}",
                f"{test['rmse']:.4g}",
                f"original units; target sd {data.get('target_sd_test', 0):.4g}; "
                f"MAE {test['mae']:.4g}; {test['point_prediction']}, as "
                f"{test['point_prediction_reason']}",
            ),
            (
                "test log predictive density",
                f"{test['mean_log_predictive_density']:.4g}",
                "per point, original units",
            ),
            (f"{cover[9:]} % interval coverage", f"{test[cover]:.2f}", "of test targets"),
        ]
    else:
        cards += [
            ("test accuracy", f"{test['accuracy']:.3f}", f"{test['num_test']} test points"),
            ("test log loss", f"{test['log_loss']:.4g}", "per point"),
        ]
    s = m["sampling"]
    cards.append(
        (
            "sampling time",
            f"{s['sampling_time_s']:.1f} s",
            f"{s['num_draws']} draws; wall {m.get('wall_time_s') or 0:.1f} s",
        )
    )
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<h1>{_e(m.get('spec', 'run'))}</h1>"
        f'<p class="sub">{_e(m["network"]["label"])} · widths {m["network"]["widths"]} · '
        f"{_e(data['source'])} ({data['num_train']} train / {data['num_test']} test, "
        f"{data['likelihood']}) · {_e(m['method'].upper())} · report made {when}</p>"
        f'<div class="verdict {verdict[0]}">{_e(verdict[1])}</div>'
        + '<div class="cards">'
        + "".join(
            f'<div class="card"><span>{_e(a)}</span><b>{_e(b)}</b><span>{_e(c)}</span></div>'
            for a, b, c in cards
        )
        + "</div>"
    )


def _convergence(run, nuts, figures) -> str:
    parts = ['<h2 id="convergence">Did it converge?</h2>']
    if len(run.gates):
        rows = []
        for row in run.gates.itertuples():
            verdict = "pass" if row.passed else ("FAIL" if row.kind == "validity" else "slow")
            rows.append(
                [
                    _e(row.gate),
                    _e(row.kind),
                    _fmt(row.value),
                    _fmt(row.threshold),
                    f'<td class="{verdict.lower()}">{verdict}</td>',
                    _e(row.reason),
                ]
            )
        parts.append(
            _table(["gate", "kind", "value", "threshold", "verdict", "reason"], rows, raw_cells={4})
        )
        parts.append(
            "<p>Gates are judged on the noise scale, the node variances sorted per draw "
            "and the function at monitor inputs (per-weight R-hat is meaningless: node "
            "permutations make weight space multimodal). Validity gates decide the "
            "verdict; the tree-depth gate is about efficiency.</p>"
        )
    summary = run.summary
    if len(summary):
        cols = [
            c
            for c in ("mean", "sd", "hdi_5%", "hdi_95%", "ess_bulk", "ess_tail", "r_hat")
            if c in summary.columns and (nuts or c in ("mean", "sd", "hdi_5%", "hdi_95%"))
        ]
        rows = [[_e(name)] + [_fmt(summary.loc[name, c]) for c in cols] for name in summary.index]
        parts.append(
            f"<details><summary>Summary of the {len(summary)} monitored quantities "
            "(90 % HDI; σ in standardised units)</summary>"
            + _table(["quantity"] + cols, rows)
            + "</details>"
        )
    for name in ("trace", "rank", "energy", "pairs", "svi_loss", "training", "hyperparameters"):
        parts.append(_figure(name, figures))
    return "\n".join(parts)


def _prediction(run, loo, figures) -> str:
    test = run.metrics["test"]
    rows = [[_e(k), _fmt(v)] for k, v in test.items()]
    loo_rows = (
        [["PSIS-LOO", _e(f"not computed: {loo['skipped']}")]]
        if "skipped" in loo
        else [
            [
                "elpd_loo (standardised units for regression)",
                f"{loo['elpd_loo']:.2f} ± {loo['se']:.2f}",
            ],
            *(
                [
                    [
                        "elpd_loo in original units (as the test scores; per point "
                        f"{run.metrics['loo']['elpd_loo_original'] / loo['num_points']:.4g})",
                        f"{run.metrics['loo']['elpd_loo_original']:.2f} ± {loo['se']:.2f}",
                    ]
                ]
                if "elpd_loo_original" in run.metrics.get("loo", {})
                else []
            ),
            ["p_loo (effective number of parameters)", f"{loo['p_loo']:.1f}"],
            [
                "Pareto k ≤ 0.7 / (0.7, 1] / > 1",
                f"{loo['k_good']} / {loo['k_bad']} / {loo['k_very_bad']} of "
                f"{loo['num_points']} (max {loo['max_k']:.2f})",
            ],
        ]
    )
    base = run.metrics.get("baseline")
    if base:
        rows.append(
            [
                _e(f"baseline: {base['model']}"),
                _e(
                    ", ".join(
                        f"{k} {_fmt(v)}"
                        for k, v in base.items()
                        if k in ("rmse", "mae", "accuracy", "mean_log_predictive_density")
                    )
                ),
            ]
        )
    ex = run.metrics.get("extrapolation") or {}
    extrapolated = []
    if ex.get("num_extrapolated"):
        extrapolated = [
            f'<p class="verdict bad">{ex["num_extrapolated"]} of {ex["num_test"]} test points lie '
            f"outside the training inputs ({ex['num_outside_range']} beyond a feature's "
            f"training range, {ex['num_beyond_mahalanobis']} beyond the largest training "
            f"Mahalanobis distance {ex['max_train_mahalanobis']:.3g}): the network "
            "extrapolates there, and the test metrics include them"
            + (
                " (without them: "
                + "; ".join(
                    who
                    + ", ".join(
                        f"{k} {_fmt(v)}"
                        for k, v in scores.items()
                        if k in ("rmse", "mae", "accuracy", "mean_log_predictive_density")
                    )
                    for who, scores in (
                        ("", ex["without_extrapolated"]),
                        ("baseline ", ex["without_extrapolated"]["baseline"]),
                    )
                )
                + ")"
                if ex.get("without_extrapolated")
                else ""
            )
            + ".</p>",
            _table(
                ["test point", "x", "out of range", "Mahalanobis", "y", "prediction", "90 %"],
                [
                    [
                        str(p["index"]),
                        ", ".join(_fmt(v) for v in p["x"]),
                        _e(", ".join(p["features_out_of_range"]) or "—"),
                        _fmt(p["mahalanobis"]),
                        _fmt(p["y"]),
                        _fmt(p.get("prediction", "—")),
                        (
                            "[" + ", ".join(_fmt(v) for v in p["interval_90"]) + "]"
                            if "interval_90" in p
                            else "—"
                        ),
                    ]
                    for p in ex["points"]
                ],
            ),
        ]
    return "\n".join(
        [
            '<h2 id="prediction">How well does it predict?</h2>',
            "<h3>Test set</h3>",
            _table(["metric", "value"], rows),
            *extrapolated,
            _figure("pointwise_lpd", figures),
            "<h3>PSIS-LOO on the training data</h3>",
            _table(["", ""], loo_rows),
            _figure("predictive", figures),
            _figure("loo", figures),
        ]
    )


def _nodes(figures) -> str:
    if "node_variances" not in figures:
        return ""
    return '<h2 id="nodes">Which nodes matter?</h2>\n' + _figure("node_variances", figures)


def _pruning(curve, figures) -> str:
    if curve is None:
        return ""
    best = pruning.max_fraction_within_se(curve)
    lpd = curve.set_index("fraction")["mean_log_predictive_density"]
    text = (
        f"<p>Up to <b>{100 * best:.0f} %</b> of the nodes of every layer can be removed "
        f"(test log predictive density {lpd.iloc[0]:.4g} → {lpd[best]:.4g} per point): the "
        "loss stays within two paired standard errors of the full network's and below 0.05 "
        "nats per point (column lpd_change)"
        + (
            f"; at {100 * lpd.index[-1]:.0f} % it is {lpd.iloc[-1]:.4g}."
            if lpd.index[-1] > best
            else "."
        )
        + "</p>"
    )
    cols = [
        c
        for c in (
            "fraction",
            "removed",
            "rmse",
            "rmse_q05",
            "rmse_q95",
            "mean_log_predictive_density",
            "lpd_change",
            "lpd_change_se",
            "accuracy",
            "accuracy_q05",
            "accuracy_q95",
            "log_loss",
            "log_loss_se",
            "mass_removed",
        )
        if c in curve.columns
    ]
    rows = [[_fmt(r[c]) for c in cols] for _, r in curve.iterrows()]
    return "\n".join(
        [
            '<h2 id="pruning">How far can it be pruned?</h2>',
            text,
            _figure("pruning", figures),
            _table(cols, rows),
        ]
    )


def _specification(run) -> str:
    m = run.metrics
    spec_text = (
        run.paths["spec.toml"].read_text()
        if "spec.toml" in run.paths
        else "(no specification file)"
    )
    data_rows = [[_e(k), _e(_short(v))] for k, v in m["data"].items()]
    settings = {
        **{f"likelihood.{k}": v for k, v in m["likelihood"].items()},
        **{f"inference.{k}": v for k, v in m["inference"].items()},
    }
    setting_rows = [[_e(k), _e(_short(v))] for k, v in settings.items()]
    return "\n".join(
        [
            '<h2 id="specification">Specification and data</h2>',
            f"<pre>{_e(spec_text)}</pre>",
            "<h3>Data</h3>",
            _table(["", ""], data_rows),
            "<h3>Settings used</h3>",
            _table(["", ""], setting_rows),
        ]
    )


# -- helpers ------------------------------------------------------------------------------------


def _draws(da):
    a = np.asarray(da)
    return a.reshape((-1,) + a.shape[2:])


def _png(fig, dpi: int = 90) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(name, figures) -> str:
    if name not in figures:
        return ""
    data, caption = figures[name]
    return (
        f'<figure id="fig-{name}"><img alt="{_e(name.replace("_", " "))}" '
        f'src="data:image/png;base64,{data}"><figcaption>{_e(caption)}</figcaption>'
        "</figure>"
    )


def _table(header, rows, raw_cells=()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i in raw_cells:
                cells.append(cell)
            elif i and _NUMBER.fullmatch(cell):
                cells.append(f'<td class="num">{cell}</td>')
            else:
                cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fmt(value) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if not np.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return _e(str(value))


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "…"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "report",
        help="write the self-contained HTML report of a fit run",
        description="Write RUN_DIR/report.html: convergence gates and plots (trace, rank, "
        "energy, pairs; ELBO loss for SVI), test metrics, PSIS-LOO with Pareto k, the posterior "
        "predictive, sorted node variances against the prior, the pruning curve (also in "
        "RUN_DIR/pruning.csv), the spec and the data. Figures are embedded: the file opens "
        "offline in any browser.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="folder of a bnn-mogp fit run")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="HTML file to write (default: RUN_DIR/report.html)"
    )
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    start = time.perf_counter()
    out = None if args.out is None else output_file(args.out)
    path = write_report(args.run_dir, out=out, log=log)
    print(f"wrote {path} ({time.perf_counter() - start:.1f} s)")
    return 0
