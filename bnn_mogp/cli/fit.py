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
    the run's self-contained HTML report and its pruning curve (:mod:`bnn_mogp.cli.report`).

While sampling, ``checkpoint/`` holds the sampler state and the finished draws; an interrupted
run continues from it with ``resume=True`` (``--resume``) and ends with exactly the draws of an
uninterrupted run. It is removed once the results are written.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import tomli_w

from bnn_mogp._io import atomic_open, atomic_path, write_json
from bnn_mogp.cli.common import (
    add_data_options,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_spec_argument,
    data_arguments,
    host_devices,
    int_at_least,
    log,
    open_spec,
    show_progress,
)
from bnn_mogp.cli.report import write_report
from bnn_mogp.cli.spec import Spec, network_label, read_toml
from bnn_mogp.convergence import sample_until_converged
from bnn_mogp.data import BUILTINS, load_data
from bnn_mogp.diagnostics import (
    convergence_gates,
    convergence_summary,
    gates_do_not_apply,
    loo_summary,
    warmup_hints,
)
from bnn_mogp.evaluation import (
    baseline_metrics,
    extrapolation,
    function_metrics,
    output_tail_index,
    predictive_interval,
)
from bnn_mogp.inference import (
    default_collapsed,
    fit,
    make_config,
    noise_model,
    posterior_functions,
)
from bnn_mogp.runs import CHECKPOINT, DERIVED_FILES, RUN_FILES, Run, RunError

__all__ = ["run_fit", "format_gates", "add_parser", "command"]


