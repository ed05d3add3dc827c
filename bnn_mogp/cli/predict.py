"""``bnn-mogp predict RUN_DIR --data NEW.csv``: the posterior predictive of a finished fit on new
inputs, in original units, one row per input.

The new data need the training feature columns (by name; other columns are ignored, a target
column is optional) and are standardised with the run's training statistics. Regression rows get
the posterior mean and median of f(x), its sd, and the central 90 % interval of a new
observation (f + noise, the predictive mixture); classification rows get the mean class
probabilities and the most probable class. Every row says whether it lies outside the training
inputs (:func:`bnn_mogp.evaluation.extrapolation`): there the network extrapolates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bnn_mogp._io import atomic_open
from bnn_mogp.cli.common import log, output_file
from bnn_mogp.data import read_features
from bnn_mogp.evaluation import class_probabilities, extrapolation, predictive_interval
from bnn_mogp.inference import noise_model, posterior_functions
from bnn_mogp.runs import load_run

__all__ = ["predict_run", "add_parser", "command"]


def predict_run(run_dir, data) -> pd.DataFrame:
    """The prediction table of the run in ``run_dir`` for the inputs in ``data`` (a CSV or NPZ
    path; module docstring): the inputs, then the prediction columns.
    """
    run = load_run(run_dir)
    dataset, likelihood = run.dataset, run.dataset.likelihood
    X_raw = read_features(data, dataset.feature_names)
    X = dataset.scale_X(X_raw)
    f, sigma = posterior_functions(run.idata, X)
    table = pd.DataFrame(X_raw, columns=list(dataset.feature_names))
    if dataset.is_regression:
        target = dataset.target_name or "y"
        lo, hi = predictive_interval(f, sigma[:, None, None], 0.9, **noise_model(run.idata))
        for k in range(f.shape[-1]):
            name = target if f.shape[-1] == 1 else f"{target}_{k}"
            table[f"{name}_mean"] = dataset.unscale_y(f[..., k].mean(0))
            table[f"{name}_median"] = dataset.unscale_y(np.median(f[..., k], 0))
            table[f"{name}_sd_f"] = dataset.unscale_y_std(f[..., k].std(0))
            table[f"{name}_q05"] = dataset.unscale_y(lo[:, k])
            table[f"{name}_q95"] = dataset.unscale_y(hi[:, k])
    else:
        probs = class_probabilities(f, likelihood)
        labels = (
            [str(c) for c in dataset.class_labels]
            if dataset.class_labels
            else [str(k) for k in range(probs.shape[1])]
        )
        for k, label in enumerate(labels):
            table[f"p_{label}"] = probs[:, k]
        table["predicted"] = [labels[k] for k in probs.argmax(1)]
    table["extrapolated"] = extrapolation(dataset.X_train, X)["any"]
    return table


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "predict",
        help="posterior predictive of a finished fit on new inputs (CSV out)",
        description="Predict new inputs with a finished bnn-mogp fit run: per row the posterior "
        "mean and median, sd and 90 % predictive interval in original units (regression), or "
        "the class probabilities (classification), and whether the row lies outside the "
        "training inputs.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="folder of a finished fit run")
    p.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="new inputs: a .csv with the training feature columns (by name) or an .npz with X",
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="CSV file to write (default: RUN_DIR/predictions.csv)",
    )
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    out = output_file(args.out) if args.out is not None else args.run_dir / "predictions.csv"
    table = predict_run(args.run_dir, args.data)
    with atomic_open(out) as fh:
        table.to_csv(fh, index=False)
    num_out = int(table["extrapolated"].sum())
    log(
        f"{len(table)} rows predicted"
        + (f"; {num_out} outside the training inputs" if num_out else "")
    )
    print(f"wrote {out}")
    return 0
