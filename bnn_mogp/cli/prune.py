"""``bnn-mogp prune``: the pruning curves of finished fit runs side by side (DESIGN §8).

Writes ``pruning.csv`` (one row per run and fraction), ``pruning.png`` (the figure of
:func:`bnn_mogp.pruning.plot_pruning`) and ``pruning.json`` (per run: prior, width, data and the
largest fraction whose test log predictive density stays within two paired standard errors of
the full network's), each atomically.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from bnn_mogp._io import atomic_open, write_json
from bnn_mogp.cli.common import fraction_list, log, output_folder, save_png
from bnn_mogp.pruning import (
    FRACTIONS,
    max_fraction_within_se,
    network_draws,
    node_variances,
    plot_pruning,
    pruning_curve,
)
from bnn_mogp.runs import load_run

__all__ = ["prune_runs", "add_parser", "command"]


def prune_runs(run_dirs, *, out_dir, fractions=FRACTIONS, by: str = "node", log=None) -> dict:
    """Pruning curves of several finished ``bnn-mogp fit`` runs side by side (``bnn-mogp
    prune``): writes ``pruning.csv`` (one row per run and fraction), ``pruning.png`` (the figure
    of :func:`plot_pruning`) and ``pruning.json`` (per run: prior, width, data and the largest
    fraction whose test log predictive density stays within two paired standard errors of the
    full network's, :func:`max_fraction_within_se`) to ``out_dir``, atomically. ``by``: layers
    placed per weight are pruned by node or by single weight (:mod:`bnn_mogp.pruning`); the
    theory panels of the figure (DESIGN §4.5, per-node λ) are drawn for runs placed per node
    only. Returns {"table", "summary", "paths"}.

    Raises:
        ValueError: no run, a run without hidden layers, or runs of different likelihood
            families (regression and classification cannot share the axes).
    """
    log = log or (lambda _line: None)
    if not run_dirs:
        raise ValueError("give at least one run folder")
    runs, labels = [], []
    for d in run_dirs:
        run = load_run(d)
        if run.net.depth == 0:
            raise ValueError(f"{d}: the network has no hidden layer, so nothing to prune")
        label = run.metrics.get("spec") or Path(d).name
        if label in labels:
            label = f"{label} ({Path(d)})"
        runs.append(run)
        labels.append(label)
    families = {run.dataset.is_regression for run in runs}
    if len(families) > 1:
        raise ValueError("the runs mix regression and classification; prune them separately")
    likelihood = runs[0].dataset.likelihood
    curves, layers, summary = {}, {}, {}
    for label, run in zip(labels, runs, strict=True):
        log(f"{label}: pruning {len(fractions)} fractions of {run.net.widths} nodes")
        ds = run.dataset
        y_scale = ds.y_std if ds.y_std is not None else 1.0  # None exactly for classification
        curve = pruning_curve(
            run.idata, ds.X_test, ds.y_test, fractions=fractions, y_scale=y_scale, by=by
        )
        prior = run.net.node_priors[0]
        curves[label] = curve
        if run.net.placements[0] == "node":
            params, _ = network_draws(run.idata)
            layers[label] = (
                prior,
                run.net.widths[0],
                node_variances(params, run.net)[0],
                (*run.net.widths, run.net.out_dim)[1],
            )
        summary[label] = {
            "run": str(run.paths["idata.nc"].parent),
            "prior": repr(prior),
            "widths": list(run.net.widths),
            "placement": list(run.net.placements),
            "pruned_by": by if "weight" in run.net.placements else "node",
            "data": run.metrics["data"]["source"],
            "num_test": ds.num_test,
            "max_fraction_within_2se": max_fraction_within_se(curve),
            "limit_drift": float(prior.limit().drift),
            "limit_sparsity_index": float(prior.limit().sparsity_index),
        }
    table = pd.concat([c.assign(run=label) for label, c in curves.items()], ignore_index=True)
    table = table[["run"] + [c for c in table.columns if c != "run"]]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("pruning.csv", "pruning.png", "pruning.json")}
    with atomic_open(paths["pruning.csv"]) as fh:
        table.to_csv(fh, index=False)
    fig = plot_pruning(curves, likelihood=likelihood, layers=layers)
    save_png(fig, paths["pruning.png"])
    write_json(paths["pruning.json"], summary)
    return {"table": table, "summary": summary, "paths": paths}


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "prune",
        help="prune the least important nodes of fit runs and compare them",
        description="For each RUN_DIR (a bnn-mogp fit run), remove the nodes with the smallest "
        "posterior node variance (a Gaussian-prior network: the smallest outgoing-weight norm) "
        "per layer and draw, one fraction at a time, and measure the test metrics of the "
        "pruned posterior predictive. Writes pruning.csv, pruning.json and pruning.png (the "
        "runs side by side, with the infinite-width theory of DESIGN §4.5).",
    )
    p.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        metavar="RUN_DIR",
        help="folders of bnn-mogp fit runs (several: compared side by side)",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: RUN_DIR/pruning for one run, runs/pruning for several)",
    )
    p.add_argument(
        "--fractions",
        type=fraction_list,
        metavar="P,P,...",
        default=FRACTIONS,
        help="fractions of nodes to remove per layer, in [0, 1) (default: "
        + ",".join(f"{p:g}" for p in FRACTIONS)
        + ")",
    )
    p.add_argument(
        "--by",
        choices=("node", "weight"),
        default="node",
        help="layers whose prior is placed per weight: remove whole nodes (default; a node's "
        "importance is the sum over its outgoing weights) or single weights (the fraction then "
        "counts weights); layers placed per node are always pruned by node",
    )
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    if args.out is not None:
        out = output_folder(args.out)
    else:
        out = args.run_dirs[0] / "pruning" if len(args.run_dirs) == 1 else Path("runs/pruning")
    start = time.perf_counter()
    result = prune_runs(args.run_dirs, out_dir=out, fractions=args.fractions, by=args.by, log=log)
    table = result["table"]
    metric = "rmse" if "rmse" in table else "accuracy"
    print(
        f"test {metric} and log predictive density after pruning (fraction of nodes removed "
        "per layer):"
    )
    wide = table.pivot(index="fraction", columns="run", values=metric)
    lpd = table.pivot(index="fraction", columns="run", values="mean_log_predictive_density")
    order = list(result["summary"])
    print(
        (
            wide[order].map(lambda v: f"{v:.4g}") + " / " + lpd[order].map(lambda v: f"{v:.4g}")
        ).to_string()
    )
    for label, info in result["summary"].items():
        what = "weights" if info["pruned_by"] == "weight" else "nodes"
        print(
            f"  {label}: up to {100 * info['max_fraction_within_2se']:.0f} % of the {what} "
            "removed with the test log predictive density within 2 paired se"
        )
    print(f"wrote ({time.perf_counter() - start:.1f} s):")
    for path in result["paths"].values():
        print(f"  {path}")
    return 0