def run_fit(
    spec: Spec,
    *,
    out_dir,
    data: str | None = None,
    target: str | None = None,
    features=None,
    split: str | None = None,
    test_fraction: float | None = None,
    test_data: str | None = None,
    num_warmup: int | None = None,
    num_samples: int | None = None,
    num_chains: int | None = None,
    num_steps: int | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    until_converged: bool | None = None,
    max_samples: int | None = None,
    max_minutes: float | None = None,
    resume: bool = False,
    progress: bool = False,
    report: bool = True,
    log=print,
) -> Run:
    """Fit ``spec``'s network to its data (or ``data``/``target``) and write the results.

    Args:
        spec: the specification (its ``[data]``, ``[likelihood]``, ``[inference]`` settings).
        out_dir: the output folder.
        data, target: another data source (``builtin:NAME``, ``.csv``, ``.npz``) and CSV target
            column instead of the spec's ``[data]`` source.
        features, split, test_fraction: override ``[data]`` (see
            :func:`bnn_mogp.data.load_data`).
        test_data: a CSV / NPZ test set instead of a split (``[data] test_source``).
        num_warmup, num_samples, num_chains, num_steps, epochs, seed: override the spec's
            ``[inference]`` values (``seed``: the sampler's; the split keeps ``[data] seed``;
            ``num_warmup`` is ignored by SVI; a setting the method does not have, e.g.
            ``num_steps`` with NUTS or ``epochs`` with SVI, is an error).
        until_converged, max_samples, max_minutes: NUTS keeps drawing until every validity gate
            passes, within the budget (override ``[inference]``; see
            :func:`bnn_mogp.sample_until_converged`).
        resume: continue the unfinished run in ``out_dir``.
        progress: progress bars on stderr.
        report: write ``report.html`` (:mod:`bnn_mogp.cli.report`) and ``pruning.csv`` as well.
        log: where one-line progress messages go.

    Raises:
        RunError: ``out_dir`` holds an unfinished run and ``resume`` is False, or ``resume``
            is True and there is nothing to resume.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    checkpoint_dir = out_dir / CHECKPOINT
    unfinished = (checkpoint_dir / "progress.json").exists()
    if unfinished and not resume:
        raise RunError(
            f"{out_dir} holds an unfinished run (its checkpoint is in "
            f"{checkpoint_dir}); continue it with --resume, or choose another --out"
        )
    if resume and not unfinished:
        raise RunError(
            f"nothing to resume in {out_dir}: no checkpoint "
            f"({checkpoint_dir / 'progress.json'} does not exist)"
        )

    settings = spec.inference
    overrides = {
        k: v
        for k, v in dict(
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            num_steps=num_steps,
            epochs=epochs,
        ).items()
        if v is not None
    }
    method = settings.method
    until_converged = settings.until_converged if until_converged is None else until_converged
    if until_converged and method != "nuts":
        raise RunError(f"--until-converged needs NUTS; this spec uses {method.upper()}")
    if method == "svi":
        overrides.pop("num_warmup", None)  # SVI has no warmup
    own = {f.name for f in dataclasses.fields(type(settings.config))}
    foreign = [k for k in overrides if k not in own]
    if foreign:
        what = {
            "num_steps": "sets the optimisation steps of SVI",
            "epochs": "sets the epochs of the mini-batch methods (sghmc, sgld, map)",
        }.get(foreign[0], "does not apply")
        raise RunError(f"--{foreign[0].replace('_', '-')} {what}; this spec uses {method.upper()}")
    config = make_config(method, settings.config, **overrides)
    seed = settings.seed if seed is None else seed
    lik = spec.likelihood
    load = data_arguments(spec, data, target, features, split, test_fraction, test_data)
    source = load["source"]
    dataset = load_data(**load, likelihood=lik.family, max_train=spec.data.max_train)
    if lik.collapsed and dataset.likelihood != "gaussian":  # the spec only checks its own family
        raise RunError(
            f"[likelihood] collapsed = true needs the gaussian likelihood, but "
            f"{source} is a {dataset.likelihood} problem"
        )
    net = dataclasses.replace(spec.net, in_dim=dataset.in_dim, out_dim=dataset.out_dim)
    if config.method == "nuts":
        plan = (
            f"NUTS, {config.num_chains} chain(s) × {config.num_samples} draws after "
            f"{config.num_warmup} warmup"
        )
    elif config.method == "svi":
        plan = (
            f"SVI ({config.guide} guide, {config.num_steps} steps"
            + (f" on batches of {config.batch_size}" if config.batch_size else "")
            + f"), {config.num_chains * config.num_samples} draws"
        )
    else:
        plan = (
            f"{config.method.upper()}, {config.num_chains} chain(s) × {config.epochs} epochs "
            f"on batches of {config.batch_size}, learning rate {config.learning_rate:g} "
            f"({config.schedule})"
            + (
                f", burn-in {config.burn_in_epochs} epochs"
                if config.method != "map"
                else f", {config.optimizer}, prior weight {config.prior_weight:g}"
            )
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
    log(f"{plan}, seed {seed}" + ("; resuming" if resume else ""))

    out_dir.mkdir(parents=True, exist_ok=True)
    fit_kwargs: dict[str, Any] = dict(
        likelihood=dataset.likelihood,
        config=config,
        rng_key=jax.random.PRNGKey(seed),
        X_test=dataset.X_test,
        collapsed=collapsed,
        noise_std=lik.noise_std,
        noise_scale=lik.noise_scale,
        df=lik.df if dataset.likelihood == "student_t" else None,
        num_prior_draws=settings.num_prior_draws,
        chunk_size=settings.chunk_size,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
        metadata={"spec": spec.name, "data": dataset.describe()},
    )
    if until_converged:
        idata = sample_until_converged(
            net,
            dataset.X_train,
            dataset.y_train,
            max_samples=max_samples if max_samples is not None else settings.max_samples,
            max_minutes=max_minutes if max_minutes is not None else settings.max_minutes,
            log=log,
            **fit_kwargs,
        )
        state = json.loads(idata.attrs["until_converged"])
        log(
            f"until converged: {state['status']} after {state['rounds']} round(s), "
            f"{state['num_samples']} draws per chain"
            + (
                f", target_accept {state['target_accept']:g} after {state['restarts']} fresh "
                "start(s)"
                if state["restarts"]
                else ""
            )
            + (f" (failing: {', '.join(state['failed_gates'])})" if state["failed_gates"] else "")
        )
        if state["restarts"]:  # the saved spec.toml reruns it straight
            overrides["target_accept"] = state["target_accept"]
    else:
        idata = fit(net, dataset.X_train, dataset.y_train, method=config.method, **fit_kwargs)

    summary = convergence_summary(idata)
    gates = convergence_gates(idata, summary)
    y_scale = dataset.y_std if dataset.y_std is not None else 1.0  # None: classification
    f_test, sigma = posterior_functions(idata, dataset.X_test)
    test = function_metrics(
        f_test,
        sigma,
        dataset.y_test,
        **noise_model(idata),
        y_scale=y_scale,
        output_tail_index=output_tail_index(net),
    )
    sampling_time = float(idata.attrs["sampling_time_s"])
    metrics = {
        "spec": spec.name,
        "method": config.method,
        "test": test,
        "loo": _loo_metrics(idata, dataset),
        "sampling": _sampling_metrics(idata, summary, sampling_time),
        "gates": {
            row.gate: {
                "passed": row.passed,
                "kind": row.kind,
                "value": row.value,
                "threshold": row.threshold,
                "reason": row.reason,
            }
            for row in gates.itertuples()
        },
        "gates_passed": (
            bool(gates.loc[gates["kind"] == "validity", "passed"].all()) if len(gates) else None
        ),
        "wall_time_s": None,
        "extrapolation": _extrapolation_metrics(dataset, f_test, sigma, test, noise_model(idata)),
        "baseline": baseline_metrics(
            dataset.X_train,
            dataset.y_train,
            dataset.X_test,
            dataset.y_test,
            likelihood=dataset.likelihood,
            y_scale=y_scale,
        ),
        "data": {
            **dataset.summary(),
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in load.items()},
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
        "inference": {
            **config.as_dict(),
            "seed": seed,
            "num_prior_draws": settings.num_prior_draws,
            "chunk_size": settings.chunk_size,
            **(
                {"until_converged": json.loads(idata.attrs["until_converged"])}
                if "until_converged" in idata.attrs
                else {}
            ),
        },
        "hints": warmup_hints(idata),
    }
    paths = {name: out_dir / name for name in RUN_FILES}
    for name in DERIVED_FILES:  # of an earlier run in this folder: they describe its results
        (out_dir / name).unlink(missing_ok=True)
    with atomic_path(paths["idata.nc"]) as tmp:
        idata.to_netcdf(str(tmp))
    with atomic_open(paths["summary.csv"]) as fh:
        summary.to_csv(fh, index_label="quantity")
    if spec.raw:  # a spec read from TOML
        paths["spec.toml"] = out_dir / "spec.toml"
        with atomic_open(paths["spec.toml"]) as fh:
            fh.write(
                _effective_spec(
                    spec,
                    data={
                        k: load[k]
                        for k in ("source", "target", "split", "test_fraction", "test_source")
                    }
                    | {"features": list(load["features"]) if load["features"] else None},
                    inference={**overrides, "seed": seed},
                )
            )
    metrics["wall_time_s"] = time.perf_counter() - started
    write_json(paths["metrics.json"], metrics)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    run = Run(idata, dataset, net, summary, gates, metrics, paths)
    if report:
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


def _loo_metrics(idata, dataset) -> dict:
    """PSIS-LOO (:func:`bnn_mogp.diagnostics.loo_summary`); for regression also in original
    units, as the test scores: elpd − N·K·log(y_std) (the Jacobian of the standardisation).
    """
    loo = {k: v for k, v in loo_summary(idata).items() if k != "pareto_k"}
    if dataset.y_std is None or "skipped" in loo:
        return loo
    shift = loo["num_points"] * dataset.out_dim * float(np.log(dataset.y_std))
    return {
        **loo,
        "units": "standardised target (elpd_loo, se); original units (elpd_loo_original)",
        "elpd_loo_original": loo["elpd_loo"] - shift,
    }


#: extrapolated test points listed one by one in metrics.json (all are counted)
MAX_LISTED = 50


def _extrapolation_metrics(dataset, f, sigma, test: dict, noise: dict) -> dict:
    """Test points outside the training inputs (:func:`bnn_mogp.evaluation.extrapolation`):
    counts, and the first :data:`MAX_LISTED` of them with their inputs and targets (original
    units), the features out of range, the Mahalanobis distance and, for regression, the
    headline point prediction with its central 90 % predictive interval (``noise``:
    :func:`bnn_mogp.inference.noise_model`); ``without_extrapolated``: the test metrics of the
    other points alone (the same headline point prediction) with the baseline's on them
    (``baseline``), so that a few extrapolated points cannot hide how well the network
    interpolates.
    """
    ex = extrapolation(dataset.X_train, dataset.X_test)
    rows = np.flatnonzero(ex["any"])
    out = {
        "num_test": int(len(ex["any"])),
        "num_outside_range": int(ex["outside_range"].sum()),
        "num_beyond_mahalanobis": int(ex["beyond_mahalanobis"].sum()),
        "num_extrapolated": int(rows.size),
        "max_train_mahalanobis": ex["max_train_mahalanobis"],
        "points": [],
    }
    if not rows.size:
        return out
    inside = ~ex["any"]
    if inside.any():
        y_scale = dataset.y_std if dataset.y_std is not None else 1.0  # None: classification
        out["without_extrapolated"] = function_metrics(
            f[:, inside],
            sigma,
            dataset.y_test[inside],
            **noise,
            y_scale=y_scale,
            point=test.get("point_prediction"),
        )
        out["without_extrapolated"]["baseline"] = baseline_metrics(
            dataset.X_train,
            dataset.y_train,
            dataset.X_test[inside],
            dataset.y_test[inside],
            likelihood=dataset.likelihood,
            y_scale=y_scale,
        )
    raw_x, raw_y = dataset.raw_X_test(), dataset.raw_y_test()
    regression = sigma is not None and dataset.y_std is not None
    if regression:
        sub = f[:, rows]
        lo, hi = predictive_interval(sub, sigma[:, None, None], 0.9, **noise)
        point = np.median(sub, 0) if test["point_prediction"] == "median" else sub.mean(0)
        lo, hi, point = (dataset.unscale_y(v[:, 0]) for v in (lo, hi, point))
    for k, i in enumerate(rows[:MAX_LISTED]):
        row = {
            "index": int(i),
            "x": raw_x[i].tolist(),
            "features_out_of_range": [dataset.feature_names[j] for j in ex["features"][i]],
            "mahalanobis": float(ex["mahalanobis"][i]),
            "y": np.asarray(raw_y[i]).tolist(),
        }
        if regression:
            row.update(prediction=float(point[k]), interval_90=[float(lo[k]), float(hi[k])])
        out["points"].append(row)
    return out


def _effective_spec(spec: Spec, *, data: dict, inference: dict) -> str:
    """The TOML of the spec this run used: ``spec``'s document with the command line's data
    source and ``[inference]`` overrides written in (comments of the input are not kept).
    """
    doc = copy.deepcopy(spec.raw)
    doc.setdefault("data", {}).update({k: v for k, v in data.items() if v is not None})
    for key in ("target", "features", "test_source"):  # absent: the data's own choice
        if data.get(key) is None:
            doc["data"].pop(key, None)
    doc.setdefault("inference", {}).update(inference)
    return (
        f"# the spec of this run: {spec.path}, with the command line's data source and "
        "[inference] settings written in\n" + tomli_w.dumps(doc)
    )


def _sampling_metrics(idata, summary, sampling_time: float) -> dict:
    out: dict[str, Any] = {
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
    ess = summary["ess_bulk"].dropna() if len(summary) else summary
    # SG-MCMC draws are step-size biased and MAP has none: their ESS and R-hat vouch for nothing
    if len(ess) and idata.attrs.get("method") in ("nuts", "svi"):
        out.update(
            min_ess_bulk=float(ess.min()),
            slowest_quantity=str(ess.idxmin()),
            max_r_hat=float(summary["r_hat"].max()),
            min_ess_bulk_per_s=float(ess.min() / sampling_time),
        )
    return out


def format_gates(gates, why_none: str | None = None) -> str:
    """The gates as aligned lines: name, pass / FAIL (validity) / slow (efficiency), reason;
    without gates, ``why_none`` (:func:`bnn_mogp.diagnostics.gates_do_not_apply`).
    """
    if not len(gates):
        return f"  (no convergence gates) {why_none or ''}".rstrip()
    width = max(len(g) for g in gates["gate"])

    def verdict(row):
        return "pass" if row.passed else ("FAIL" if row.kind == "validity" else "slow")

    return "\n".join(
        f"  {row.gate:<{width}}  {verdict(row)}  {row.reason}" for row in gates.itertuples()
    )


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "fit",
        help="fit the network of SPEC to data with NUTS or SVI; write idata.nc, summary.csv, "
        "metrics.json",
        description=(
            "Fit the Bayesian network of SPEC (its [network], [prior], [likelihood] and "
            "[inference] tables) to the data of its [data] table or of --data, with NUTS or SVI; "
            "print the convergence gates (R-hat, ESS, divergences, E-BFMI, tree depth on the "
            "noise scale, sorted node variances and function values at monitor inputs) and the "
            "test metrics; write idata.nc, summary.csv, metrics.json, spec.toml and the HTML "
            "report (report.html, with pruning.csv). The sampler checkpoints to "
            "DIR/checkpoint; an interrupted run continues with --resume."
        ),
    )
    add_spec_argument(p)
    add_data_options(p, "the data set (builtins: " + ", ".join(BUILTINS) + ")")
    add_out_option(p, "fit")
    p.add_argument(
        "--num-warmup",
        type=int_at_least(1),
        metavar="N",
        help="NUTS warmup transitions per chain (default: [inference] num_warmup)",
    )
    p.add_argument(
        "--num-samples",
        type=int_at_least(1),
        metavar="N",
        help="draws per chain (default: [inference] num_samples)",
    )
    p.add_argument(
        "--num-chains",
        type=int_at_least(1),
        metavar="N",
        help="chains (default: [inference] num_chains)",
    )
    p.add_argument(
        "--num-steps",
        type=int_at_least(1),
        metavar="N",
        help="SVI optimisation steps (default: [inference] num_steps)",
    )
    p.add_argument(
        "--epochs",
        type=int_at_least(1),
        metavar="N",
        help="epochs of SGHMC, SGLD or MAP (default: [inference] epochs)",
    )
    add_seed_option(p, "[inference] seed; the split keeps [data] seed")
    p.add_argument(
        "--until-converged",
        action="store_true",
        help="NUTS: keep drawing until every validity gate passes or the budget is spent "
        "(default: [inference] until_converged)",
    )
    p.add_argument(
        "--max-samples",
        type=int_at_least(1),
        metavar="N",
        help="with --until-converged: draws per chain at most (default: [inference] "
        "max_samples, else 8 × num_samples)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        metavar="M",
        help="with --until-converged: wall-time budget in minutes, checked between rounds",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in DIR from its checkpoint",
    )
    add_progress_option(p)
    p.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html (make it later with 'bnn-mogp report DIR')",
    )
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    raw, _, _ = read_toml(args.spec, "model")
    inference = raw.get("inference")
    if isinstance(inference, dict) and inference.get("chain_method") == "parallel":
        chains = args.num_chains or inference.get("num_chains")
        if isinstance(chains, int) and chains > 1:
            host_devices(chains)
    spec, out = open_spec(args, "fit")
    try:
        run = run_fit(
            spec,
            out_dir=out,
            data=args.data,
            target=args.target,
            features=args.features,
            split=args.split,
            test_fraction=args.test_fraction,
            test_data=args.test_data,
            num_warmup=args.num_warmup,
            num_samples=args.num_samples,
            num_chains=args.num_chains,
            num_steps=args.num_steps,
            epochs=args.epochs,
            seed=args.seed,
            until_converged=True if args.until_converged else None,
            max_samples=args.max_samples,
            max_minutes=args.max_minutes,
            resume=args.resume,
            progress=show_progress(args),
            report=not args.no_report,
            log=log,
        )
    except KeyboardInterrupt:
        if (Path(out) / CHECKPOINT / "progress.json").exists():
            print(
                f"interrupted: the finished chunks are saved in {Path(out) / CHECKPOINT}; "
                f"continue with the same command and --resume",
                file=sys.stderr,
            )
        raise
    m = run.metrics
    sampling = m["sampling"]
    print(f"convergence ({len(run.summary)} monitored quantities; table in summary.csv):")
    print(format_gates(run.gates, gates_do_not_apply(run.idata)))
    for hint in m.get("hints", []):
        print(f"  hint: {hint}")
    test = m["test"]
    if "rmse" in test:
        cover = next(k for k in test if k.startswith("coverage_"))
        point, other = test["point_prediction"], {"mean": "median", "median": "mean"}
        quality = (
            f"RMSE {test['rmse']:.4g} / MAE {test['mae']:.4g} of the posterior {point} "
            f"({other[point]}: {test['rmse_' + other[point]]:.4g} / "
            f"{test['mae_' + other[point]]:.4g}; original units), log predictive density "
            f"{test['mean_log_predictive_density']:.4g} per point, "
            f"{cover[9:]} % interval coverage {test[cover]:.2f}\n"
            f"  headline point prediction: the {point}, as {test['point_prediction_reason']}"
        )
    else:
        quality = (
            f"accuracy {test['accuracy']:.3f}, log predictive density "
            f"{test['mean_log_predictive_density']:.4g} per point"
        )
    print(f"test ({test['num_test']} points): {quality}")
    base = m["baseline"]
    score = (
        f"RMSE {base['rmse']:.4g} / MAE {base['mae']:.4g}"
        if "rmse" in base
        else f"accuracy {base['accuracy']:.3f}"
    )
    print(
        f"  baseline, {base['model']} on the same split: {score}, log predictive density "
        f"{base['mean_log_predictive_density']:.4g} per point"
    )
    ex = m["extrapolation"]
    if ex["num_extrapolated"]:
        print(
            f"  warning: {ex['num_extrapolated']} of {ex['num_test']} test points lie outside "
            f"the training inputs ({ex['num_outside_range']} beyond a feature's training range, "
            f"{ex['num_beyond_mahalanobis']} beyond the largest training Mahalanobis distance "
            f"{ex['max_train_mahalanobis']:.3g}): the network extrapolates there; they are "
            "listed in metrics.json (extrapolation)"
        )
        rest = ex.get("without_extrapolated")
        if rest:
            scores = [
                f"RMSE {r['rmse']:.4g} / MAE {r['mae']:.4g}"
                if "rmse" in r
                else f"accuracy {r['accuracy']:.3f}"
                for r in (rest, rest["baseline"])
            ]
            print(
                f"  without them ({rest['num_test']} points): {scores[0]}, log predictive "
                f"density {rest['mean_log_predictive_density']:.4g} per point (baseline: "
                f"{scores[1]}, {rest['baseline']['mean_log_predictive_density']:.4g})"
            )
    speed = (
        f"; slowest quantity {sampling['slowest_quantity']}: bulk ESS "
        f"{sampling['min_ess_bulk']:.0f}, {sampling['min_ess_bulk_per_s']:.3g} per second"
        if "min_ess_bulk" in sampling and m["method"] == "nuts"
        else ""
    )
    print(f"sampler time {sampling['sampling_time_s']:.1f} s{speed}")
    print(
        f"wrote ({m['wall_time_s']:.1f} s; report.html: open it in a browser):"
        if "report.html" in run.paths
        else f"wrote ({m['wall_time_s']:.1f} s):"
    )
    for path in run.paths.values():
        print(f"  {path}")
    failed = [
        row.gate for row in run.gates.itertuples() if not row.passed and row.kind == "validity"
    ]
    slow = [
        row.reason for row in run.gates.itertuples() if not row.passed and row.kind == "efficiency"
    ]
    if slow:
        print(
            f"note: {'; '.join(slow)}: NUTS is working hard here (a larger [inference] "
            "max_tree_depth lets it go further, at a cost)",
            file=sys.stderr,
        )
    if failed:
        advice = "run longer (--num-warmup, --num-samples) or raise [inference] target_accept"
        collapsible = default_collapsed(run.net, m["likelihood"]["family"])
        if collapsible and not m["likelihood"]["collapsed"]:
            advice += ", or set [likelihood] collapsed = true (it removes the output-layer funnel)"
        print(
            f"warning: {len(failed)} convergence gate(s) failed ({', '.join(failed)}): do not "
            f"trust these results yet; {advice}.",
            file=sys.stderr,
        )
    return 0
