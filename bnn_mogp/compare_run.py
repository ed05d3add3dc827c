"""``bnn-mogp compare``: a spec's network fitted at several widths against its MoGP posterior.

Files in the output folder (each written atomically): ``compare.csv`` (one row per width and the
Monte Carlo noise floor: mean, variance and Wasserstein-1 errors against the limit, test log
predictive densities, the fits' R-hat, divergences and ESS), ``compare.json`` (the same with the
log-log slopes, which limit was used and why, the shared noise model, the limit's diagnostics,
the agreement of the two limit samplers when both ran, timings and settings) and
``compare.png`` (:func:`bnn_mogp.theory.plot_posterior_comparison`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from bnn_mogp._io import atomic_open, atomic_path
from bnn_mogp.spec import Spec

__all__ = ["run_compare"]


def run_compare(
    spec: Spec,
    *,
    out_dir,
    widths=None,
    data: str | None = None,
    target: str | None = None,
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
    import jax
    import matplotlib.pyplot as plt

    from bnn_mogp.data import load_data
    from bnn_mogp.spec import network_label
    from bnn_mogp.theory.posterior_compare import (
        compare_posterior,
        limits_agreement,
        plot_posterior_comparison,
    )

    started = time.perf_counter()
    settings = spec.compare
    overrides = {
        k: v
        for k, v in dict(widths=widths, limit=limit, noise_std=noise_std, seed=seed).items()
        if v is not None
    }
    settings = dataclasses.replace(settings, **overrides)
    source = data if data is not None else spec.data.source
    dataset = load_data(
        source,
        target=target if data is not None else spec.data.target,
        test_fraction=spec.data.test_fraction,
        seed=spec.data.seed,
        max_train=settings.max_train,
    )
    if dataset.likelihood != "gaussian":
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
    log(f"network: {network_label(net)}; widths {list(settings.widths)}")
    result = compare_posterior(
        net,
        dataset.X_train,
        dataset.y_train,
        X_test,
        y_test,
        widths=settings.widths,
        rng_key=jax.random.PRNGKey(settings.seed),
        noise_std=noise,
        noise_scale=spec.likelihood.noise_scale,
        y_scale=dataset.y_std,
        num_warmup=settings.num_warmup,
        num_samples=settings.num_samples,
        num_chains=settings.num_chains,
        target_accept=settings.target_accept,
        limit=settings.limit,
        num_kernel_draws=settings.num_kernel_draws,
        num_jumps=settings.num_jumps,
        limit_warmup=settings.limit_warmup,
        limit_samples=settings.limit_samples,
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
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(settings).items()
        },
    }
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
    with atomic_path(paths["compare.png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    summary["wall_time_s"] = time.perf_counter() - started
    with atomic_open(paths["compare.json"]) as fh:
        json.dump(summary, fh, indent=1, default=float)
        fh.write("\n")
    return {"result": result, "paths": paths, "summary": summary}
