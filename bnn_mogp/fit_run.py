"""``bnn-mogp fit``: a spec's network fitted to its data, with every result written to one folder.

Files in the output folder (each written atomically):

``idata.nc``
    the :func:`bnn_mogp.fit` InferenceData (NetCDF; ``arviz.from_netcdf``);
``summary.csv``
    mean, sd, 90 % HDI, MCSE, bulk/tail ESS and R-hat of the monitored quantities (noise scale,
    node variances sorted per draw, function values at the monitor inputs);
``metrics.json``
    test metrics (RMSE / accuracy, log predictive density, interval coverage), PSIS-LOO on the
    training data (elpd, se, p_loo, Pareto-k counts), the convergence gates, divergences, wall
    and sampling times, ESS per second, and the data and settings;
``spec.toml``
    a copy of the specification the run was made from;
``report.html``, ``pruning.csv``
    the run's self-contained HTML report and its pruning curve (:mod:`bnn_mogp.report`).

While sampling, ``checkpoint/`` holds the sampler state and the finished draws; an interrupted
run continues from it with ``resume=True`` (``--resume``) and ends with exactly the draws of an
uninterrupted run. It is removed once the results are written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bnn_mogp._io import atomic_open, atomic_path
from bnn_mogp.spec import Spec, network_label

__all__ = ["run_fit", "load_run", "FitRun", "FitRunError"]

CHECKPOINT = "checkpoint"


class FitRunError(ValueError):
    """The output folder cannot be used as asked (an unfinished run, nothing to resume)."""


class FitRun(NamedTuple):
    """What :func:`run_fit` made: the InferenceData, the data set, the fitted network (input and
    output sizes from the data), the convergence summary and gates (pandas), the metrics dict and
    the paths written (None when the run was already finished)."""

    idata: object
    dataset: object
    net: object
    summary: object
    gates: object
    metrics: dict
    paths: dict | None


def run_fit(
    spec: Spec,
    *,
    out_dir,
    data: str | None = None,
    target: str | None = None,
    num_warmup: int | None = None,
    num_samples: int | None = None,
    num_chains: int | None = None,
    seed: int | None = None,
    resume: bool = False,
    progress: bool = False,
    report: bool = True,
    log=print,
) -> FitRun:
    """Fit ``spec``'s network to its data (or ``data``/``target``) and write the results.

    Args:
        spec: the specification (its ``[data]``, ``[likelihood]``, ``[inference]`` settings).
        out_dir: the output folder.
        data, target: another data source (``builtin:NAME``, ``.csv``, ``.npz``) and CSV target
            column instead of the spec's ``[data]`` source.
        num_warmup, num_samples, num_chains, seed: override the spec's ``[inference]`` values
            (``seed``: the sampler's; the split keeps ``[data] seed``).
        resume: continue the unfinished run in ``out_dir``.
        progress: progress bars on stderr.
        report: write ``report.html`` (:mod:`bnn_mogp.report`) and ``pruning.csv`` as well.
        log: where one-line progress messages go.

    Raises:
        FitRunError: ``out_dir`` holds an unfinished run and ``resume`` is False, or ``resume``
            is True and there is nothing to resume.
    """
    import jax

    from bnn_mogp.data import load_data
    from bnn_mogp.diagnostics import convergence_gates, convergence_summary, loo_summary
    from bnn_mogp.evaluation import predictive_metrics
    from bnn_mogp.inference import fit
    from bnn_mogp.inference.fit import default_collapsed

    started = time.perf_counter()
    out_dir = Path(out_dir)
    checkpoint_dir = out_dir / CHECKPOINT
    unfinished = (checkpoint_dir / "progress.json").exists()
    if unfinished and not resume:
        raise FitRunError(
            f"{out_dir} holds an unfinished run (its checkpoint is in "
            f"{checkpoint_dir}); continue it with --resume, or choose another --out"
        )
    if resume and not unfinished:
        raise FitRunError(
            f"nothing to resume in {out_dir}: no checkpoint "
            f"({checkpoint_dir / 'progress.json'} does not exist)"
        )

    settings = spec.inference
    overrides = {
        k: v
        for k, v in dict(
            num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains, seed=seed
        ).items()
        if v is not None
    }
    settings = dataclasses.replace(settings, **overrides)
    lik = spec.likelihood
    source = data if data is not None else spec.data.source
    dataset = load_data(
        source,
        target=target if data is not None else spec.data.target,
        likelihood=lik.family,
        test_fraction=spec.data.test_fraction,
        seed=spec.data.seed,
        max_train=spec.data.max_train,
    )
    if lik.collapsed and dataset.likelihood != "gaussian":
        raise FitRunError(
            f"[likelihood] collapsed = true needs the gaussian likelihood, but "
            f"{source} is a {dataset.likelihood} problem"
        )
    net = dataclasses.replace(spec.net, in_dim=dataset.in_dim, out_dim=dataset.out_dim)
    if settings.method == "nuts":
        plan = (
            f"NUTS, {settings.num_chains} chain(s) × {settings.num_samples} draws after "
            f"{settings.num_warmup} warmup"
        )
    else:
        plan = (
            f"SVI ({settings.guide} guide, {settings.num_steps} steps), "
            f"{settings.num_chains * settings.num_samples} draws"
        )
    log(
        f"data: {source}: {dataset.num_train} train / {dataset.num_test} test, "
        f"{dataset.in_dim} feature(s), {dataset.likelihood}"
        + (f" ({dataset.num_classes} classes)" if dataset.num_classes else "")
    )
    collapsed = (
        lik.collapsed if lik.collapsed is not None else default_collapsed(net, dataset.likelihood)
    )
    log(
        f"network: {network_label(net)}, widths {list(net.widths)}"
        + ("; collapsed last layer" if collapsed else "")
    )
    log(f"{plan}, seed {settings.seed}" + ("; resuming" if resume else ""))

    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = settings.fit_kwargs()
    idata = fit(
        net,
        dataset.X_train,
        dataset.y_train,
        likelihood=dataset.likelihood,
        rng_key=jax.random.PRNGKey(settings.seed),
        X_test=dataset.X_test,
        collapsed=collapsed,
        noise_std=lik.noise_std,
        noise_scale=lik.noise_scale,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        **kwargs,
    )

    summary = convergence_summary(idata)
    gates = convergence_gates(idata, summary)
    y_scale = dataset.y_std if dataset.likelihood == "gaussian" else 1.0
    test = predictive_metrics(idata, net, dataset.X_test, dataset.y_test, y_scale=y_scale)
    sampling_time = float(idata.attrs["sampling_time_s"])
    metrics = {
        "spec": spec.name,
        "method": settings.method,
        "test": test,
        "loo": {k: v for k, v in loo_summary(idata).items() if k != "pareto_k"},
        "sampling": _sampling_metrics(idata, summary, sampling_time),
        "gates": {
            row.gate: {
                "passed": row.passed,
                "kind": row.kind,
                "value": _plain(row.value),
                "threshold": _plain(row.threshold),
                "reason": row.reason,
            }
            for row in gates.itertuples()
        },
        "gates_passed": (
            bool(gates.loc[gates["kind"] == "validity", "passed"].all()) if len(gates) else None
        ),
        "wall_time_s": None,
        "data": {
            **dataset.summary(),
            "source": source,
            "target": target if data is not None else spec.data.target,
            "test_fraction": spec.data.test_fraction,
            "max_train": spec.data.max_train,
        },
        "network": {
            "widths": list(net.widths),
            "in_dim": net.in_dim,
            "out_dim": net.out_dim,
            "label": network_label(net),
        },
        "likelihood": {
            **dataclasses.asdict(lik),
            "family": dataset.likelihood,
            "collapsed": collapsed,
        },
        "inference": dataclasses.asdict(settings),
    }
    paths = {
        name: out_dir / name for name in ("idata.nc", "summary.csv", "metrics.json", "spec.toml")
    }
    with atomic_path(paths["idata.nc"]) as tmp:
        idata.to_netcdf(str(tmp))
    with atomic_open(paths["summary.csv"]) as fh:
        summary.to_csv(fh, index_label="quantity")
    if spec.path is not None:
        with atomic_open(paths["spec.toml"]) as fh:
            fh.write(Path(spec.path).read_text())
    else:
        del paths["spec.toml"]
    metrics["wall_time_s"] = time.perf_counter() - started
    with atomic_open(paths["metrics.json"]) as fh:
        json.dump(metrics, fh, indent=1, default=_plain)
        fh.write("\n")
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    run = FitRun(idata, dataset, net, summary, gates, metrics, paths)
    if report:
        from bnn_mogp.report import write_report

        started = time.perf_counter()
        try:
            paths["report.html"] = write_report(out_dir, run=run, log=log)
        except Exception as e:  # the results are saved; a failed report must not lose them
            log(
                f"warning: the report failed ({type(e).__name__}: {e}); the results are "
                f"saved: retry with bnn-mogp report {out_dir}"
            )
        else:
            if net.depth:
                paths["pruning.csv"] = out_dir / "pruning.csv"
            log(f"report written in {time.perf_counter() - started:.1f} s")
    return run


def load_run(run_dir) -> FitRun:
    """A finished ``bnn-mogp fit`` run read back from its folder: the InferenceData, the data set
    (reloaded from the run's source with the same split), the network, the summary, the gates
    and the metrics; ``paths`` maps file names to the files present.

    Raises:
        FitRunError: the folder holds no finished run, or its data can no longer be loaded.
    """
    import arviz as az
    import pandas as pd

    from bnn_mogp.data import load_data
    from bnn_mogp.diagnostics import convergence_gates
    from bnn_mogp.spec import load_spec

    run_dir = Path(run_dir)
    paths = {
        name: run_dir / name for name in ("idata.nc", "summary.csv", "metrics.json", "spec.toml")
    }
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        unfinished = (run_dir / CHECKPOINT / "progress.json").exists()
        raise FitRunError(
            f"{run_dir} is not a finished bnn-mogp fit run: "
            f"{', '.join(missing)} missing"
            + ("; it is unfinished: continue it with bnn-mogp fit --resume" if unfinished else "")
        )
    try:
        metrics = json.loads(paths["metrics.json"].read_text())
        spec = load_spec(paths["spec.toml"])
        data = metrics["data"]
        dataset = load_data(
            data["source"],
            target=data.get("target"),
            likelihood=metrics["likelihood"]["family"],
            test_fraction=data.get("test_fraction", spec.data.test_fraction),
            seed=data["seed"],
            max_train=data.get("max_train", spec.data.max_train),
        )
    except (OSError, ValueError, KeyError) as e:  # SpecError, DataError are ValueErrors
        raise FitRunError(f"cannot read the run in {run_dir}: {e}") from None
    if dataset.num_train != data["num_train"] or dataset.num_test != data["num_test"]:
        raise FitRunError(
            f"the data of the run in {run_dir} changed since the fit: "
            f"{dataset.num_train}/{dataset.num_test} train/test examples now, "
            f"{data['num_train']}/{data['num_test']} then"
        )
    idata = az.from_netcdf(str(paths["idata.nc"]))
    net = dataclasses.replace(spec.net, in_dim=dataset.in_dim, out_dim=dataset.out_dim)
    summary = pd.read_csv(paths["summary.csv"], index_col=0)
    return FitRun(idata, dataset, net, summary, convergence_gates(idata, summary), metrics, paths)


def _sampling_metrics(idata, summary, sampling_time: float) -> dict:
    out = {
        "sampling_time_s": sampling_time,
        "num_draws": int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]),
    }
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        diverging = np.asarray(idata.sample_stats["diverging"])
        out.update(
            divergences=int(diverging.sum()),
            divergence_rate=float(diverging.mean()),
            mean_tree_depth=float(np.mean(idata.sample_stats["tree_depth"])),
        )
    if len(summary):
        ess = summary["ess_bulk"]
        out.update(
            min_ess_bulk=float(ess.min()),
            slowest_quantity=str(ess.idxmin()),
            max_r_hat=float(summary["r_hat"].max()),
            min_ess_bulk_per_s=float(ess.min() / sampling_time),
        )
    return out


def _plain(value):
    """JSON-able Python scalars from NumPy ones; NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_gates(gates) -> str:
    """The gates as aligned lines: name, pass / FAIL (validity) / slow (efficiency), reason."""
    if not len(gates):
        return "  (no convergence gates: SVI draws are independent draws from the guide)"
    width = max(len(g) for g in gates["gate"])

    def verdict(row):
        return "pass" if row.passed else ("FAIL" if row.kind == "validity" else "slow")

    return "\n".join(
        f"  {row.gate:<{width}}  {verdict(row)}  {row.reason}" for row in gates.itertuples()
    )
