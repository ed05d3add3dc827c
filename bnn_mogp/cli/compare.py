"""``bnn-mogp compare``: a spec's network fitted at several widths against its MoGP posterior.

Files in the output folder (each written atomically): ``compare.csv`` (one row per width and the
Monte Carlo noise floor: mean, variance and Wasserstein-1 errors against the limit, test log
predictive densities, the fits' R-hat, divergences and ESS), ``compare.json`` (the same with the
log-log slopes, which limit was used and why, the shared noise model, the limit's diagnostics,
the agreement of the two limit samplers when both ran, timings and settings) and
``compare.png`` (:func:`bnn_mogp.studies.plot_posterior_comparison`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from bnn_mogp._io import atomic_open, write_json
from bnn_mogp.cli.common import (
    UsageError,
    add_data_options,
    add_out_option,
    add_progress_option,
    add_seed_option,
    add_spec_argument,
    data_arguments,
    log,
    open_spec,
    save_png,
    show_progress,
    width_list,
)
from bnn_mogp.cli.spec import Spec, network_label
from bnn_mogp.data import load_data
from bnn_mogp.studies.posterior import (
    LIMITS,
    compare_posterior,
    limits_agreement,
    plot_posterior_comparison,
)

__all__ = ["run_compare"]


def run_compare(
    spec: Spec,
    *,
    out_dir,
    widths=None,
    data: str | None = None,
    target: str | None = None,
    features=None,
    split: str | None = None,
    test_fraction: float | None = None,
    test_data: str | None = None,
    limit: str | None = None,
    noise_std: float | None = None,
    seed: int | None = None,
    progress: bool = False,
    log=print,
) -> dict:
    """Run the comparison of ``spec`` (its ``[compare]`` settings, overridden by the arguments)
    and write its files; returns {"result", "paths", "summary"}.

    Raises:
        ValueError: a classification data set (the MoGP posterior is for regression), or
            settings the limit samplers cannot serve (see :func:`~bnn_mogp.theory.
            compare_posterior`).
    """
    started = time.perf_counter()
    settings = spec.compare
    overrides: dict[str, Any] = {
        k: v for k, v in dict(noise_std=noise_std, seed=seed).items() if v is not None
    }
    config_overrides = {k: v for k, v in dict(widths=widths, limit=limit).items() if v is not None}
    settings = dataclasses.replace(
        settings, config=dataclasses.replace(settings.config, **config_overrides), **overrides
    )
    config = settings.config
    load = data_arguments(spec, data, target, features, split, test_fraction, test_data)
    source = load["source"]
    if spec.likelihood.family not in (None, "gaussian"):
        raise ValueError(
            f"compare needs the Gaussian likelihood (the MoGP posterior of DESIGN §5); the spec "
            f"sets [likelihood] family = {spec.likelihood.family!r}"
        )
    dataset = load_data(**load, max_train=settings.max_train)
    if dataset.likelihood != "gaussian" or dataset.y_std is None:  # y_std: set for gaussian
        raise ValueError(
            f"compare needs a regression data set (the MoGP posterior of DESIGN §5 "
            f"is for a Gaussian likelihood); {source} is {dataset.likelihood}"
        )
    X_test, y_test = dataset.X_test, dataset.y_test
    if settings.max_test is not None and len(X_test) > settings.max_test:
        pick = np.sort(
            np.random.default_rng(spec.data.seed).permutation(len(X_test))[: settings.max_test]
        )
        X_test, y_test = X_test[pick], y_test[pick]
    net = dataclasses.replace(spec.net, in_dim=dataset.in_dim, out_dim=1)
    noise = settings.noise_std if settings.noise_std is not None else spec.likelihood.noise_std
    log(
        f"data: {source}: {dataset.num_train} train / {len(X_test)} test points, "
        f"{dataset.in_dim} feature(s)"
    )
    log(f"network: {network_label(net)}; widths {list(config.widths)}")
    result = compare_posterior(
        net,
        dataset.X_train,
        dataset.y_train,
        X_test,
        y_test,
        config=config,
        rng_key=jax.random.PRNGKey(settings.seed),
        noise_std=noise,
        noise_scale=spec.likelihood.noise_scale,
        y_scale=dataset.y_std,
        progress=progress,
        log=log,
    )
    summary = {
        "spec": spec.name,
        "network": network_label(net),
        "data": {"source": source, "num_train": dataset.num_train, "num_test": len(X_test)},
        "noise": result.noise,
        "limit_used": result.limit_used,
        "limits": {
            name: {
                "method": pp.method,
                "ess": pp.ess,
                "ess_floor": pp.ess_floor,
                "reliable": bool(pp.reliable),
                **pp.diagnostics,
            }
            for name, pp in result.limits.items()
        },
        "slopes": result.slopes,
        "table": json.loads(result.table.to_json(orient="records")),
        "timings_s": result.timings,
        "settings": {
            **{k: v for k, v in dataclasses.asdict(settings).items() if k != "config"},
            **{
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(config).items()
            },
        },
    }
    if not all(math.isfinite(v) for v in result.slopes.values()):
        summary["slopes_note"] = f"a null slope: {SLOPE_NEEDS}"
    if len(result.limits) == 2:
        summary["limit_agreement"] = limits_agreement(
            result.limits["importance"], result.limits["nuts"]
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("compare.csv", "compare.json", "compare.png")}
    with atomic_open(paths["compare.csv"]) as fh:
        result.table.to_csv(fh, index=False)
    fig = plot_posterior_comparison(
        result,
        X_test,
        unscale_x=dataset.unscale_X,
        unscale_y=dataset.unscale_y,
        title=f"{spec.name}: finite-width posteriors against the MoGP posterior ({result.noise})",
    )
    save_png(fig, paths["compare.png"])
    summary["wall_time_s"] = time.perf_counter() - started
    write_json(paths["compare.json"], summary)
    return {"result": result, "paths": paths, "summary": summary}


#: why a slope can be missing (studies.posterior._slope)
SLOPE_NEEDS = (
    "a slope needs two or more widths whose fits converged (R-hat ≤ 1.01, no divergences) and "
    "whose distance exceeds 1.5 × the Monte Carlo noise floor"
)


# -- the command ----------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    """Register the command."""
    p = subparsers.add_parser(
        "compare",
        help="finite-width posteriors of SPEC's network against its MoGP posterior",
        description="Fit the network of SPEC with NUTS at each width (collapsed last layer) on "
        "the regression data of its [data] table (or --data), compute the infinite-width MoGP "
        "posterior predictive with the same prior and noise (importance sampling of kernel "
        "draws, or NUTS on the truncated limit), and report per width the errors of the "
        "predictive mean and variance, the Wasserstein-1 distance between predictive marginals "
        "and the test log predictive densities, with log-log slopes against width. Settings: "
        "the spec's [compare] table. Writes compare.csv, compare.json and compare.png.",
    )
    add_spec_argument(p)
    p.add_argument(
        "--widths",
        type=width_list,
        metavar="N,N,...",
        help="hidden widths to fit (default: [compare] widths, 8,32,128,512)",
    )
    add_data_options(p, "a regression data set")
    add_out_option(p, "compare")
    p.add_argument(
        "--limit", choices=LIMITS, help="how to compute the limit (default: [compare] limit, auto)"
    )
    p.add_argument(
        "--noise-std",
        type=float,
        metavar="S",
        help="fixed noise sd shared by both sides, in standardised units (default: "
        "[compare] or [likelihood] noise_std; unset: the same HalfNormal prior on "
        "both sides)",
    )
    add_seed_option(p, "[compare] seed")
    add_progress_option(p)
    p.set_defaults(func=command)


def command(args) -> int:
    """Run the command; returns the exit status."""
    if args.noise_std is not None and not args.noise_std > 0:
        raise UsageError(f"--noise-std must be > 0, got {args.noise_std}")
    spec, out = open_spec(args, "compare")
    run = run_compare(
        spec,
        out_dir=out,
        widths=args.widths,
        data=args.data,
        target=args.target,
        features=args.features,
        split=args.split,
        test_fraction=args.test_fraction,
        test_data=args.test_data,
        limit=args.limit,
        noise_std=args.noise_std,
        seed=args.seed,
        progress=show_progress(args),
        log=log,
    )
    result, summary = run["result"], run["summary"]
    table = result.table.copy()
    cols = [
        c
        for c in (
            "width",
            "mean_error",
            "var_error",
            "w1",
            "lpd",
            "lpd_limit",
            "max_r_hat",
            "divergences",
        )
        if c in table
    ]
    print(f"noise: {result.noise}; limit: {result.limit_used}")
    print(
        "distances to the limit at the test inputs (errors in units of the limit's "
        "predictive sd; lpd per point, original units):"
    )
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    slopes = {k: v for k, v in result.slopes.items() if math.isfinite(v)}
    if slopes:
        print(
            "log-log slope against width: " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items())
        )
    missing = [k for k in result.slopes if k not in slopes]
    if missing:
        print(f"no slope for {', '.join(missing)}: {SLOPE_NEEDS}")
    if "limit_agreement" in summary:
        agree = summary["limit_agreement"]
        print(
            f"importance sampling vs NUTS limit: W1/sd {agree['w1']:.3f}, mean error "
            f"{agree['mean_error']:.3f}, variance error {agree['var_error']:.3f}"
        )
    print(f"wrote ({summary['wall_time_s']:.1f} s):")
    for path in run["paths"].values():
        print(f"  {path}")
    return 0
