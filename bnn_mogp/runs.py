"""A finished fit run, read back from its folder: ``bnn_mogp.load_run(dir)``.

A run folder (written by ``bnn-mogp fit``) holds ``idata.nc`` (the fit's InferenceData, which
describes itself: network, priors, likelihood, sampler settings and the data's source, split and
standardisation; :mod:`bnn_mogp.inference.results`), ``summary.csv`` (the monitored quantities'
convergence summary) and ``metrics.json`` (test metrics, LOO, gates, timings), and a copy of the
spec for people (``spec.toml``). While a fit runs, ``checkpoint/`` holds its finished chunks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from bnn_mogp.data import DataError, Dataset, reload
from bnn_mogp.diagnostics import convergence_gates
from bnn_mogp.inference.results import metadata, network_of
from bnn_mogp.nn import MLP

if TYPE_CHECKING:  # arviz is imported when a run is loaded, not with the package
    import arviz as az

__all__ = ["Run", "RunError", "load_run", "RUN_FILES", "DERIVED_FILES", "CHECKPOINT"]

#: the files of a finished run
RUN_FILES = ("idata.nc", "summary.csv", "metrics.json")
#: files derived from a run's results (report, pruning, predictions) and its spec: a new run in
#: the same folder removes them, so that nothing describes results that are no longer there
DERIVED_FILES = (
    "spec.toml",
    "report.html",
    "pruning.csv",
    "pruning.png",
    "pruning.json",
    "predictions.csv",
)
#: the checkpoint folder of an unfinished run
CHECKPOINT = "checkpoint"


class RunError(ValueError):
    """A run folder cannot be used as asked (not a finished run, an unfinished one, …)."""


class Run(NamedTuple):
    """A fit run: the InferenceData, the data set (test split included), the fitted network, the
    convergence summary and gates (pandas), the metrics dict, and the paths of its files.
    """

    idata: az.InferenceData
    dataset: Dataset
    net: MLP
    summary: pd.DataFrame
    gates: pd.DataFrame
    metrics: dict[str, Any]
    paths: dict[str, Path]


def load_run(run_dir) -> Run:
    """Read a finished ``bnn-mogp fit`` run back from its folder; the data set is loaded again
    from the source recorded in the InferenceData, with the same split and standardisation.

    Raises:
        RunError: the folder holds no finished run, or its data can no longer be loaded as it
            was.
    """
    import arviz as az

    run_dir = Path(run_dir)
    paths = {name: run_dir / name for name in (*RUN_FILES, "spec.toml")}
    missing = [name for name in RUN_FILES if not paths[name].is_file()]
    if missing:
        unfinished = (run_dir / CHECKPOINT / "progress.json").exists()
        raise RunError(
            f"{run_dir} is not a finished bnn-mogp fit run: {', '.join(missing)} missing"
            + ("; it is unfinished: continue it with bnn-mogp fit --resume" if unfinished else "")
        )
    if not paths["spec.toml"].is_file():
        del paths["spec.toml"]
    try:
        idata = az.from_netcdf(str(paths["idata.nc"]))
        net = network_of(idata)
        dataset = reload(metadata(idata)["data"])
        metrics = json.loads(paths["metrics.json"].read_text())
    except (OSError, ValueError, KeyError) as e:  # DataError is a ValueError
        kind = "its data changed" if isinstance(e, DataError) else "cannot read it"
        raise RunError(f"the run in {run_dir}: {kind}: {e}") from None
    summary = pd.read_csv(paths["summary.csv"], index_col=0)
    gates = convergence_gates(idata, summary)
    return Run(idata, dataset, net, summary, gates, metrics, paths)
